// The queue page: tabs with counts, filters, search, pagination, live countdowns, and a live
// refresh when a case in this staff member's scope changes (SSE /api/staff/stream).
"use strict";

(() => {
  const { $, el, api, start, countdown, deadlinesOf } = window.Console;
  const QUEUES = ["pending_sign", "working", "due_soon", "overdue", "to_rate", "all"];
  const FILTERS = ["state", "level1", "category", "area", "body", "channel", "type", "since", "until"];
  const view = { queue: "pending_sign", page: 1, per_page: 20, q: "", filters: {} };
  let total = 0;
  let loading = null;

  function readUrl() {
    const params = new URLSearchParams(location.search);
    const queue = params.get("queue");
    if (QUEUES.includes(queue)) view.queue = queue;
    const page = parseInt(params.get("page") || "1", 10);
    view.page = page > 0 && page < 10000 ? page : 1;
    view.q = (params.get("q") || "").slice(0, 100);
    for (const name of FILTERS) {
      const value = params.get(name);
      if (value) view.filters[name] = value.slice(0, 64);
    }
  }

  function query() {
    const params = new URLSearchParams({ queue: view.queue, page: String(view.page),
                                         per_page: String(view.per_page) });
    if (view.q) params.set("q", view.q);
    for (const [name, value] of Object.entries(view.filters)) if (value) params.set(name, value);
    return params;
  }

  function writeUrl() {
    const params = query();
    params.delete("per_page");
    history.replaceState(null, "", "/console?" + params.toString());
  }

  function fill(select, items, value, label) {
    for (const item of items) {
      select.append(el("option", { value: value(item), text: label(item) }));
    }
  }

  async function loadOptions() {
    const o = await api("GET", "/api/staff/options");
    fill($("filter-state"), o.states, (s) => s.code, (s) => s.label);
    fill($("filter-level1"), o.level1, (s) => s, (s) => s);
    fill($("filter-category"), o.categories, (c) => c.code, (c) => c.level1 + " · " + c.level2);
    fill($("filter-area"), o.areas, (a) => a.code, (a) => a.name);
    fill($("filter-body"), o.bodies, (b) => b.code, (b) => b.name);
    fill($("filter-channel"), o.channels, (c) => c.code, (c) => c.label);
    fill($("filter-type"), o.types, (t) => t, (t) => t);
    $("search-q").value = view.q;
    $("filter-more").open = window.matchMedia("(min-width: 721px)").matches ||
      Object.keys(view.filters).length > 0;
    for (const name of FILTERS) {
      const input = $("filter-" + name);
      if (input && view.filters[name]) input.value = view.filters[name];
    }
  }

  function row(item) {
    const d = deadlinesOf(item);
    const link = el("a", { className: "case-link", href: "/console/cases/" + encodeURIComponent(item.number),
                           text: item.number });
    const category = item.category ? [item.category.level1, item.category.level2].filter(Boolean).join(" · ") : "";
    const owner = (item.body && item.body.name) || (item.agent && item.agent.name) || "—";
    const times = el("td", { className: "deadlines" },
      countdown("签收", d.sign), countdown("首次联系", d.contact), countdown("办结", d.resolution));
    const tr = el("tr", { className: item.overdue ? "case overdue" : "case", dataset: { number: item.number } },
      el("td", { className: "number", "data-label": "编号" }, link),
      el("td", { className: "state", "data-label": "状态", text: item.state_label || item.state }),
      el("td", { className: "category", "data-label": "分类", text: category }),
      el("td", { className: "summary", "data-label": "摘要", text: item.summary || "" }),
      el("td", { className: "owner", "data-label": "承办", text: owner }),
      times);
    tr.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      location.assign(link.href);
    });
    return tr;
  }

  function paintTabs(counts) {
    for (const queue of QUEUES) {
      const tab = $("tab-" + queue);
      tab.setAttribute("aria-selected", queue === view.queue ? "true" : "false");
      tab.classList.toggle("active", queue === view.queue);
      const n = counts && counts[queue];
      $("count-" + queue).textContent = n === undefined || n === null ? "" : String(n);
    }
  }

  async function load() {
    if (loading) loading.abort = true;
    const mine = { abort: false };
    loading = mine;
    $("list-status").textContent = "正在加载…";
    writeUrl();
    try {
      const result = await api("GET", "/api/staff/cases?" + query().toString());
      if (mine.abort) return;
      total = result.total || 0;
      const rows = $("case-rows");
      rows.replaceChildren(...(result.items || []).map(row));
      $("list-empty").hidden = (result.items || []).length > 0;
      paintTabs(result.counts);
      const pages = Math.max(1, Math.ceil(total / view.per_page));
      $("page-info").textContent = "第 " + view.page + " / " + pages + " 页，共 " + total + " 件";
      $("page-prev").disabled = view.page <= 1;
      $("page-next").disabled = view.page >= pages;
      $("list-status").textContent = "";
    } catch (err) {
      if (!mine.abort) $("list-status").textContent = err.message;
    }
  }

  let pending = null;
  function reloadSoon(number) {
    if (pending) clearTimeout(pending);
    pending = setTimeout(async () => {
      pending = null;
      await load();
      const tr = document.querySelector('tr[data-number="' + CSS.escape(number || "") + '"]');
      if (tr) { tr.classList.add("changed"); setTimeout(() => tr.classList.remove("changed"), 3000); }
    }, 600);
  }

  function live() {
    const source = new EventSource("/api/staff/stream");
    source.addEventListener("ready", () => { $("live-status").textContent = "实时更新已连接"; load(); });
    source.addEventListener("case", (event) => {
      let item = {};
      try { item = JSON.parse(event.data); } catch (err) { return; }
      reloadSoon(item.number);
    });
    source.onerror = () => { $("live-status").textContent = "实时更新已断开，正在重新连接…"; };
  }

  function bind() {
    for (const queue of QUEUES) {
      $("tab-" + queue).addEventListener("click", () => {
        view.queue = queue; view.page = 1; load();
      });
    }
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      view.q = $("search-q").value.trim().slice(0, 100);
      view.filters = {};
      for (const name of FILTERS) {
        const value = $("filter-" + name).value;
        if (value) view.filters[name] = value;
      }
      view.page = 1;
      load();
    });
    $("filter-reset").addEventListener("click", () => {
      $("filters").reset();
      view.q = ""; view.filters = {}; view.page = 1;
      load();
    });
    $("page-prev").addEventListener("click", () => { if (view.page > 1) { view.page -= 1; load(); } });
    $("page-next").addEventListener("click", () => { view.page += 1; load(); });
  }

  async function main() {
    readUrl();
    paintTabs(null);
    try {
      await start();
      await loadOptions();
    } catch (err) {
      $("list-status").textContent = err.message;
      return;
    }
    bind();
    await load();
    live();
  }

  main();
})();
