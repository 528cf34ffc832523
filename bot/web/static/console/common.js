// Shared by the console pages: the API call (CSRF header, JSON, Chinese errors), the header
// (who is logged in, links their role may use, logout), element building with textContent only,
// and the live deadline countdowns. Nothing here writes HTML from data.
"use strict";

const Console = (() => {
  let csrf = null;
  let me = null;

  const $ = (id) => document.getElementById(id);

  // el("td", {className: "x", text: "…"}, child, …): text is always textContent.
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "className") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "hidden" || key === "disabled") node[key] = Boolean(value);
      else node.setAttribute(key, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error) || "请求没有成功，请稍后再试。");
      this.status = status;
      this.code = body && body.code;
      this.body = body || {};
    }
  }

  function toLogin() {
    const next = location.pathname + location.search;
    location.assign("/console/login?next=" + encodeURIComponent(next));
  }

  async function api(method, url, body) {
    const headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
    let response;
    try {
      response = await fetch(url, {
        method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, { error: "网络连接中断，请检查网络后再试。", code: "network" });
    }
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (response.status === 401 && url !== "/api/staff/login") {
      toLogin();
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  // Fills the shared header and returns {staff, csrf_token, can}.
  async function start() {
    me = await api("GET", "/api/staff/me");
    csrf = me.csrf_token;
    const staff = me.staff;
    if ($("staff-name")) $("staff-name").textContent = staff.name || staff.username;
    if ($("staff-role")) $("staff-role").textContent = staff.role_label;
    if ($("nav-intake")) $("nav-intake").hidden = !me.can.intake;
    if ($("nav-audit")) $("nav-audit").hidden = !me.can.audit;
    if ($("nav-staff")) $("nav-staff").hidden = !me.can.manage_staff;
    if ($("nav-dashboard")) $("nav-dashboard").hidden = !me.can.dashboard;
    const here = { "/console/audit": "nav-audit", "/console/staff": "nav-staff",
                   "/console/dashboard": "nav-dashboard" }[location.pathname] || "nav-queue";
    if ($(here)) $(here).setAttribute("aria-current", "page");
    const logout = $("logout");
    if (logout) {
      logout.addEventListener("click", async () => {
        try { await api("POST", "/api/staff/logout"); } catch (err) { /* gone either way */ }
        location.assign("/console/login");
      });
    }
    return me;
  }

  // ---------------------------------------------------------------- time
  function parseIso(value) {
    if (!value) return null;
    const t = Date.parse(value);
    return Number.isNaN(t) ? null : t;
  }

  function formatTime(value) {
    const t = parseIso(value);
    if (t === null) return "—";
    return new Date(t).toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
  }

  function formatLeft(ms) {
    const past = ms < 0;
    let s = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const pad = (n) => String(n).padStart(2, "0");
    const body = (d ? d + "天" : "") + pad(h) + ":" + pad(m) + ":" + pad(s);
    return past ? "已超期 " + body : "剩余 " + body;
  }

  const SOON_MS = 24 * 3600 * 1000;

  // A span that counts down to an ISO deadline; refreshed by tick() every second.
  function countdown(label, iso, id) {
    const span = el("span", { className: "countdown", id: id, dataset: { deadline: iso || "" } });
    span.append(el("span", { className: "countdown-label", text: label }),
                el("span", { className: "countdown-value" }));
    paint(span, Date.now());
    return span;
  }

  function paint(span, now) {
    const t = parseIso(span.dataset.deadline);
    const value = span.querySelector(".countdown-value");
    span.classList.remove("overdue", "soon");
    if (t === null) { value.textContent = "—"; return; }
    const left = t - now;
    value.textContent = formatLeft(left);
    if (left < 0) span.classList.add("overdue");
    else if (left < SOON_MS) span.classList.add("soon");
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll(".countdown").forEach((span) => paint(span, now));
  }

  // The three deadlines of a case or a list item, whatever key style the answer uses.
  function deadlinesOf(item) {
    const d = item.deadlines || {};
    return {
      sign: d.sign !== undefined ? d.sign : (d.sign_due_at !== undefined ? d.sign_due_at : item.sign_due_at),
      contact: d.contact !== undefined ? d.contact : (d.contact_due_at !== undefined ? d.contact_due_at : item.contact_due_at),
      resolution: d.resolution !== undefined ? d.resolution : (d.due_at !== undefined ? d.due_at : item.due_at),
    };
  }

  setInterval(tick, 1000);

  return { $, el, api, start, ApiError, formatTime, countdown, deadlinesOf, tick, toLogin,
           get me() { return me; }, get csrf() { return csrf; } };
})();
window.Console = Console;
