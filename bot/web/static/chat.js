// Resident web chat. Every text from people or the bot goes into the page with textContent,
// never innerHTML. The session lives in an HttpOnly cookie the server sets; localStorage
// keeps only the unsent draft.
(() => {
  'use strict';
  const MAX = 5000;
  const DRAFT_KEY = 'jj_chat_draft';
  const $ = (id) => document.getElementById(id);
  const log = $('log'), quick = $('quick'), form = $('composer'), input = $('input');
  const sendButton = $('send'), hint = $('hint'), banner = $('banner');
  const shown = new Set();         // inbox ids already on the page
  let chain = Promise.resolve();   // messages go out one after another, in order

  const STATE_CLASS = { resolved: 'done', closed: 'done', referred: 'off', withdrawn: 'off',
                        merged: 'off' };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function scrollDown() { log.scrollTop = log.scrollHeight; }
  function append(node) { log.appendChild(node); scrollDown(); return node; }
  function bubble(who, text, extraClass) {
    const row = el('div', 'row ' + who + (extraClass ? ' ' + extraClass : ''));
    row.appendChild(el('div', 'bubble', text));
    return append(row);
  }
  function note(text, isError) { return append(el('div', 'note' + (isError ? ' error' : ''), text)); }
  function showHint(text) { hint.textContent = text || ''; hint.hidden = !text; }
  function showBanner(text) { banner.textContent = text || ''; banner.hidden = !text; }

  async function api(path, options) {
    const opts = Object.assign({ credentials: 'same-origin', headers: {} }, options || {});
    if (opts.json !== undefined) {
      opts.method = opts.method || 'POST';
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    let response;
    try {
      response = await fetch(path, opts);
    } catch (err) {
      return { ok: false, status: 0, data: { error: '网络连接不稳定，请检查网络后再试。' } };
    }
    let data = {};
    try { data = await response.json(); } catch (err) { data = {}; }
    return { ok: response.ok, status: response.status, data: data };
  }

  // ------------------------------------------------------------------ quick replies
  function setQuick(items) {
    quick.textContent = '';
    (items || []).slice(0, 8).forEach((item) => {
      const title = typeof item === 'string' ? item : (item.title || item.payload);
      const payload = typeof item === 'string' ? item : (item.payload || item.title);
      if (!title) return;
      const b = el('button', '', title);
      b.type = 'button';
      b.addEventListener('click', () => { setQuick([]); send(payload, title); });
      quick.appendChild(b);
    });
  }

  // ------------------------------------------------------------------ case cards
  function cardField(dl, label, value) {
    if (!value) return;
    dl.appendChild(el('dt', '', label));
    dl.appendChild(el('dd', '', value));
  }
  function fillCard(node, c) {
    node.textContent = '';
    const head = el('div', 'card-head');
    const left = el('div');
    left.appendChild(el('div', 'card-title', '诉求编号'));
    left.appendChild(el('div', 'card-number', c.number));
    head.appendChild(left);
    const stateLabel = c.state_label || c.state || '已受理';
    const cls = c.overdue ? 'late' : (STATE_CLASS[c.state] || '');
    head.appendChild(el('span', 'state' + (cls ? ' ' + cls : ''), c.overdue ? stateLabel + ' · 已超期' : stateLabel));
    node.appendChild(head);
    const dl = el('dl');
    const category = c.category_label || (c.category && typeof c.category === 'object'
      ? [c.category.level1, c.category.level2].filter(Boolean).join(' · ') : c.category);
    cardField(dl, '类别', category);
    cardField(dl, '内容', c.summary || c.text);
    const body = c.body && typeof c.body === 'object' ? c.body.name : c.body;
    cardField(dl, '承办单位', body);
    cardField(dl, '办结期限', c.due_label ? c.due_label + '前' : (c.deadline || ''));
    if (c.merged_into) cardField(dl, '并入', '编号 ' + c.merged_into);
    node.appendChild(dl);
    const events = c.events || [];
    if (events.length) {
      const last = events[events.length - 1];
      node.appendChild(el('div', 'latest', '最新进展：' + last.text));
    }
  }
  function showCard(c) {
    if (!c || !c.number) return null;
    const node = el('div', 'card');
    node.dataset.number = c.number;
    fillCard(node, c);
    return append(node);
  }
  async function refreshCards(number) {
    const r = await api('/api/chat/cases/' + encodeURIComponent(number));
    if (!r.ok || !r.data.case) return null;
    document.querySelectorAll('.card').forEach((node) => {
      if (node.dataset.number === number) fillCard(node, r.data.case);
    });
    return r.data.case;
  }
  // A case just resolved: one tap answers "问题解决了吗？" (sent as words, read by the dialogue).
  const RATING_REPLIES = ['问题解决了', '没有解决'];

  // ------------------------------------------------------------------ bot messages
  function renderBot(m) {
    const custom = m.custom || {};
    if (m.text && custom.from) {
      // A person holding the conversation (hand-off): labelled, like a progress update.
      const row = el('div', 'row bot person');
      const b = el('div', 'bubble');
      b.appendChild(el('span', 'label', custom.from));
      b.appendChild(document.createTextNode(m.text));
      row.appendChild(b);
      append(row);
    } else if (m.text) bubble('bot', m.text);
    if (m.image && /^https?:\/\//.test(m.image)) {
      const row = el('div', 'row bot');
      const img = el('img');
      img.src = m.image; img.alt = '图片'; img.style.maxWidth = '70%'; img.style.borderRadius = '10px';
      row.appendChild(img);
      append(row);
    }
    if (m.buttons && m.buttons.length) {
      const row = el('div', 'buttons');
      m.buttons.forEach((b) => {
        const title = b.title || b.payload;
        if (!title) return;
        const button = el('button', '', title);
        button.type = 'button';
        button.addEventListener('click', () => {
          row.querySelectorAll('button').forEach((x) => { x.disabled = true; });
          button.classList.add('chosen');
          send(b.payload || title, title);
        });
        row.appendChild(button);
      });
      append(row);
    }
    if (custom.case && custom.case.number) {
      showCard(custom.case);
      refreshCards(custom.case.number);
    }
    if (Array.isArray(custom.quick_replies)) setQuick(custom.quick_replies);
  }

  // ------------------------------------------------------------------ pushes (SSE + inbox)
  function showItem(item) {
    if (!item || shown.has(item.id)) return false;
    shown.add(item.id);
    if (item.kind === 'update') {
      const row = el('div', 'row bot update');
      const b = el('div', 'bubble');
      b.appendChild(el('span', 'label', '办理进展' + (item.case ? ' · ' + item.case : '')));
      b.appendChild(document.createTextNode(item.text || ''));
      row.appendChild(b);
      append(row);
      if (item.case) {
        refreshCards(item.case).then((c) => {
          if (c && c.state === 'resolved') setQuick(RATING_REPLIES);
        });
      }
    } else if (item.kind === 'bot') {
      (item.messages || []).forEach(renderBot);
    }
    return true;
  }
  function acknowledge(ids) {
    if (ids.length) api('/api/chat/ack', { json: { ids: ids } });
  }
  function listen() {
    const source = new EventSource('/api/chat/events');
    const onItem = (event) => {
      let item;
      try { item = JSON.parse(event.data); } catch (err) { return; }
      if (showItem(item)) acknowledge([item.id]);
    };
    source.addEventListener('update', onItem);
    source.addEventListener('bot', onItem);
    source.addEventListener('open', () => showBanner(''));
    source.addEventListener('error', () => {
      showBanner('连接暂时中断，正在重新连接…（新的办理进展不会丢失）');
    });
  }

  // ------------------------------------------------------------------ sending
  function send(text, display) {
    chain = chain.then(() => sendNow(text, display));
    return chain;
  }
  async function sendNow(text, display) {
    setQuick([]);
    const mine = bubble('me', display || text);
    const typing = bubble('bot', '正在输入…', 'typing');
    const r = await api('/api/chat/message', { json: { text: text } });
    typing.remove();
    if (!r.ok && r.status !== 202) {
      mine.classList.add('failed');
      note(r.data.error || '消息没有发出去，请稍后再试。', true);
      return;
    }
    (r.data.messages || []).forEach(renderBot);
  }
  function validate(text) {
    if (!text.trim()) return '您还没有输入内容，请写下您想说的话。';
    if (text.length > MAX) return '您的消息太长了（超过' + MAX + '字）。请精简一下，或分几次发送。';
    return '';
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    const problem = validate(text);
    if (problem) { showHint(problem); return; }
    showHint('');
    input.value = '';
    localStorage.removeItem(DRAFT_KEY);
    autosize();
    send(text.trim());
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  function autosize() { input.style.height = 'auto'; input.style.height = Math.min(input.scrollHeight, 120) + 'px'; }
  input.addEventListener('input', () => {
    autosize();
    try { localStorage.setItem(DRAFT_KEY, input.value.slice(0, MAX)); } catch (err) { /* private mode */ }
    if (input.value.length > MAX) showHint(validate(input.value)); else showHint('');
  });

  // ------------------------------------------------------------------ start
  async function start() {
    try { input.value = localStorage.getItem(DRAFT_KEY) || ''; } catch (err) { /* private mode */ }
    autosize();
    const s = await api('/api/chat/session');
    if (!s.ok) { note(s.data.error || '暂时无法连接，请稍后刷新页面。', true); return; }
    bubble('bot', s.data.welcome);
    setQuick(s.data.quick_replies);
    const [cases, updates] = await Promise.all([api('/api/chat/cases'), api('/api/chat/updates')]);
    const mine = (cases.ok && cases.data.cases) || [];
    if (mine.length) {
      append(el('div', 'section', '您的诉求（' + mine.length + ' 件）'));
      mine.forEach(showCard);
    }
    const fresh = ((updates.ok && updates.data.items) || []).filter(showItem).map((i) => i.id);
    if (fresh.length) note('以上是您离开期间的新进展');
    acknowledge(fresh);
    listen();
  }
  document.body.dataset.ready = 'loading';
  start().finally(() => { document.body.dataset.ready = 'yes'; });
})();
