// queue.js: a store's table queue (table ordering, CONTRACT "Stores";
// docs/tables.md): the paid orders placed from a table's Mini-Program code,
// new first, then serving, then served, each oldest first, read again every
// few seconds (GET /stores/{id}/queue[?status=], {"queue":[{"order_id",
// "table","status","items","total","paid_at",…}]}); each with its table and
// dishes. Start marks one serving, Served marks it served (POST
// /orders/{id}/serve {"status"}); a served order leaves the waiting list.
// Table codes: the Mini-Program code of each table (POST /qrcode with params
// exactly {"store_id","table"}, which only the admin or that store's staff
// may make), as a sheet to print; the page they open reads the store and
// table from the scene (the sample's pages/table/index).
import { get, post, call } from './api.js';
import { h, action, field, section, table, yuan, when, toast, errorBox } from './ui.js';
import { allStores, storeSelect } from './storepick.js';

const POLL_MS = 3000;
// The views: waiting (new and serving, the default), one status, or all.
const VIEWS = [['', 'waiting'], ['new', 'new'], ['serving', 'serving'], ['served', 'served'], ['all', 'all']];

export async function render(main) {
  const box = h('div', { class: 'queue' });
  main.append(box);
  let stores;
  try {
    stores = await allStores();
  } catch (err) {
    box.append(errorBox(err));
    return;
  }
  if (!stores.length) {
    box.append(section('Table queue', h('p', { class: 'empty' }, 'No store yet: add one under Stores.')));
    return;
  }
  const list = h('div', { class: 'queue-list', 'aria-live': 'polite' });
  const pick = storeSelect(stores, { id: 'f-queue-store', onchange: () => load() });
  const view = h('select', { id: 'f-queue-status', name: 'status' }, VIEWS.map(([v, l]) => h('option', { value: v }, l)));
  view.addEventListener('change', () => load());

  async function serve(q, to) {
    await post('/orders/' + encodeURIComponent(q.order_id) + '/serve', { status: to });
    toast('Table ' + q.table + ': ' + to);
    await load();
  }

  const button = (q, to, label) => h('button', {
    class: to === 'serving' ? 'secondary' : undefined,
    'aria-label': label + ' table ' + q.table + ' (' + q.order_id + ')',
    onclick: (e) => {
      e.target.disabled = true;
      serve(q, to).catch((err) => { e.target.disabled = false; toast(err.message, 'error'); });
    },
  }, label);

  let loads = 0; // only the latest load draws
  async function load() {
    const seq = ++loads;
    const q = new URLSearchParams({ limit: '100' });
    if (view.value && view.value !== 'all') q.set('status', view.value);
    try {
      const res = await get('/stores/' + encodeURIComponent(pick.value()) + '/queue?' + q);
      if (seq !== loads) return;
      const rows = res.queue.filter((e) => view.value !== '' || e.status !== 'served')
        .map((e) => Object.assign({ id: e.order_id }, e));
      list.replaceChildren(table([
        { label: 'Table', value: (e) => h('strong', { class: 'table-no' }, e.table) },
        { label: 'Order', value: (e) => h('code', {}, e.order_id) },
        { label: 'Dishes', value: (e) => [(e.items || []).map((i) => h('div', {}, i.quantity + ' × ' + (i.title || i.sku))),
          e.note ? h('div', { class: 'muted' }, 'Note: ' + e.note) : ''] },
        { label: 'Total', class: 'num', value: (e) => yuan(e.total) + (e.refunded ? ' (' + yuan(e.refunded) + ' refunded)' : '') },
        { label: 'Paid', value: (e) => when(e.paid_at) },
        { label: 'Status', value: (e) => h('span', { class: 'badge ' + e.status }, e.status) },
        { label: '', value: (e) => h('div', { class: 'actions' },
          e.status === 'new' ? button(e, 'serving', 'Start') : '',
          e.status !== 'served' ? button(e, 'served', 'Served') : '') },
      ], rows, view.value === '' ? 'Nothing to serve.' : 'No order here.'),
      res.next ? h('p', { class: 'muted' }, 'More orders than shown: serve these first.') : '');
    } catch (err) {
      if (seq === loads) list.replaceChildren(errorBox(err));
    }
  }

  // Table codes, printed as a sheet like point codes.
  const sheet = h('div');
  const urls = [];
  const codes = h('form', { class: 'row', 'aria-label': 'Table codes' },
    field('Tables', { name: 'tables', required: true, placeholder: '1-12, A1, A2', size: 24, autocomplete: 'off' }),
    field('Page', { name: 'page', required: true, value: 'pages/table/index', size: 24 }),
    h('div', { class: 'field' }, h('label', { for: 'f-check-path' },
      h('input', { type: 'checkbox', id: 'f-check-path', name: 'check_path' }), ' The page is published (check_path)')),
    h('button', { type: 'submit' }, 'Make codes'));
  action(codes, async (d) => {
    const tables = tableNames(d.get('tables'));
    if (!tables.length || tables.length > 100) throw new Error('Name 1 to 100 tables: "1-12", or "A1, A2".');
    const storeId = pick.value();
    const storeName = pick.select.selectedOptions[0].textContent;
    urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
    const figures = tables.map((t) => h('figure', { 'data-table': t },
      h('img', { alt: 'Mini-Program code of table ' + t, width: 160, height: 160 }),
      h('figcaption', {}, h('span', { class: 'pts' }, 'Table ' + t), h('br'), storeName, h('br'), h('span', { class: 'scene' }))));
    sheet.replaceChildren(h('section', { class: 'card printable', 'aria-label': 'Table code sheet' },
      h('h2', { class: 'no-print' }, tables.length + ' table codes of ' + storeName),
      h('p', { class: 'actions no-print' }, h('button', { type: 'button', onclick: () => window.print() }, 'Print sheet')),
      h('div', { class: 'sheet' }, figures)));
    const body = (t) => ({ page: String(d.get('page')).trim(), params: { store_id: storeId, table: t },
      check_path: d.get('check_path') === 'on' });
    // One at a time: WeChat limits how fast codes are made.
    for (let n = 0; n < tables.length; n++) {
      try {
        const res = await call('POST', '/qrcode', body(tables[n]), { raw: true });
        const u = URL.createObjectURL(await res.blob());
        urls.push(u);
        figures[n].querySelector('img').src = u;
        figures[n].querySelector('.scene').textContent = 'scene ' + (res.headers.get('X-Minifn-Scene') || '');
      } catch (err) {
        figures[n].prepend(errorBox(err));
      }
    }
  });

  box.append(section('Orders to serve',
    h('div', { class: 'row' }, pick.el, h('div', { class: 'field' }, h('label', { for: 'f-queue-status' }, 'Show'), view)),
    h('p', { class: 'muted' }, 'Paid table orders, oldest first; the list refreshes every few seconds.'), list),
  section('Table codes', h('p', { class: 'muted' }, 'The code on each table of the store picked above. A guest who scans ' +
    'it orders for that table; the order waits here once paid.'), codes), sheet);
  await load();
  const timer = setInterval(load, POLL_MS);
  return () => {
    clearInterval(timer);
    urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
  };
}

// tableNames reads "1-12, A1, A2" as the tables 1 to 12, A1 and A2.
function tableNames(text) {
  const out = [];
  for (const part of String(text).split(',').map((t) => t.trim()).filter(Boolean)) {
    const m = /^(\d+)\s*-\s*(\d+)$/.exec(part);
    if (m && Number(m[2]) >= Number(m[1]) && Number(m[2]) - Number(m[1]) < 100) {
      for (let i = Number(m[1]); i <= Number(m[2]); i++) out.push(String(i));
    } else {
      out.push(part);
    }
  }
  return [...new Set(out)];
}
