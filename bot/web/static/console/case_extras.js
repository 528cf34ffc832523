// The case page's extras, in <section id="case-extras">: reply templates that fill the reply
// box, the pending extension request (approve as asked / refuse), similar open cases with a
// two-click 并单, and the files the resident sent. Text only (textContent), never HTML.
"use strict";

(() => {
  const { $, el, api, formatTime } = window.Console;
  const root = $("case-extras");
  if (!root) return;
  const number = decodeURIComponent(location.pathname.replace(/^\/console\/cases\//, "")).slice(0, 40);
  const base = "/api/staff/cases/" + encodeURIComponent(number);
  const IMAGE = /^image\/(jpeg|png|gif|webp)$/;
  let templates = [];
  let armed = null;            // the merge button waiting for its confirming click

  function card(id, title, ...children) {
    return el("div", { id, className: "card extras-card" }, el("h2", { text: title }), ...children);
  }

  function say(id, text) { $(id).textContent = text || ""; }

  function build() {
    const link = el("link", { rel: "stylesheet", href: "/static/console/case_extras.css" });
    document.head.append(link);
    const picker = el("select", { id: "template-picker" }, el("option", { value: "", text: "请选择模板" }));
    root.replaceChildren(
      card("extras-extension", "延期申请",
        el("p", { id: "extension-info" }),
        el("div", { className: "buttons" },
          el("button", { type: "button", id: "extension-approve", text: "按申请批准" }),
          el("button", { type: "button", id: "extension-refuse", className: "secondary", text: "驳回申请" })),
        el("p", { id: "extension-message", className: "message", role: "alert" })),
      card("extras-templates", "答复模板",
        el("div", { className: "inline-form" },
          el("label", { for: "template-picker", text: "按分类推荐的答复模板" }), picker,
          el("button", { type: "button", id: "template-use", text: "填入答复框" })),
        el("p", { id: "template-preview", className: "hint template-preview" }),
        el("p", { id: "template-message", className: "message", role: "alert" })),
      card("extras-similar", "相似的未办结诉求",
        el("p", { className: "hint", text: "同类或相关分类、本区域及相邻区域、尚未办结的诉求，按内容相似度排列。" }),
        el("ol", { id: "similar-list", className: "similar-list" }),
        el("p", { id: "similar-empty", className: "hint", text: "附近没有相似的未办结诉求。", hidden: true }),
        el("p", { id: "similar-message", className: "message", role: "alert" })),
      card("extras-attachments", "群众发来的材料",
        el("ul", { id: "attachment-list", className: "attachment-list" }),
        el("p", { id: "attachments-empty", className: "hint", text: "群众还没有发来照片或文件。", hidden: true }),
        el("p", { id: "attachments-message", className: "message", role: "alert" })));
    $("extras-extension").hidden = true;
    picker.addEventListener("change", preview);
    $("template-use").addEventListener("click", useTemplate);
    $("extension-approve").addEventListener("click", approveExtension);
    $("extension-refuse").addEventListener("click", () => {
      const button = $("action-refuse_extension");
      if (button) button.click();
    });
  }

  // ---------------------------------------------------------------- templates
  function chosenTemplate() {
    const id = $("template-picker").value;
    return templates.find((t) => t.id === id) || null;
  }

  function preview() {
    const t = chosenTemplate();
    say("template-preview", t ? t.text : "");
    say("template-message", "");
  }

  function useTemplate() {
    const t = chosenTemplate();
    if (!t) { say("template-message", "请先选择一个模板。"); return; }
    const reply = $("action-reply");
    if (!reply) { say("template-message", "当前状态下您不能答复这件诉求。"); return; }
    reply.click();                       // opens the reply form of the case page
    const box = $("action-text");
    box.value = t.text;
    box.dispatchEvent(new Event("input"));
    box.focus();
    say("template-message", "已填入答复框，请把（……）处补充完整后再发送。");
  }

  async function loadTemplates() {
    try {
      const data = await api("GET", base + "/templates");
      templates = data.templates || [];
      const groups = { category: "本分类", level1: "本类（一级分类）", generic: "通用" };
      const picker = $("template-picker");
      const keep = picker.value;
      picker.replaceChildren(el("option", { value: "", text: "请选择模板" }));
      for (const [scope, label] of Object.entries(groups)) {
        const items = templates.filter((t) => t.scope === scope);
        if (!items.length) continue;
        picker.append(el("optgroup", { label }, ...items.map((t) => el("option", { value: t.id, text: t.title }))));
      }
      if (templates.some((t) => t.id === keep)) picker.value = keep;
      $("template-use").disabled = !data.can_reply;
      $("extras-templates").hidden = templates.length === 0;
      preview();
    } catch (err) {
      say("template-message", err.message);
    }
  }

  // ---------------------------------------------------------------- extension request
  async function loadExtension() {
    try {
      const c = await api("GET", base);
      const p = c.pending_extension;
      $("extras-extension").hidden = !p;
      if (!p) return;
      const who = p.by && p.by.startsWith("staff:") ? p.by.slice(6) : (p.by || "—");
      say("extension-info", "申请延至 " + p.to + "（申请人 " + who + "，" + formatTime(p.at) + "）。原因：" + (p.reason || "—"));
      const actions = c.actions || [];
      $("extension-approve").hidden = !actions.includes("extend");
      $("extension-refuse").hidden = !actions.includes("refuse_extension");
    } catch (err) {
      say("extension-message", err.message);
    }
  }

  async function approveExtension() {
    $("extension-approve").disabled = true;
    try {
      await api("POST", base + "/actions", { action: "extend" });
      location.reload();
    } catch (err) {
      say("extension-message", err.message);
    } finally {
      $("extension-approve").disabled = false;
    }
  }

  // ---------------------------------------------------------------- similar cases
  function disarm() {
    if (!armed) return;
    armed.textContent = "并入此件";
    armed.classList.remove("confirm");
    armed = null;
  }

  async function merge(button, into) {
    if (armed !== button) {
      disarm();
      armed = button;
      button.textContent = "确认并入 " + into + "？";
      button.classList.add("confirm");
      say("similar-message", "再点一次确认：本件将并入 " + into + "，之后的进展按 " + into + " 通知群众。");
      return;
    }
    button.disabled = true;
    try {
      await api("POST", base + "/actions", { action: "merge", to: into });
      location.reload();
    } catch (err) {
      say("similar-message", err.message);
      button.disabled = false;
      disarm();
    }
  }

  async function loadSimilar() {
    try {
      const data = await api("GET", base + "/similar");
      const items = (data.items || []).map((s) => {
        const li = el("li", { className: "similar-item", dataset: { number: s.number } },
          el("div", { className: "similar-head" },
            el("a", { className: "similar-link", href: "/console/cases/" + encodeURIComponent(s.number), text: s.number }),
            el("span", { className: "badge", text: s.state_label }),
            el("span", { className: "similar-score", text: "相似度 " + Math.round(s.score * 100) + "%" })),
          el("div", { className: "similar-summary", text: s.summary }),
          el("div", { className: "hint", text: [s.category && s.category.level2, s.area, "受理于 " + formatTime(s.created_at)].filter(Boolean).join(" · ") }),
          el("div", { className: "hint similar-reason", text: s.reason }));
        if (data.can_merge) {
          const button = el("button", { type: "button", id: "merge-" + s.number, className: "merge secondary", text: "并入此件" });
          button.addEventListener("click", () => merge(button, s.number));
          li.append(button);
        }
        return li;
      });
      armed = null;
      $("similar-list").replaceChildren(...items);
      $("similar-empty").hidden = items.length > 0;
    } catch (err) {
      say("similar-message", err.message);
    }
  }

  // ---------------------------------------------------------------- attachments
  function size(bytes) {
    if (bytes < 1024) return bytes + " 字节";
    if (bytes < 1024 * 1024) return Math.round(bytes / 1024) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  async function loadAttachments() {
    try {
      const data = await api("GET", base + "/attachments");
      const items = (data.items || []).map((a) => {
        const name = a.file_name || (a.kind_label + " #" + a.id);
        const li = el("li", { className: "attachment", dataset: { id: a.id } },
          el("a", { id: "attachment-" + a.id, href: a.url, download: name, text: name }),
          el("span", { className: "hint", text: " " + a.kind_label + " · " + size(a.size) + " · " + formatTime(a.at) }));
        if (IMAGE.test(a.mime_type)) {
          li.prepend(el("img", { className: "attachment-thumb", src: a.url, alt: name, loading: "lazy" }));
        }
        return li;
      });
      $("attachment-list").replaceChildren(...items);
      $("attachments-empty").hidden = items.length > 0;
    } catch (err) {
      say("attachments-message", err.message);
    }
  }

  // ---------------------------------------------------------------- wiring
  function loadAll() {
    loadExtension();
    loadTemplates();
    loadSimilar();
    loadAttachments();
  }

  // The case page re-renders its timeline whenever the case changes (its own actions, the
  // live stream): the extras follow it.
  function follow() {
    let timer = null;
    new MutationObserver(() => {
      clearTimeout(timer);
      timer = setTimeout(loadAll, 300);
    }).observe($("timeline"), { childList: true });
  }

  // case.js logs in (Console.start) and renders the case; begin once it has.
  function whenReady(run, tries = 200) {
    if (window.Console.me && !$("case").hidden) run();
    else if (tries > 0) setTimeout(() => whenReady(run, tries - 1), 50);
  }

  build();
  whenReady(() => { loadAll(); follow(); });
})();
