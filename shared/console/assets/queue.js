// queue.js: a store's table queue (table ordering, CONTRACT "Stores"): the
// paid orders placed from a table's Mini-Program code, oldest first, read
// again every few seconds (GET /stores/{id}/queue?status=), each with its
// table and dishes; Serve marks one served (POST /orders/{id}/serve), and
// it leaves the list of orders to serve.
import { get, post } from './api.js';
import { h, section, table, yuan, when, toast, errorBox } from './ui.js';
import { allStores, storeSelect } from './storepick.js';

const POLL_MS = 3000;
const STATUSES = ['new', 'serving', 'served'];

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
  const status = h('select', { id: 'f-queue-status', name: 'status' },
    h('option', { value: '' }, 'to serve'), STATUSES.map((s) => h('option', { value: s }, s)));
  status.addEventListener('change', () => load());

  async function serve(o) {
    await post('/orders/' + encodeURIComponent(o.id) + '/serve');
    toast('Table ' + o.table + ' served');
    await load();
  }

  let loads = 0; // only the latest load draws
  async function load() {
    const seq = ++loads;
    const q = new URLSearchParams();
    if (status.value) q.set('status', status.value);
    try {
      const res = await get('/stores/' + encodeURIComponent(pick.value()) + '/queue?' + q);
      if (seq !== loads) return;
      const orders = res.orders || res.queue || [];
      list.replaceChildren(table([
        { label: 'Table', value: (o) => h('strong', { class: 'table-no' }, o.table) },
        { label: 'Order', value: (o) => h('code', {}, o.id) },
        { label: 'Dishes', value: (o) => (o.items || []).map((i) => h('div', {}, i.quantity + ' × ' + (i.title || i.sku))) },
        { label: 'Total', class: 'num', value: (o) => yuan(o.total) },
        { label: 'Paid', value: (o) => when(o.paid_at || o.created_at) },
        { label: 'Status', value: (o) => h('span', { class: 'badge ' + (o.serve_status || o.queue_status || 'new') },
          o.serve_status || o.queue_status || 'new') },
        { label: '', value: (o) => ((o.serve_status || o.queue_status) === 'served' ? '' : h('button', {
          'aria-label': 'Serve table ' + o.table + ' (' + o.id + ')',
          onclick: (e) => { e.target.disabled = true; serve(o).catch((err) => { e.target.disabled = false; toast(err.message, 'error'); }); },
        }, 'Serve')) },
      ], orders, status.value ? 'No order ' + status.value + '.' : 'Nothing to serve.'));
    } catch (err) {
      if (seq === loads) list.replaceChildren(errorBox(err));
    }
  }

  box.append(section('Table queue',
    h('div', { class: 'row' }, pick.el, h('div', { class: 'field' }, h('label', { for: 'f-queue-status' }, 'Show'), status)),
    h('p', { class: 'muted' }, 'Paid table orders, oldest first; the list refreshes every few seconds.'), list));
  await load();
  const timer = setInterval(load, POLL_MS);
  return () => clearInterval(timer);
}
