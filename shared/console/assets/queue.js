// queue.js: a store's table queue (table ordering, CONTRACT "Stores";
// docs/tables.md): the paid orders placed from a table's Mini-Program code,
// new first, then serving, then served, each oldest first, read again every
// few seconds (GET /stores/{id}/queue[?status=], {"queue":[{"order_id",
// "table","status","items","total","paid_at",…}]}); each with its table and
// dishes. Start marks one serving, Served marks it served (POST
// /orders/{id}/serve {"status"}); a served order leaves the waiting list.
import { get, post } from './api.js';
import { h, section, table, yuan, when, toast, errorBox } from './ui.js';
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

  box.append(section('Table queue',
    h('div', { class: 'row' }, pick.el, h('div', { class: 'field' }, h('label', { for: 'f-queue-status' }, 'Show'), view)),
    h('p', { class: 'muted' }, 'Paid table orders, oldest first; the list refreshes every few seconds.'), list));
  await load();
  const timer = setInterval(load, POLL_MS);
  return () => clearInterval(timer);
}
