// Staff accounts for admins: list, add, disable, reset a password (which ends their sessions).
"use strict";

(() => {
  const { $, el, api, start } = window.Console;
  let resetting = null;

  function say(text) { $("staff-message").textContent = text || ""; }

  function row(s) {
    const actions = el("td", { className: "staff-actions", "data-label": "操作" });
    if (!s.disabled) {
      const reset = el("button", { type: "button", className: "secondary staff-reset",
                                   dataset: { username: s.username }, text: "重置密码" });
      reset.addEventListener("click", () => {
        resetting = s.username;
        $("staff-reset-title").textContent = "重置 " + s.username + " 的密码";
        $("staff-reset-form").hidden = false;
        $("staff-reset-password").focus();
      });
      const disable = el("button", { type: "button", className: "secondary staff-disable",
                                     dataset: { username: s.username }, text: "停用" });
      disable.addEventListener("click", async () => {
        if (!window.confirm("停用账号 " + s.username + "？其所有登录会立即失效。")) return;
        try {
          await api("POST", "/api/staff/staff/" + encodeURIComponent(s.username) + "/disable");
          say("已停用 " + s.username + "。");
          load();
        } catch (err) { say(err.message); }
      });
      actions.append(reset, " ", disable);
    }
    const cell = (label, value) => el("td", { "data-label": label, text: value || "—" });
    return el("tr", { className: "staff-row", dataset: { username: s.username } },
      cell("用户名", s.username), cell("姓名", s.name), cell("角色", s.role_label),
      cell("代理员/单位", s.agent || s.body), cell("状态", s.disabled ? "已停用" : "正常"), actions);
  }

  async function load() {
    try {
      const { staff } = await api("GET", "/api/staff/staff");
      $("staff-rows").replaceChildren(...staff.map(row));
    } catch (err) { say(err.message); }
  }

  async function options() {
    const o = await api("GET", "/api/staff/options");
    for (const a of o.agents) $("add-agent-options").append(el("option", { value: a.code, text: a.name }));
    for (const b of o.bodies) $("add-body-options").append(el("option", { value: b.code, text: b.name }));
  }

  async function add(event) {
    event.preventDefault();
    const body = { username: $("add-username").value.trim(), role: $("add-role").value,
                   password: $("add-password").value };
    for (const [key, id] of [["name", "add-name"], ["agent", "add-agent"], ["body", "add-body"]]) {
      const value = $(id).value.trim();
      if (value) body[key] = value;
    }
    try {
      const { staff } = await api("POST", "/api/staff/staff", body);
      $("add-staff-form").reset();
      say("已新增 " + staff.username + "（" + staff.role_label + "）。");
      load();
    } catch (err) { say(err.message); }
  }

  async function reset(event) {
    event.preventDefault();
    try {
      await api("POST", "/api/staff/staff/" + encodeURIComponent(resetting) + "/reset",
                { password: $("staff-reset-password").value });
      say("已重置 " + resetting + " 的密码，其原有登录均已失效。");
      $("staff-reset-form").reset();
      $("staff-reset-form").hidden = true;
    } catch (err) { say(err.message); }
  }

  async function main() {
    try {
      await start();
      await options();
    } catch (err) { say(err.message); return; }
    $("add-staff-form").addEventListener("submit", add);
    $("staff-reset-form").addEventListener("submit", reset);
    $("staff-reset-cancel").addEventListener("click", () => { $("staff-reset-form").hidden = true; });
    load();
  }

  main();
})();
