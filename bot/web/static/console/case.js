// The case page: facts, the resident's own words, deadlines counting down, the full timeline
// (public replies, internal notes and steps told apart), the actions the API allows, and
// 查看完整信息 (asks for a reason; the server writes the audit row). Text only, never HTML.
"use strict";

(() => {
  const { $, el, api, start, countdown, deadlinesOf, formatTime } = window.Console;
  const number = decodeURIComponent(location.pathname.replace(/^\/console\/cases\//, "")).slice(0, 40);
  const api_url = "/api/staff/cases/" + encodeURIComponent(number);
  let current = null;
  let chosen = null;
  let revealing = null;
  const revealed = {};

  // What each action's form asks for. `text`: label of the text box; `to`/`due`: extra inputs.
  const FORMS = {
    accept: { hint: "签收表示本单位已接手这件诉求。" },
    start: { hint: "开始办理后请尽快联系群众。" },
    reply: { text: "答复内容（将发送给群众）", required: true },
    note: { text: "内部备注（只有工作人员能看到）", required: true },
    add_info: { text: "补充内容", required: true },
    transfer: { to: "转办给（承办单位或代理员）", toRequired: true, text: "转办原因（内部）" },
    assign: { to: "派单给（留空则按分派规则）" },
    extend: { due: true, text: "延期原因", required: true },
    ask_extension: { due: true, text: "申请延期的原因（督办审批）", required: true },
    refuse_extension: { text: "驳回原因", required: true },
    escalate: { text: "督办说明（内部）" },
    resolve: { text: "办理结果（将发送给群众）", required: true },
    refer: { text: "转介说明（将告知群众去哪里办理）", required: true },
    withdraw: { text: "撤回原因" },
    reopen: { text: "重办原因" },
    close: { hint: "归档后这件诉求不能再办理。" },
    merge: { to: "并入的诉求编号", toRequired: true, noOptions: true },
  };

  const ACTORS = { system: "系统", resident: "群众", chat: "在线对话", telegram: "Telegram",
                   cli: "后台命令", operator: "话务员", watchdog: "超期督办" };

  function who(actor) {
    if (!actor) return "—";
    if (actor.startsWith("staff:")) return actor.slice(6);
    return ACTORS[actor] || actor;
  }

  function say(id, text) { $(id).textContent = text || ""; }

  function text(id, value) { $(id).textContent = value === null || value === undefined || value === "" ? "—" : String(value); }

  function caseLink(number) {
    return el("a", { href: "/console/cases/" + encodeURIComponent(number), text: number });
  }

  // 联合办理: a member links its joint case; a joint case lists its members.
  function renderJoint(c) {
    const dd = $("fact-joint");
    if (c.joint) {
      const items = (c.joint_members || []).map((m) => el("li", { className: "joint-member" },
        caseLink(m.number), ` ${m.state_label} · ${m.summary || ""}`));
      dd.replaceChildren(`本工单为联合办理工单，共 ${items.length} 件诉求随之办理：`,
        el("ul", { id: "joint-members" }, ...items));
    } else if (c.joint_case) {
      const link = caseLink(c.joint_case);
      link.id = "joint-case-link";
      dd.replaceChildren("随联合办理工单 ", link, " 办理");
    } else text("fact-joint", "");
  }

  function renderFacts(c) {
    text("case-number", c.number);
    text("case-state", c.state_label);
    $("case-overdue").hidden = !c.overdue;
    text("case-summary", c.summary);
    text("case-text", c.text);
    text("fact-category", c.category ? c.category.level1 + " · " + c.category.level2 : "");
    text("fact-type", c.type);
    text("fact-area", c.area && c.area.name);
    text("fact-body", c.body && c.body.name);
    text("fact-agent", c.agent && c.agent.name);
    text("fact-channel", c.channel_label || c.channel);
    text("fact-created", formatTime(c.created_at));
    const masked = { contact_phone: c.contact, contact_name: c.contact_name, place: c.place };
    for (const [field, value] of Object.entries(masked)) {
      const dd = $("fact-" + field);
      dd.textContent = revealed[field] !== undefined ? revealed[field] : (value || "—");
      dd.classList.toggle("revealed", revealed[field] !== undefined);
    }
    if (c.merged_into) {
      const link = el("a", { href: "/console/cases/" + encodeURIComponent(c.merged_into), text: c.merged_into });
      $("fact-merged_into").replaceChildren(link);
    } else text("fact-merged_into", "");
    renderJoint(c);
    const d = deadlinesOf(c);
    $("case-deadlines").replaceChildren(countdown("签收", d.sign, "deadline-sign"),
      countdown("首次联系", d.contact, "deadline-contact"),
      countdown("办结", d.resolution, "deadline-resolution"));
  }

  function renderReveal(c) {
    const box = $("reveal-buttons");
    box.replaceChildren();
    for (const [field, label] of Object.entries(c.can_reveal || {})) {
      if (revealed[field] !== undefined) continue;
      const button = el("button", { type: "button", id: "reveal-" + field, className: "secondary",
                                    text: "查看完整信息：" + label });
      button.addEventListener("click", () => {
        revealing = field;
        $("reveal-title").textContent = "查看完整的" + label + "：请说明原因";
        $("reveal-form").hidden = false;
        $("reveal-reason").focus();
      });
      box.append(button);
    }
  }

  function eventKind(e) {
    if (e.internal_note && !e.public_text) return "internal";
    if (e.public_text) return "public";
    return "system";
  }

  function renderTimeline(c) {
    const labels = c.action_labels || {};
    const items = (c.events || []).map((e) => {
      const kind = eventKind(e);
      const states = c.state_labels || {};
      const what = (labels[e.action] || e.action) + (e.from_state && e.from_state !== e.to_state
        ? "（" + (states[e.from_state] || e.from_state) + " → " + (states[e.to_state] || e.to_state) + "）" : "");
      const li = el("li", { className: "event event-" + kind, dataset: { seq: e.seq, action: e.action } },
        el("div", { className: "event-head" },
          el("span", { className: "event-what", text: what }),
          el("span", { className: "event-who", text: who(e.actor) }),
          el("time", { className: "event-when", datetime: e.at, text: formatTime(e.at) })));
      if (e.public_text) li.append(el("div", { className: "event-text public-text" },
        el("span", { className: "tag", text: "群众可见" }), el("span", { text: e.public_text })));
      if (e.internal_note) li.append(el("div", { className: "event-text internal-text" },
        el("span", { className: "tag", text: "内部备注" }), el("span", { text: e.internal_note })));
      return li;
    });
    $("timeline").replaceChildren(...items.reverse());
  }

  const SPEAKERS = { resident: "群众", bot: "智能助手", caller: "来电人", operator: "话务员" };

  function excerptOf(c) {
    const opened = (c.events || []).find((e) => e.action === "open");
    const lines = opened && opened.data && opened.data.excerpt;
    return Array.isArray(lines) ? lines : [];
  }

  function renderExcerpt(c) {
    const lines = excerptOf(c).filter((line) => SPEAKERS[line.who] && line.text);
    $("excerpt-lines").replaceChildren(...lines.map((line) =>
      el("li", { className: "excerpt-line " + line.who },
        el("span", { className: "excerpt-who", text: SPEAKERS[line.who] }),
        el("span", { className: "excerpt-text", text: line.text }))));
    $("case-excerpt").hidden = lines.length === 0;
  }

  function renderActions(c) {
    const labels = c.action_labels || {};
    const box = $("action-buttons");
    box.replaceChildren(...(c.actions || []).map((action) => {
      const button = el("button", { type: "button", id: "action-" + action, dataset: { action },
                                    text: labels[action] || action });
      button.addEventListener("click", () => openForm(action));
      return button;
    }));
    $("no-actions").hidden = (c.actions || []).length > 0;
    if (chosen && !(c.actions || []).includes(chosen)) closeForm();
  }

  function render(c) {
    current = c;
    document.title = c.number + " · 诉求详情";
    renderFacts(c);
    renderExcerpt(c);
    renderReveal(c);
    renderActions(c);
    renderTimeline(c);
    $("case").hidden = false;
  }

  function openForm(action) {
    chosen = action;
    const spec = FORMS[action] || { text: "说明" };
    $("action-form-title").textContent = (current.action_labels || {})[action] || action;
    $("action-form-hint").textContent = spec.hint || "";
    $("action-to-row").hidden = !spec.to;
    $("action-to-label").textContent = spec.to || "";
    $("action-to").setAttribute("list", spec.noOptions ? "" : "action-to-options");
    $("action-due-row").hidden = !spec.due;
    $("action-text-row").hidden = !spec.text;
    $("action-text-label").textContent = spec.text || "";
    $("action-form").hidden = false;
    say("action-message", "");
    const first = spec.to ? "action-to" : spec.due ? "action-due" : spec.text ? "action-text" : "action-submit";
    $(first).focus();
  }

  function closeForm() {
    chosen = null;
    $("action-form").reset();
    $("action-form").hidden = true;
    $("action-text-count").textContent = "";
  }

  async function submitAction(event) {
    event.preventDefault();
    if (!chosen) return;
    const spec = FORMS[chosen] || {};
    const body = { action: chosen };
    const t = $("action-text").value.trim();
    const to = $("action-to").value.trim();
    const due = $("action-due").value.trim();
    if (spec.required && !t) { say("action-message", "请填写" + (spec.text || "内容") + "。"); return; }
    if (spec.toRequired && !to) { say("action-message", "请填写" + spec.to + "。"); return; }
    if (spec.due && !due) { say("action-message", "请填写新的期限。"); return; }
    if (t && spec.text) body.text = t;
    if (to && spec.to) body.to = to;
    if (due && spec.due) body.due = due;
    $("action-submit").disabled = true;
    try {
      const label = (current.action_labels || {})[chosen] || chosen;
      const updated = await api("POST", api_url + "/actions", body);
      closeForm();
      render(updated);
      say("action-message", "已完成：" + label);
    } catch (err) {
      say("action-message", err.message);
    } finally {
      $("action-submit").disabled = false;
    }
  }

  async function submitReveal(event) {
    event.preventDefault();
    const reason = $("reveal-reason").value.trim();
    if (reason.length < 2) { say("reveal-message", "请简要说明查看完整信息的原因。"); return; }
    try {
      const answer = await api("POST", api_url + "/reveal", { field: revealing, reason });
      revealed[revealing] = answer.value === null || answer.value === undefined ? "（未填写）" : answer.value;
      $("reveal-form").reset();
      $("reveal-form").hidden = true;
      say("reveal-message", "已显示完整信息，本次查看已记录。");
      render(current);
    } catch (err) {
      say("reveal-message", err.message);
    }
  }

  async function load() {
    try {
      render(await api("GET", api_url));
      say("case-message", "");
    } catch (err) {
      $("case").hidden = err.status === 404 || !current;
      say("case-message", err.message);
    }
  }

  async function loadTargets() {
    try {
      const o = await api("GET", "/api/staff/options");
      const list = $("action-to-options");
      for (const b of o.bodies) list.append(el("option", { value: b.code, text: "承办单位：" + b.name }));
      for (const a of o.agents) list.append(el("option", { value: a.code, text: "代理员：" + a.name }));
    } catch (err) { /* the input still takes a typed code */ }
  }

  function live() {
    const source = new EventSource("/api/staff/stream");
    source.addEventListener("case", (event) => {
      let item = {};
      try { item = JSON.parse(event.data); } catch (err) { return; }
      if (item.number === number) load();
    });
  }

  async function main() {
    $("action-form").addEventListener("submit", submitAction);
    $("action-cancel").addEventListener("click", closeForm);
    $("action-text").addEventListener("input", () => {
      $("action-text-count").textContent = $("action-text").value.length + " / 5000";
    });
    $("reveal-form").addEventListener("submit", submitReveal);
    $("reveal-cancel").addEventListener("click", () => { $("reveal-form").reset(); $("reveal-form").hidden = true; });
    try {
      await start();
    } catch (err) {
      say("case-message", err.message);
      return;
    }
    await load();
    loadTargets();
    live();
  }

  main();
})();
