// The supervision dashboard (/console/dashboard) and the printable monthly report
// (/console/report): figures from /api/staff/dashboard, charts as server-drawn SVG images,
// hot spots from /api/staff/hotspots. Text is set with textContent only.
"use strict";

(() => {
  const { $, el, api } = Console;
  const REPORT = document.body.dataset.page === "report";
  const ALLOWED = ["supervisor", "admin", "body"];

  function pct(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
  }

  function today() {
    const d = new Date();
    return { y: d.getFullYear(), m: d.getMonth() + 1, d };
  }

  function isoWeek(date) {
    const t = new Date(Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()));
    const day = t.getUTCDay() || 7;
    t.setUTCDate(t.getUTCDate() + 4 - day);
    const first = new Date(Date.UTC(t.getUTCFullYear(), 0, 1));
    return { y: t.getUTCFullYear(), w: Math.ceil(((t - first) / 86400000 + 1) / 7) };
  }

  function defaults(kind) {
    const { y, m, d } = today();
    if (kind === "week") { const w = isoWeek(d); return `${w.y}-W${String(w.w).padStart(2, "0")}`; }
    if (kind === "quarter") return `${y}Q${Math.floor((m - 1) / 3) + 1}`;
    if (kind === "year") return String(y);
    return `${y}-${String(m).padStart(2, "0")}`;
  }

  function kindOf(period) {
    if (!period) return "month";
    if (period.includes("..")) return "custom";
    if (period.includes("-W")) return "week";
    if (period.includes("Q")) return "quarter";
    if (/^\d{4}$/.test(period)) return "year";
    return /^\d{4}-\d{1,2}$/.test(period) ? "month" : "custom";
  }

  function showKind(kind) {
    if (REPORT) return;
    $("dash-month").hidden = kind !== "month";
    $("dash-period").hidden = !["week", "quarter", "year"].includes(kind);
    $("dash-custom").hidden = kind !== "custom";
  }

  function chosenPeriod() {
    const kind = REPORT ? "month" : $("dash-kind").value;
    if (kind === "month") return $("dash-month").value || defaults("month");
    if (kind === "custom") {
      const a = $("dash-since").value, b = $("dash-until").value;
      return a && b ? `${a}..${b}` : defaults("month");
    }
    return ($("dash-period").value || defaults(kind)).trim();
  }

  function query(extra) {
    const params = new URLSearchParams(location.search);
    const out = new URLSearchParams();
    for (const key of ["period", "unit", "body"]) if (params.get(key)) out.set(key, params.get(key));
    for (const [k, v] of Object.entries(extra || {})) out.set(k, v);
    return out.toString();
  }

  function card(rate, previousPeriod) {
    const change = rate.change;
    let changeText = "上期无可比数据";
    let cls = "change";
    if (change !== null && change !== undefined) {
      const points = (change * 100).toFixed(1);
      changeText = `较上期（${previousPeriod}）${change > 0 ? "+" : ""}${points} 个百分点`;
      cls += change > 0 ? " up" : change < 0 ? " down" : "";
    }
    return el("div", { className: "card", dataset: { rate: rate.key } },
      el("div", { className: "label", text: rate.label }),
      el("div", { className: "value", text: pct(rate.value) }),
      el("div", { className: "counts", text: `${rate.part} / ${rate.whole}` }),
      el("div", { className: cls, text: changeText }));
  }

  function rankTable(caption, rows, columns) {
    const table = el("table", { className: "cases ranking" }, el("caption", { text: caption }));
    const head = el("tr", {}, el("th", { text: "名称" }), ...columns.map((c) => el("th", { text: c[0] })));
    table.append(el("thead", {}, head));
    const body = el("tbody");
    if (!rows.length) body.append(el("tr", {}, el("td", { colspan: columns.length + 1, className: "empty", text: "暂无数据" })));
    for (const row of rows) {
      body.append(el("tr", {},
        el("td", {}, el("a", { href: row.link, className: "rank-link", text: row.name })),
        ...columns.map((c) => el("td", { text: c[1](row) }))));
    }
    table.append(body);
    return table;
  }

  function renderRankings(r) {
    const box = $("rankings");
    box.replaceChildren(
      rankTable("承办单位 · 按时办结率", r.bodies_on_time, [["按时办结率", (x) => pct(x.on_time_rate)], ["办结", (x) => x.resolved]]),
      rankTable("承办单位 · 满意率", r.bodies_satisfaction, [["满意率", (x) => pct(x.satisfaction_rate)], ["评价", (x) => x.rated]]),
      rankTable("诉求分类 · 受理量", r.categories_volume, [["受理", (x) => x.opened]]),
      rankTable("诉求分类 · 超期办结占比", r.categories_overdue, [["超期占比", (x) => pct(x.overdue_share)], ["办结", (x) => x.resolved]]),
      rankTable("区域（点/站）· 受理量", r.areas_volume, [["层级", (x) => x.tier], ["受理", (x) => x.opened]]));
  }

  function renderTiers(root) {
    const rows = [];
    (function walk(node, depth) {
      rows.push(el("tr", { className: "tier-row", dataset: { tier: node.tier } },
        el("td", { className: `indent-${Math.min(depth, 3)}` }, el("a", { href: node.link, text: node.name })),
        el("td", { text: node.tier }), el("td", { text: node.opened }),
        el("td", { text: pct(node.response_rate) }), el("td", { text: pct(node.resolution_rate) }),
        el("td", { text: pct(node.satisfaction_rate) }), el("td", { text: pct(node.on_time_rate) })));
      for (const child of node.children) walk(child, depth + 1);
    })(root, 0);
    $("tier-rows").replaceChildren(...rows);
  }

  function caseLink(number) {
    return el("a", { href: `/console/cases/${encodeURIComponent(number)}`, text: number });
  }

  // 联合办理: one joint case for the alert, sent to a chosen body (by default the one most of
  // its open cases are with); its cases join it and stay their own cases.
  function jointControls(h) {
    const box = el("div", { className: "joint", dataset: { alert: h.alert_id } });
    const choose = el("select", { className: "joint-body", "aria-label": "联合办理的承办单位", hidden: !!h.joint_case },
      el("option", { value: "", text: "承办单位：多数诉求所在的单位" }),
      ...Object.entries(bodies).map(([code, name]) => el("option", { value: code, text: name })));
    const button = el("button", { type: "button", className: "secondary joint-open",
      text: h.joint_case ? `把其余诉求加入联合办理工单 ${h.joint_case}` : "发起联合办理" });
    const result = el("div", { className: "joint-result", role: "status" });
    if (h.joint_case) result.replaceChildren("联合办理工单：", caseLink(h.joint_case));
    button.addEventListener("click", async () => {
      const to = choose.value ? bodyName(choose.value) : "多数诉求所在的承办单位";
      const question = h.joint_case ? `把这条预警中尚未加入的诉求加入联合办理工单 ${h.joint_case}？`
        : `为这条预警发起一个联合办理工单，交 ${to} 统一办理？各诉求保留原编号，群众会收到通知。`;
      if (!confirm(question)) return;
      button.disabled = true;
      try {
        const payload = choose.value ? { body: choose.value } : {};
        const done = await api("POST", `/api/staff/hotspots/${h.alert_id}/joint`, payload);
        const lines = done.skipped.map((s) => el("li", {}, caseLink(s.number), `：${s.reason}`));
        result.replaceChildren(
          el("p", {}, done.opened ? "已发起联合办理工单 " : "联合办理工单 ", caseLink(done.joint),
            `（${done.body ? done.body.name : "承办单位待定"}），本次加入 ${done.joined.length} 件` +
            (done.skipped.length ? `，${done.skipped.length} 件未加入：` : "。")),
          ...(lines.length ? [el("ul", { className: "joint-skipped" }, ...lines)] : []));
        choose.hidden = true;
        button.textContent = "已联合办理";
      } catch (err) {
        button.disabled = false;
        $("dash-status").textContent = err.message;
      }
    });
    box.append(choose, button, result);
    return box;
  }

  async function renderHotspots(canMerge) {
    const data = await api("GET", "/api/staff/hotspots");
    const r = data.rules;
    $("hot-rules").textContent = `规则：${r.window_days} 天内同一区域或相邻区域、同类诉求、内容相近，` +
      `达到 ${r.min_cases} 位群众（同一人多次来电只算一次）即预警。`;
    const list = $("hot-list");
    if (!data.items.length) {
      list.replaceChildren(el("p", { className: "empty", text: "目前没有预警。" }));
      return;
    }
    list.replaceChildren(...data.items.map((h) => {
      const where = h.area ? h.area.name : "全县";
      const box = el("article", { className: "hot" },
        el("h3", { text: `${where} · ${h.category.level1}/${h.category.level2} · ${h.residents} 位群众 ${h.cases_count} 件` +
          (h.raised ? `（预警 #${h.alert_id}）` : "") }),
        el("ul", {}, ...h.cases.map((c) => el("li", {}, caseLink(c.number),
          ` ${c.state_label} · ${c.summary || ""}` + (c.joint_case ? `（联合办理 ${c.joint_case}）` : "")))));
      if (canMerge && h.raised && h.cases.length > 1) {
        const target = h.cases[0].number;
        const button = el("button", { type: "button", className: "secondary", text: `一键并单到 ${target}` });
        button.addEventListener("click", async () => {
          if (!confirm(`把这条预警的其他诉求都并入 ${target}？群众会收到并单通知。`)) return;
          button.disabled = true;
          try {
            const done = await api("POST", `/api/staff/hotspots/${h.alert_id}/merge`, { into: target });
            button.textContent = `已并单 ${done.merged.length} 件` + (done.skipped.length ? `，${done.skipped.length} 件未能并单` : "");
          } catch (err) {
            button.disabled = false;
            $("dash-status").textContent = err.message;
          }
        });
        box.append(button);
      }
      if (canMerge && h.raised) box.append(jointControls(h));
      return box;
    }));
  }

  async function load(me) {
    const status = $("dash-status");
    status.textContent = "正在加载…";
    let data;
    try {
      data = await api("GET", "/api/staff/dashboard?" + query());
    } catch (err) {
      status.textContent = err.message;
      return;
    }
    status.textContent = "";
    const title = REPORT ? `${data.period} 月度督办报告` : `督办看板 · ${data.period}`;
    $("dash-title").textContent = title + (data.body ? `（${bodyName(data.body)}）` : "");
    document.title = title + " · 件件有着落工作台";
    $("dash-note").hidden = !data.note;
    $("dash-note").textContent = data.note || "";
    $("rate-cards").replaceChildren(
      el("div", { className: "card", dataset: { rate: "opened" } },
        el("div", { className: "label", text: "受理" }),
        el("div", { className: "value", text: data.stats.opened }),
        el("div", { className: "counts", text: `上期 ${data.previous.opened}` })),
      ...data.rates.map((rate) => card(rate, data.previous.period)));
    const chartQuery = query({ period: data.period, unit: data.unit });
    $("chart-volume").src = "/api/staff/charts/volume.svg?" + chartQuery;
    $("chart-rates").src = "/api/staff/charts/rates.svg?" + chartQuery;
    renderRankings(data.rankings);
    renderTiers(data.tiers);
    if (!REPORT) {
      const exportQuery = query({ period: data.period });
      $("dash-xlsx").href = "/api/staff/export?" + exportQuery + "&format=xlsx";
      $("dash-csv").href = "/api/staff/export?" + exportQuery + "&format=csv";
      $("dash-xlsx").hidden = $("dash-csv").hidden = !data.can.cases;
      $("dash-report").href = "/console/report?" + query({ period: data.period.slice(0, 7) });
      $("hot-section").hidden = !data.can.cases;
      if (data.can.cases) {
        try { await renderHotspots(me.staff.role === "supervisor"); } catch (err) { $("hot-list").textContent = err.message; }
      }
    }
  }

  let bodies = {};
  function bodyName(code) { return bodies[code] || code; }

  function submit(event) {
    event.preventDefault();
    const params = new URLSearchParams(location.search);
    params.set("period", chosenPeriod());
    if (!REPORT) {
      if ($("dash-unit").value) params.set("unit", $("dash-unit").value); else params.delete("unit");
      if (!$("dash-body").hidden && $("dash-body").value) params.set("body", $("dash-body").value);
      else params.delete("body");
    }
    history.replaceState(null, "", location.pathname + "?" + params.toString());
    load(Console.me);
  }

  async function main() {
    const me = await Console.start();
    if (!ALLOWED.includes(me.staff.role)) {
      $("dash-status").textContent = "督办看板只对督办、管理员和承办单位开放。";
      return;
    }
    const params = new URLSearchParams(location.search);
    const period = params.get("period") || "";
    $("dash-month").value = /^\d{4}-\d{2}$/.test(period) ? period : defaults("month");
    if (REPORT) {
      $("dash-print").addEventListener("click", () => window.print());
    } else {
      const kind = kindOf(period);
      $("dash-kind").value = kind;
      if (["week", "quarter", "year"].includes(kind)) $("dash-period").value = period;
      if (kind === "custom" && period.includes("..")) {
        const [a, b] = period.split("..");
        $("dash-since").value = a; $("dash-until").value = b;
      }
      showKind(kind);
      $("dash-kind").addEventListener("change", () => {
        const k = $("dash-kind").value;
        if (["week", "quarter", "year"].includes(k)) $("dash-period").value = defaults(k);
        showKind(k);
      });
      $("dash-unit").value = params.get("unit") || "";
      if (me.staff.role !== "body") {
        try {
          const options = await api("GET", "/api/staff/options");
          for (const b of options.bodies || []) {
            bodies[b.code] = b.name;
            $("dash-body").append(el("option", { value: b.code, text: b.name }));
          }
          $("dash-body").value = params.get("body") || "";
          $("dash-body").hidden = false;
        } catch (err) { /* the body filter stays hidden */ }
      }
    }
    $("dash-controls").addEventListener("submit", submit);
    await load(me);
  }

  main().catch((err) => { $("dash-status").textContent = err.message || "页面加载失败，请刷新。"; });
})();
