// ui.js: a few DOM helpers shared by the screens.

// h builds an element: h('button', {onclick, class: 'x'}, 'text', child…).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) if (c !== undefined && c !== null && c !== false) el.append(c);
  return el;
}

// yuan shows integer fen as money.
export function yuan(fen) {
  if (fen === undefined || fen === null) return '';
  const sign = fen < 0 ? '−' : '';
  const a = Math.abs(fen);
  return sign + '¥' + Math.floor(a / 100).toLocaleString('en') + '.' + String(a % 100).padStart(2, '0');
}

// fen reads a yuan amount typed by a person ("12.5" → 1250); NaN if it is not one.
export function fen(text) {
  const t = String(text).trim();
  if (!/^\d+(\.\d{1,2})?$/.test(t)) return NaN;
  const [y, f = ''] = t.split('.');
  return Number(y) * 100 + Number(f.padEnd(2, '0'));
}

export function when(t) {
  if (!t) return '';
  const d = new Date(t);
  return isNaN(d) ? t : d.toLocaleString();
}

// table renders rows under columns [{label, value: row => node|string, class?}].
export function table(columns, rows, empty = 'Nothing yet.') {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('table', {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-id': r.id || r.sku || r.out_trade_no || undefined },
      columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.value(r)))))));
}

// field is a labelled input.
export function field(label, attrs) {
  const id = 'f-' + (attrs.name || label).replace(/\W+/g, '-');
  return h('div', { class: 'field' }, h('label', { for: id }, label), h(attrs.tag || 'input', Object.assign({ id }, attrs, { tag: undefined })));
}

// errorBox shows an API error as the API's message (and its code).
export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err.message, err.code ? h('code', {}, ' ' + err.code) : '');
}

// toast announces a short result to everyone, screen readers included.
export function toast(msg, kind = 'ok') {
  const el = document.getElementById('toast');
  el.textContent = msg;
  el.className = 'toast ' + kind;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.className = 'toast'; el.textContent = ''; }, 4000);
}

// action wraps a form's submit: it disables the button while the call runs
// and shows the API's error in the form's status line.
export function action(form, fn) {
  const status = h('div', { class: 'status', 'aria-live': 'polite' });
  form.append(status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const btn = form.querySelector('button[type=submit], button:not([type])');
    status.replaceChildren();
    if (btn) btn.disabled = true;
    try {
      await fn(new FormData(form));
    } catch (err) {
      status.replaceChildren(errorBox(err));
    } finally {
      if (btn) btn.disabled = false;
    }
  });
  return form;
}

// section is a titled card.
export function section(title, ...children) {
  const id = 'h-' + title.toLowerCase().replace(/\W+/g, '-');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}
