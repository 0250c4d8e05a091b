// redeem.js: redeem a coupon at the counter: type or paste its code, or
// scan the customer's QR code with the camera where the browser can. Where
// the shop has stores, the counter is one of them: the redemption records
// it (POST /coupons/redeem {"code","store_id"}: the coupon's
// "redeemed_store_id"; a staff member's redemption records their own store).
import { post } from './api.js';
import { h, action, field, section, yuan, when, toast, errorBox } from './ui.js';
import { allStores, storeSelect } from './storepick.js';

export async function render(main) {
  const result = h('div', { 'aria-live': 'polite' });
  let at = null;
  let names = {};
  try {
    const stores = await allStores();
    names = Object.fromEntries(stores.map((s) => [s.id, s.name]));
    if (stores.length) at = storeSelect(stores, { id: 'f-redeem-store', label: 'At the counter of', any: 'No store' });
  } catch (err) {
    if (err.status !== 404) result.append(errorBox(err));
  }
  const form = h('form', { class: 'row', 'aria-label': 'Redeem a coupon' },
    field('Coupon code', { name: 'code', required: true, class: 'mono', autocomplete: 'off', autocapitalize: 'characters',
      placeholder: 'XXXX-XXXX-XXXX-XXXX', size: 24 }),
    h('button', { type: 'submit' }, 'Redeem'));
  action(form, async (d) => {
    const body = { code: String(d.get('code')).trim() };
    if (at && at.value()) body.store_id = at.value();
    const { coupon } = await post('/coupons/redeem', body);
    toast('Coupon redeemed');
    form.reset();
    result.prepend(h('div', { class: 'card redeemed' },
      h('strong', {}, 'Redeemed: '), coupon.title || coupon.campaign_id, ' ',
      h('span', { class: 'badge ' + coupon.status }, coupon.status),
      h('div', { class: 'muted' }, (coupon.discount && coupon.discount.amount_off ? yuan(coupon.discount.amount_off) + ' off · ' : ''),
        'code ', h('code', {}, coupon.code), ' · ', when(coupon.used_at || new Date()),
        coupon.redeemed_store_id ? ' · at ' + (names[coupon.redeemed_store_id] || coupon.redeemed_store_id) : '')));
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
    scan.append(h('p', { class: 'muted' }, 'This browser cannot scan QR codes: type or paste the code, or use a USB scanner (it types for you).'));
  }

  main.append(section('Redeem a coupon', at ? h('div', { class: 'row' }, at.el) : '', form, scan), result);
  form.elements.code.focus();
  return () => stop();
}

// scanner shows the camera and calls found with the first QR code's text
// (the Door check screen uses it too).
export async function scanner(box, found) {
  const detector = new BarcodeDetector({ formats: ['qr_code'] });
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  const video = h('video', { class: 'scanner', muted: true, playsInline: true, 'aria-label': 'Camera' });
  video.srcObject = stream;
  box.append(video);
  await video.play();
  let running = true;
  (async function loop() {
    while (running) {
      try {
        const codes = await detector.detect(video);
        if (codes.length) { found(codes[0].rawValue); return; }
      } catch { /* a frame not ready yet */ }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return () => {
    running = false;
    stream.getTracks().forEach((t) => t.stop());
    video.remove();
  };
}
