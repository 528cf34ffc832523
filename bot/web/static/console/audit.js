// The audit page (supervisors, admins): every reveal of personal data, newest first.
"use strict";

(() => {
  const { $, el, api, start, formatTime } = window.Console;
  const PAGE = 50;
  let before = null;
  let fields = {};

  function row(e) {
    const number = e.case_number
      ? el("a", { href: "/console/cases/" + encodeURIComponent(e.case_number), text: e.case_number }) : "—";
    const cell = (label, value) => el("td", { "data-label": label, text: value === null || value === undefined ? "—" : value });
    return el("tr", { className: "audit-entry", dataset: { id: e.id } },
      cell("时间", formatTime(e.at)), cell("工作人员", e.username), cell("角色", e.role_label || e.role),
      el("td", { "data-label": "诉求编号" }, number), cell("查看项", e.field_label || fields[e.field] || e.field),
      cell("原因", e.reason), cell("来源地址", e.address));
  }

  async function more() {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (before) params.set("before", String(before));
    try {
      const { entries } = await api("GET", "/api/staff/audit?" + params.toString());
      $("audit-rows").append(...entries.map(row));
      if (entries.length) before = entries[entries.length - 1].id;
      $("audit-more").hidden = entries.length < PAGE;
      $("audit-empty").hidden = $("audit-rows").children.length > 0;
      $("audit-message").textContent = "";
    } catch (err) {
      $("audit-message").textContent = err.message;
    }
  }

  async function main() {
    try {
      await start();
      fields = (await api("GET", "/api/staff/options")).reveal_fields || {};
    } catch (err) {
      $("audit-message").textContent = err.message;
      return;
    }
    $("audit-more").addEventListener("click", more);
    more();
  }

  main();
})();
