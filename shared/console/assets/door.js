// door.js: the door check of scan-and-go. A shopper leaving with a paid
// basket shows the exit pass (a QR code in the Mini-Program); the staff
// scan it (the camera where the browser has BarcodeDetector, or a USB
// scanner, which types) and POST /exit-passes/verify {"code"} answers the
// order's items, once ({"order_id","store_id","items","total","paid_at",
// "exited_at","exited_by"}): the staff compare them with the bag. No
// Idempotency-Key is sent: a second check of the same pass must be
// refused (already_exited), not replayed. A pass used
// before, expired, of an unpaid or refunded order, or of another store is
// refused with the API's message. The console signs in with the admin
// token, which may check any store's passes; a staff member's token only
// their own store's (not_store_staff otherwise).
import { post } from './api.js';
import { h, action, field, section, table, yuan, when, toast } from './ui.js';
import { scanner } from './redeem.js';
import { allStores, storeSelect } from './storepick.js';

export async function render(main) {
  const result = h('div', { class: 'door-results', 'aria-live': 'polite' });
  // The door the check is made at: a pass of an order paid at another store
  // is flagged (the admin token may let any store's order out; a staff
  // token is refused not_store_staff by the API).
  let stores = [];
  try {
    stores = await allStores();
  } catch (err) {
    result.append(errorBox(err));
  }
  const names = Object.fromEntries(stores.map((s) => [s.id, s.name]));
  const at = stores.length ? storeSelect(stores, { id: 'f-door-store', label: 'At the door of' }) : null;
  const form = h('form', { class: 'row', 'aria-label': 'Check an exit pass' },
    field('Exit pass code', { name: 'code', required: true, class: 'mono', autocomplete: 'off', size: 34 }),
    h('button', { type: 'submit' }, 'Check'));
  action(form, async (d) => {
    const code = String(d.get('code')).trim();
    const ex = await post('/exit-passes/verify', { code });
    toast('Exit pass valid: compare the bag');
    form.reset();
    result.prepend(h('div', { class: 'card pass-ok', 'data-order': ex.order_id },
      h('h3', {}, 'Valid: order ', h('code', {}, ex.order_id), ' ', h('span', { class: 'badge paid' }, 'paid')),
      at && ex.store_id && ex.store_id !== at.value()
        ? h('p', { class: 'error other-store' }, 'Paid at another store: ' + (names[ex.store_id] || ex.store_id)) : '',
      h('p', { class: 'muted' }, [ex.store_id ? (names[ex.store_id] || 'Store ' + ex.store_id) + ' · ' : '', yuan(ex.total),
        ' · paid ' + when(ex.paid_at), ' · let out ' + when(ex.exited_at)]),
      table([
        { label: 'Item', value: (i) => i.title || i.sku },
        { label: 'SKU', value: (i) => h('code', {}, i.sku) },
        { label: 'Quantity', class: 'num', value: (i) => String(i.quantity) },
      ], (ex.items || []).map((i) => Object.assign({ id: i.sku }, i)), 'No item.')));
    form.elements.code.focus();
  });

  const scan = h('div', { class: 'no-print' });
  let stop = () => {};
  if ('BarcodeDetector' in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    const btn = h('button', { type: 'button', class: 'secondary' }, 'Scan with camera');
    btn.addEventListener('click', async () => {
      if (btn.dataset.on) return stop();
      try {
        stop = await scanner(scan, (text) => {
          form.elements.code.value = text;
          stop();
          form.requestSubmit();
        });
        btn.dataset.on = '1';
        btn.textContent = 'Stop camera';
        const prev = stop;
        stop = () => { prev(); delete btn.dataset.on; btn.textContent = 'Scan with camera'; };
      } catch (err) {
        toast('Camera: ' + err.message, 'error');
      }
    });
    scan.append(btn);
  } else {
    scan.append(h('p', { class: 'muted' }, 'This browser cannot scan QR codes: use a USB scanner (it types for you), or type the code.'));
  }

  main.append(section('Check an exit pass', at ? h('div', { class: 'row' }, at.el) : '', h('p', { class: 'muted' },
    'Each pass works once: a second check of the same pass is refused.'), form, scan), result);
  form.elements.code.focus();
  return () => stop();
}
