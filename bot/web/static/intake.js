"use strict";
// The operator page: paste → proposal → corrections → confirm. All text goes in via textContent.
(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("form");
  let proposal = null;
  let options = null;
  let csrf = null;        // the console session's token, sent on every POST

  function toLogin() {
    location.assign("/console/login?next=" + encodeURIComponent("/intake"));
  }

  function headers(json) {
    const h = { "Content-Type": json ? "application/json" : "text/plain; charset=utf-8" };
    if (csrf) h["X-CSRF-Token"] = csrf;
    return h;
  }

  function say(text, isError) {
    $("message").textContent = text || "";
    $("message").className = isError ? "error" : "";
  }

  async function call(url, body, json) {
    const response = await fetch(url, { method: "POST", headers: headers(json), body: body,
                                        credentials: "same-origin" });
    if (response.status === 401) { toLogin(); throw new Error("登录已过期，请重新登录。"); }
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: "服务器没有返回有效结果" }; }
    if (!response.ok) throw new Error(data.error || "请求失败");
    return data;
  }

  async function loadOptions() {
    const me = await fetch("/api/staff/me", { credentials: "same-origin" });
    if (me.status === 401) { toLogin(); return; }
    csrf = (await me.json()).csrf_token;
    const response = await fetch("/api/intake/options", { headers: headers(true), credentials: "same-origin" });
    if (!response.ok) {
      let data = {};
      try { data = await response.json(); } catch (e) { data = {}; }
      say(data.error || "无法加载选项，请刷新页面后再试。", true);
      return;
    }
    options = await response.json();
    const cat = form.elements.category;
    cat.replaceChildren();
    for (const c of options.categories) cat.append(new Option(c.label + "（" + c.code + "）", c.code));
    const area = form.elements.area;
    area.replaceChildren(new Option("（未识别，由代理中心分派）", ""));
    for (const a of options.areas) area.append(new Option(a.name + "（" + a.code + "）", a.code));
  }

  function fill(p) {
    if (!options) return;
    const f = form.elements;
    f.summary.value = p.summary || "";
    f.category.value = p.category.code;
    f.area.value = p.area || "";
    f.address.value = (p.place && p.place.address) || "";
    f.phone.value = p.phone || "";
    f.name.value = p.name || "";
    f.incident_time.value = p.incident_time ? (p.incident_time.text + (p.incident_time.at ? "（" + p.incident_time.at + "）" : "")) : "";
    f.urgency.value = p.urgency.level;
    f.referral.value = p.referral || "";
    f.text.value = p.text || "";
    $("referral-row").hidden = p.urgency.level !== "emergency";
    $("alternatives").textContent = "分类把握 " + Math.round(p.category.confidence * 100) + "%；备选：" +
      p.category.alternatives.map((a) => a.level1 + "/" + a.level2).join("、");
    const u = $("urgency");
    u.hidden = p.urgency.level === "normal";
    u.className = "urgency " + p.urgency.level;
    u.textContent = p.urgency.level === "emergency"
      ? "危急情况（" + p.urgency.reason + "）：请立即引导来电人拨打 " + (p.urgency.hotlines || [p.urgency.hotline]).join(" / ") + "，确认后将转介。"
      : "紧急：" + p.urgency.reason;
    const warnings = $("warnings");
    warnings.replaceChildren();
    for (const w of p.warnings || []) { const li = document.createElement("li"); li.textContent = w; warnings.append(li); }
    const list = $("duplicate-list");
    list.replaceChildren();
    $("duplicates").hidden = !(p.duplicates && p.duplicates.length);
    for (const d of p.duplicates || []) {
      const row = document.createElement("label");
      row.className = "choice dup";
      const radio = document.createElement("input");
      radio.type = "radio"; radio.name = "merge_into"; radio.value = d.number;
      row.append(radio, " 并入 " + d.number + "（" + d.state_label + "，相似度 " + d.score.toFixed(2) + "）：" + d.summary);
      list.append(row);
    }
    $("proposal").hidden = false;
    $("result").hidden = true;
  }

  form.elements.urgency.addEventListener("change", () => {
    $("referral-row").hidden = form.elements.urgency.value !== "emergency";
  });

  $("propose").addEventListener("click", async () => {
    const text = $("transcript").value;
    if (!text.trim()) { say("请先粘贴通话转写。", true); return; }
    $("propose").disabled = true;
    say("正在分析……");
    try {
      if (!options) await loadOptions();
      const trimmed = text.trim();
      const json = trimmed.startsWith("[") || trimmed.startsWith("{");
      proposal = await call("/api/intake", text, json);
      fill(proposal);
      say("");
    } catch (e) { say(e.message, true); }
    finally { $("propose").disabled = false; }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!proposal) return;
    const f = form.elements;
    const corrections = {
      summary: f.summary.value, category: f.category.value, area: f.area.value || null,
      address: f.address.value, phone: f.phone.value || null, name: f.name.value || null,
      text: f.text.value, urgency: { level: f.urgency.value, hotline: proposal.urgency.hotline },
      referral: f.urgency.value === "emergency" ? f.referral.value : null,
      merge_into: (form.querySelector("input[name=merge_into]:checked") || {}).value || null,
    };
    $("confirm").disabled = true;
    try {
      const data = await call("/api/intake/confirm", JSON.stringify({ proposal: proposal, corrections: corrections }), true);
      const c = data.case;
      let text = "诉求编号 " + c.number + "，状态：" + c.state_label;
      if (c.merged_into) text += "，已并入 " + c.merged_into;
      if (c.body) text += "，承办单位：" + c.body.name;
      if (data.existing) text += "（这通电话此前已登记过）";
      $("result-text").textContent = text;
      $("result").hidden = false;
      $("proposal").hidden = true;
      say("");
    } catch (e) { say(e.message, true); }
    finally { $("confirm").disabled = false; }
  });

  $("again").addEventListener("click", () => {
    $("transcript").value = ""; proposal = null;
    $("result").hidden = true; $("proposal").hidden = true; say("");
  });

  loadOptions().catch(() => say("无法加载分类和区域列表，请刷新页面。", true));
})();
