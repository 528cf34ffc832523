// The login page: POST /api/staff/login, then go to `next` (a same-site path only).
"use strict";

(() => {
  const { $, api } = window.Console;

  // An admin works on the accounts page; everyone else on the queues.
  function nextPath(staff) {
    const next = new URLSearchParams(location.search).get("next") || "";
    const ok = next.startsWith("/") && !next.startsWith("//") && !next.includes("\\")
      && !/[\u0000-\u001f]/.test(next);
    if (ok) return next;
    return staff && staff.role === "admin" ? "/console/staff" : "/console";
  }

  function say(text) { $("login-message").textContent = text || ""; }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = $("login-username").value.trim();
    const password = $("login-password").value;
    if (!username || !password) { say("请填写用户名和密码。"); return; }
    const body = { username, password };
    const totp = $("login-totp").value.trim();
    if (totp) body.totp = totp;
    $("login-submit").disabled = true;
    say("正在登录…");
    try {
      const done = await api("POST", "/api/staff/login", body);
      location.assign(nextPath(done && done.staff));
    } catch (err) {
      if (err.code === "totp_required") {
        $("login-totp-row").hidden = false;
        $("login-totp").focus();
      }
      say(err.message);
      $("login-password").value = err.code === "totp_required" ? password : "";
    } finally {
      $("login-submit").disabled = false;
    }
  });
})();
