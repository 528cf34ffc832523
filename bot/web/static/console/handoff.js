// The hand-off desk on the queue page: conversations residents handed to a person, live.
// Fills <section id="handoffs">: the list (waiting ones first), one open conversation with its
// messages, a reply box, 接手 and 转回智能助手. Text only through textContent (Console.el);
// no inline script or style (strict CSP). Hidden for roles that do not work hand-offs.
"use strict";

(() => {
  const section = document.getElementById("handoffs");
  if (!section) return;
  const C = window.Console;
  const MAX = 2000;
  const SENDER = { resident: "群众", staff: "代理员", system: "系统" };
  let openId = null;
  let lastMessage = 0;
  let refreshing = null;

  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = "/static/console/handoff.css";
  document.head.appendChild(css);

  // ---------------------------------------------------------------- skeleton
  const count = C.el("span", { id: "handoff-count", className: "count" });
  const status = C.el("p", { id: "handoff-status", className: "live", role: "status" });
  const list = C.el("ul", { id: "handoff-list", className: "handoff-list" });
  const empty = C.el("p", { id: "handoff-empty", className: "empty", text: "暂时没有转人工的会话。" });
  const head = C.el("div", { id: "handoff-head", className: "handoff-head" });
  const messages = C.el("ol", { id: "handoff-messages", className: "handoff-messages", "aria-live": "polite" });
  const text = C.el("textarea", { id: "handoff-text", rows: "3", maxlength: String(MAX),
                                  placeholder: "在这里回复群众，对方会在聊天窗口或 Telegram 里立即看到", "aria-label": "回复内容" });
  const counter = C.el("span", { id: "handoff-counter", className: "counter", text: "0/" + MAX });
  const send = C.el("button", { id: "handoff-send", type: "submit", text: "发送" });
  const take = C.el("button", { id: "handoff-take", type: "button", className: "secondary", text: "接手" });
  const back = C.el("button", { id: "handoff-return", type: "button", className: "secondary", text: "转回智能助手" });
  const hide = C.el("button", { id: "handoff-hide", type: "button", className: "link", text: "收起" });
  const error = C.el("p", { id: "handoff-error", className: "message", role: "alert" });
  const form = C.el("form", { id: "handoff-form", className: "handoff-form" }, text,
                    C.el("div", { className: "row" }, counter, send, take, back, hide));
  const panel = C.el("div", { id: "handoff-panel", className: "handoff-panel card", hidden: true },
                     head, messages, form, error);
  section.hidden = true;
  section.append(C.el("h2", { id: "handoff-title", text: "转人工会话 " }, count), status,
                 C.el("div", { className: "handoff-layout" }, C.el("div", {}, list, empty), panel));

  // ---------------------------------------------------------------- list
  function item(h) {
    const last = h.last ? (SENDER[h.last.sender] || "") + "：" + h.last.text : "";
    const row = C.el("li", { id: "handoff-item-" + h.id, className: "handoff-item " + h.state,
                             dataset: { id: String(h.id), state: h.state } },
      C.el("div", { className: "handoff-line" },
        C.el("span", { className: "badge handoff-state", text: h.state_label }),
        C.el("span", { className: "handoff-resident", text: h.resident }),
        h.case ? C.el("span", { className: "case-link", text: h.case }) : null),
      C.el("div", { className: "handoff-meta", text: [
        h.agent ? "负责：" + h.agent.name : "", h.taken_by ? "接手：" + h.taken_by : "",
        C.formatTime(h.updated_at)].filter(Boolean).join(" · ") }),
      last ? C.el("div", { className: "handoff-last", text: last }) : null);
    row.tabIndex = 0;
    row.addEventListener("click", () => open(h.id));
    row.addEventListener("keydown", (event) => { if (event.key === "Enter") open(h.id); });
    if (h.id === openId) row.classList.add("open");
    return row;
  }

  async function refresh() {
    let data;
    try {
      data = await C.api("GET", "/api/staff/handoffs");
    } catch (err) {
      if (err.status === 403) { section.hidden = true; return false; }
      status.textContent = err.message;
      return true;
    }
    section.hidden = false;
    const waiting = data.items.filter((h) => h.state === "waiting").length;
    count.textContent = data.items.length ? String(data.items.length) : "";
    status.textContent = waiting ? waiting + " 个会话等待接手" : "";
    list.replaceChildren(...data.items.map(item));
    empty.hidden = data.items.length > 0;
    return true;
  }

  function refreshSoon() {      // several messages at once: one list fetch
    if (refreshing) return;
    refreshing = setTimeout(() => { refreshing = null; refresh(); }, 300);
  }

  // ---------------------------------------------------------------- one conversation
  function showHead(h) {
    const parts = [C.el("strong", { text: h.resident }),
                   C.el("span", { id: "handoff-state", className: "badge", text: h.state_label })];
    if (h.case) parts.push(C.el("a", { className: "case-link", href: "/console/cases/" + encodeURIComponent(h.case), text: h.case }));
    if (h.taken_by) parts.push(C.el("span", { className: "handoff-meta", text: "接手：" + h.taken_by }));
    head.replaceChildren(...parts);
    const live = h.state !== "closed";
    const mine = C.me && h.taken_by === C.me.staff.username;
    text.disabled = send.disabled = !live;
    take.hidden = !live || mine;
    back.hidden = !live;
    panel.dataset.state = h.state;
  }

  function showMessage(m) {
    if (document.getElementById("handoff-message-" + m.id)) return;
    messages.append(C.el("li", { id: "handoff-message-" + m.id, className: "handoff-message " + m.sender,
                                 dataset: { sender: m.sender } },
      C.el("span", { className: "handoff-who", text: (m.sender === "staff" && m.username ? m.username : SENDER[m.sender] || m.sender) }),
      C.el("span", { className: "handoff-when", text: C.formatTime(m.at) }),
      C.el("div", { className: "handoff-text", text: m.text })));
    lastMessage = Math.max(lastMessage, m.id);
    messages.scrollTop = messages.scrollHeight;
  }

  async function load(id, fresh) {
    const data = await C.api("GET", "/api/staff/handoffs/" + id + (fresh ? "" : "?after=" + lastMessage));
    if (openId !== id) return;
    showHead(data.handoff);
    data.messages.forEach(showMessage);
  }

  async function open(id) {
    openId = id;
    lastMessage = 0;
    messages.replaceChildren();
    error.textContent = "";
    panel.hidden = false;
    panel.dataset.id = String(id);
    list.querySelectorAll(".handoff-item").forEach((li) => li.classList.toggle("open", li.dataset.id === String(id)));
    try { await load(id, true); } catch (err) { error.textContent = err.message; }
    text.focus();
  }

  async function act(call) {
    error.textContent = "";
    try {
      const data = await call();
      if (data && data.handoff) showHead(data.handoff);
      await load(openId, false);
    } catch (err) {
      error.textContent = err.message;
    }
    refreshSoon();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const words = text.value.trim();
    if (!words) { error.textContent = "回复不能为空。"; return; }
    if (words.length > MAX) { error.textContent = "回复太长了（超过" + MAX + "字），请精简或分几次发送。"; return; }
    send.disabled = true;
    act(async () => {
      const data = await C.api("POST", "/api/staff/handoffs/" + openId + "/messages", { text: words });
      text.value = "";
      counter.textContent = "0/" + MAX;
      return data;
    }).finally(() => { send.disabled = panel.dataset.state === "closed"; });
  });
  text.addEventListener("input", () => { counter.textContent = text.value.length + "/" + MAX; });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  take.addEventListener("click", () => act(() => C.api("POST", "/api/staff/handoffs/" + openId + "/take")));
  back.addEventListener("click", () => {
    if (!window.confirm("确定把这段对话转回智能助手吗？之后群众的消息将由智能助手回复。")) return;
    act(() => C.api("POST", "/api/staff/handoffs/" + openId + "/return"));
  });
  hide.addEventListener("click", () => {
    openId = null;
    panel.hidden = true;
    list.querySelectorAll(".handoff-item").forEach((li) => li.classList.remove("open"));
  });

  // ---------------------------------------------------------------- live
  function listen() {
    const source = new EventSource("/api/staff/handoffs/stream");
    source.addEventListener("handoff", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (err) { return; }
      refreshSoon();
      if (openId !== null && data.handoff === openId) load(openId, false).catch(() => {});
    });
    source.addEventListener("open", () => { section.dataset.live = "yes"; });
    source.addEventListener("error", () => { section.dataset.live = "no"; });
  }

  // console.js logs in the page (Console.start); wait for it, then load and listen.
  let waited = 0;
  const ready = setInterval(async () => {
    waited += 50;
    if (!C.me && waited < 15000) return;
    clearInterval(ready);
    if (!C.me) return;
    if (await refresh()) listen();
    section.dataset.ready = "yes";
  }, 50);
})();
