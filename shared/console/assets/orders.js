// orders.js: every user's orders, filtered by status and by "needs
// attention" (?attention=1: money that arrived after cancel/close and whose
// automatic refund failed); an order's detail; refunds (POST
// /orders/{id}/refund, admin). GET /orders?all=1 and
// GET /orders/{id} answer the admin token for any user's order. A refund
// finishes when WeChat Pay's REFUND.* notify arrives, so the detail of a
// refunding order is read again until it is not. A buyer's note that
// WeChat's content check flagged (note_review: it suggested a look, or could
// not check it) shows a "note" badge in the list and the reason in the detail.
// Shipping (WeChat's order shipping management): "To ship" lists
// ?shipping=pending (express orders the merchant has not shipped, uploads
// WeChat has not taken yet); the detail of a paid express order has the ship
// form (POST /orders/{id}/ship {"express_company","tracking_no"}, admin).
// An order made in a store shows the store, scan & go or its table, when
// it was let out at the door, and where it is in the table queue.
import { get, post, newKey } from './api.js';
import { h, action, field, section, table, yuan, fen, when, toast, errorBox } from './ui.js';
import { allStores, storeSelect } from './storepick.js';

const STATUSES = ['', 'pending', 'paid', 'refunding', 'refunded', 'cancelled', 'closed'];

// NOTE_CHECK says why a note is flagged (the order's "note_check").
const NOTE_CHECK = {
  review: 'WeChat\'s content check suggests a human look at this note.',
  unchecked: 'WeChat could not check this note (unavailable, or the buyer not active): read it before acting on it.',
};
const POLL_MS = 1500;

// ATTENTION says what the merchant should do about an order's "attention".
const ATTENTION = {
  refund_failed: 'Paid after it was cancelled or closed, and the automatic refund failed. ' +
    'It is retried every few minutes; check the merchant balance.',
  refund_abnormal: 'Paid after it was cancelled or closed, and the automatic refund went ABNORMAL ' +
    '(the payer\'s card). Handle it on the WeChat Pay merchant platform.',
};

function badge(s) {
  return h('span', { class: 'badge ' + s }, s);
}

export async function render(main) {
  const list = h('div');
  // Store names for the detail of an order made in a store; none where
  // the server has no stores.
  // With stores, a filter by store (GET /orders?store_id=) too.
  let storeNames = {};
  let storeFilter = null;
  const storeField = h('span');
  allStores().then((stores) => {
    storeNames = Object.fromEntries(stores.map((x) => [x.id, x.name]));
    if (!stores.length) return;
    storeFilter = storeSelect(stores, { id: 'f-order-store', any: 'any store', remember: false, onchange: () => load(false) });
    storeField.replaceChildren(storeFilter.el);
  }, () => {});
  const detail = h('div', { class: 'detail', 'aria-live': 'polite' });
  let next = '';
  let poll = null;
  const status = h('select', { id: 'f-status', name: 'status' },
    STATUSES.map((s) => h('option', { value: s }, s || 'any status')));
  const attention = h('input', { type: 'checkbox', id: 'f-attention', name: 'attention' });
  const toShip = h('input', { type: 'checkbox', id: 'f-ship', name: 'shipping' });
  const filter = h('form', { class: 'row', 'aria-label': 'Filter orders' },
    h('div', { class: 'field' }, h('label', { for: 'f-status' }, 'Status'), status),
    storeField,
    h('div', { class: 'field' }, h('label', { for: 'f-attention' }, attention, ' Needs attention')),
    h('div', { class: 'field' }, h('label', { for: 'f-ship' }, toShip, ' To ship')),
    field('Order id', { name: 'id', class: 'mono', size: 32, placeholder: 'open one order' }),
    h('button', { type: 'submit' }, 'Show'));
  action(filter, async (d) => {
    if (d.get('id')) return open(String(d.get('id')).trim());
    return load(false);
  });
  status.addEventListener('change', () => load(false));
  attention.addEventListener('change', () => load(false));
  toShip.addEventListener('change', () => load(false));

  let loads = 0; // only the latest load draws (the filter may change while one runs)
  async function load(more) {
    const seq = ++loads;
    const q = new URLSearchParams({ all: '1', limit: '50' });
    if (status.value) q.set('status', status.value);
    if (attention.checked) q.set('attention', '1');
    if (toShip.checked) q.set('shipping', 'pending');
    if (storeFilter && storeFilter.value()) q.set('store_id', storeFilter.value());
    if (more && next) q.set('after', next);
    try {
      const res = await get('/orders?' + q);
      if (seq !== loads) return;
      next = res.next || '';
      // The status filter is applied while paging: a page may hold fewer
      // orders than asked, even none, and still have more after it.
      const none = 'No orders' + (status.value ? ' with status ' + status.value : '') +
        (attention.checked ? ' needing attention' : '') + (toShip.checked ? ' to ship' : '') +
        (storeFilter && storeFilter.value() ? ' made in ' + (storeNames[storeFilter.value()] || 'this store') : '') +
        (next ? ' in this stretch of history; More looks further back.' : '.');
      const t = table([
        { label: 'Order', value: (o) => h('a', { href: '#/orders', class: 'mono', onclick: (e) => { e.preventDefault(); open(o.id); } }, o.id) },
        { label: 'Created', value: (o) => when(o.created_at) },
        { label: 'Items', value: (o) => o.items.map((i) => i.title || i.sku).join(', ') },
        { label: 'Total', class: 'num', value: (o) => [yuan(o.total), o.pay_total != null
          ? h('small', { class: 'split' }, ' (balance ' + yuan(o.paid_by_balance || 0) + ' + WeChat Pay ' + yuan(o.pay_total) + ')') : ''] },
        { label: 'Status', value: (o) => [badge(o.status), o.attention ? [' ', badge('attention')] : '',
          o.note_review ? [' ', badge('note')] : ''] },
        { label: 'Shipping', value: (o) => (o.shipping ? o.shipping.type + ': ' + o.shipping.status : '') },
      ], res.orders, none);
      const moreBtn = next && h('p', { class: 'more' }, h('button', { class: 'secondary', onclick: () => load(true) }, 'More'));
      if (more) {
        list.querySelectorAll('.more').forEach((el) => el.remove());
        list.append(t, moreBtn || '');
      } else {
        list.replaceChildren(t, moreBtn || '');
      }
    } catch (err) {
      if (seq === loads) list.replaceChildren(errorBox(err));
    }
  }

  // open shows one order; again is true when polling a refunding order.
  async function open(id, again) {
    try {
      const { order } = await get('/orders/' + encodeURIComponent(id));
      if (again && detail.dataset.id !== order.id) return; // another order is shown now
      show(order);
      if (again && order.status !== 'refunding') load(false);
    } catch (err) {
      clearTimeout(poll);
      delete detail.dataset.id;
      detail.replaceChildren(errorBox(err));
    }
    if (!again) detail.scrollIntoView({ block: 'nearest' });
  }

  function show(o) {
    clearTimeout(poll);
    detail.dataset.id = o.id;
    if (o.status === 'refunding') poll = setTimeout(() => open(o.id, true), POLL_MS);
    let key = newKey();
    const refundable = o.total - (o.refunded || 0);
    const form = o.status === 'paid' && h('form', { class: 'row', 'aria-label': 'Refund' },
      field('Amount (¥, empty: all ' + yuan(refundable) + ')', { name: 'amount', inputmode: 'decimal' }),
      field('Reason', { name: 'reason', required: true, maxlength: 80 }),
      h('button', { type: 'submit', class: 'danger' }, 'Refund'));
    if (form) {
      action(form, async (d) => {
        const body = { reason: d.get('reason') };
        if (d.get('amount')) {
          const a = fen(d.get('amount'));
          body.amount = Number.isNaN(a) ? null : a;
        }
        const { order } = await post('/orders/' + encodeURIComponent(o.id) + '/refund', body, { key });
        key = newKey();
        toast('Refund of ' + o.id + ' submitted');
        show(order);
        load(false);
      });
    }
    const sh = o.shipping;
    let shipKey = newKey();
    const shipForm = o.status === 'paid' && sh && sh.type === 'express' && !sh.tracking_no &&
      h('form', { class: 'row', 'aria-label': 'Ship' },
        field('Express company', { name: 'express_company', required: true, maxlength: 32, size: 8, placeholder: 'SF, ZTO, YTO…' }),
        field('Tracking number', { name: 'tracking_no', required: true, maxlength: 128, class: 'mono' }),
        h('button', { type: 'submit' }, 'Ship'));
    if (shipForm) {
      action(shipForm, async (d) => {
        const body = { express_company: String(d.get('express_company')).trim(), tracking_no: String(d.get('tracking_no')).trim() };
        const { order } = await post('/orders/' + encodeURIComponent(o.id) + '/ship', body, { key: shipKey });
        shipKey = newKey();
        toast(o.id + ' shipped: ' + order.shipping.status);
        show(order);
        load(false);
      });
    }
    const addr = o.address;
    const rows = [
      ['Attention', o.attention ? h('strong', { class: 'attention' }, ATTENTION[o.attention] || o.attention) : ''],
      ['Status', badge(o.status)], ['Created', when(o.created_at)], ['Paid', when(o.paid_at)],
      ['Subtotal', yuan(o.subtotal)], ['Discount', yuan(o.discount)], ['Total', yuan(o.total)],
      // An order paid with the balance ("use_balance") says how it was split.
      ['Paid by balance', o.pay_total != null ? yuan(o.paid_by_balance || 0) : ''],
      ['Paid by WeChat Pay', o.pay_total != null ? yuan(o.pay_total) : ''],
      ['Refunded', o.refunded ? yuan(o.refunded) : ''], ['Coupon', o.coupon_id || ''],
      ['Transaction', o.transaction_id || ''], ['Closed', o.close_reason || ''],
      ['Note', o.note ? [o.note, o.note_review
        ? [' ', h('strong', { class: 'attention' }, NOTE_CHECK[o.note_check] || 'flagged for review')] : ''] : ''],
      ['Shipping', sh ? [sh.type, ' ', badge(sh.status), sh.error ? ' ' + sh.error : ''] : ''],
      ['Tracking', sh && sh.tracking_no ? sh.express_company + ' ' + sh.tracking_no : ''],
      ['Uploaded', sh ? when(sh.uploaded_at) : ''], ['Confirmed', sh && sh.confirmed_at ? [when(sh.confirmed_at), ' ', sh.confirm_method || ''] : ''],
      ['Settled', sh ? when(sh.settled_at) : ''],
      ['Address', addr ? [addr.name, ' ', addr.phone, ' · ', addr.region, ' ', addr.detail] : ''],
      // Orders made in a store (CONTRACT "Stores"): scan-and-go, let out
      // at the door with an exit pass; or a table, served from the queue.
      ['Store', o.store_id ? [storeNames[o.store_id] ? storeNames[o.store_id] + ' ' : '', h('code', {}, o.store_id)] : ''],
      ['In store', o.fulfillment === 'scan_and_go' ? 'scan & go' : o.table ? 'table ' + o.table : ''],
      ['Let out', o.exited_at ? [when(o.exited_at), o.exited_by ? ' by ' + o.exited_by : ''] : ''],
      ['Table', o.table_status ? [badge(o.table_status), o.served_at ? ' ' + when(o.served_at) : ''] : ''],
    ].filter(([, v]) => v !== '' && v != null);
    detail.replaceChildren(section('Order ' + o.id,
      h('dl', {}, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      table([
        { label: 'SKU', value: (i) => h('code', {}, i.sku) },
        { label: 'Item', value: (i) => i.title || '' },
        { label: 'Qty', class: 'num', value: (i) => String(i.quantity) },
        { label: 'Price', class: 'num', value: (i) => yuan(i.price) },
      ], o.items),
      o.refunds && o.refunds.length ? [h('h3', {}, 'Refunds'), table([
        { label: 'Refund', value: (r) => h('code', {}, r.out_refund_no) },
        { label: 'Amount', class: 'num', value: (r) => yuan(r.amount) },
        { label: 'Status', value: (r) => [badge(r.status), r.error ? ' ' + r.error : ''] },
        { label: 'Reason', value: (r) => r.reason || (r.auto ? 'automatic' : '') },
      ], o.refunds)] : '',
      shipForm ? [h('h3', {}, 'Ship'), shipForm] : '',
      form ? [h('h3', {}, 'Refund'), form] : ''));
  }

  main.append(section('Find orders', filter), detail, section('Orders', list));
  await load(false);
  return () => clearTimeout(poll);
}
