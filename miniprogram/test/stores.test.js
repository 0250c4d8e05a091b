// Tests of the kit's store features (CONTRACT "Stores") against `minifn
// dev`: nearby stores from wx.getLocation, scan-and-go from wx.scanCode to
// the exit pass the door verifies once, a table order from a table code's
// scene, and bookings. The wx shim plays the phone (where it is, what the
// camera reads, the payment sheet); everything else is the real server.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { createClient, MinifnError } = require('../lib/minifn.js');
const { createWx } = require('./wx-shim.js');
const { startDev, admin } = require('./devserver.js');

let dev;
test.before(async () => { dev = await startDev(); });
test.after(() => dev && dev.stop());

let users = 0;
function kit(hooks) {
  const shim = createWx(dev.url, 'stores-' + process.pid + '-' + (++users), hooks);
  const client = createClient({ baseURL: dev.url, wx: shim.wx, retryDelay: 10 });
  return Object.assign(shim, { client });
}

const run = Date.now().toString(36);
let seq = 0;

// newStore creates a store at (lat, lng) through the admin API.
async function newStore(lat, lng, fields) {
  const r = await admin(dev, 'POST', '/stores', Object.assign({ name: 'Kit store ' + run + '-' + (++seq),
    address: 'No. ' + seq + ' Test Road', lat, lng }, fields), { 'Idempotency-Key': 'kit-store-' + run + '-' + seq });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.store;
}

// ean13 completes 12 digits with their check digit (GS1: weights 1 and 3).
function ean13(twelve) {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(twelve[i]) * (i % 2 ? 3 : 1);
  return twelve + ((10 - (sum % 10)) % 10);
}
function freshBarcode() {
  return ean13(('69' + Date.now().toString() + String(++seq).padStart(3, '0')).slice(-12).replace(/^./, '6'));
}

// haversine in metres on a 6371 km sphere: what "great-circle" means here.
function haversine(lat1, lng1, lat2, lng2) {
  const r = (d) => (d * Math.PI) / 180;
  const a = Math.sin(r(lat2 - lat1) / 2) ** 2 + Math.cos(r(lat1)) * Math.cos(r(lat2)) * Math.sin(r(lng2 - lng1) / 2) ** 2;
  return 2 * 6371000 * Math.asin(Math.sqrt(a));
}

test('nearby: wx.getLocation in GCJ-02, stores within the radius nearest first with their distance', async () => {
  // A fresh spot for this run (a reused dev server keeps earlier stores).
  const lat = 22 + Math.random() * 8;
  const lng = 105 + Math.random() * 15;
  const far = await newStore(lat + 0.1, lng); // ~11 km: outside 5 km
  const second = await newStore(lat, lng + 0.02); // ~2 km
  const first = await newStore(lat + 0.003, lng); // ~330 m
  const k = kit({ location: () => ({ latitude: lat, longitude: lng }) });
  const res = await k.client.stores.nearby();
  assert.deepEqual(k.calls.getLocation, [{ type: 'gcj02' }], 'the kit asks for GCJ-02, the stores\' coordinates');
  assert.deepEqual([res.lat, res.lng], [lat, lng]);
  const mine = res.stores.filter((s) => [first.id, second.id, far.id].includes(s.id));
  assert.deepEqual(mine.map((s) => s.id), [first.id, second.id], JSON.stringify(res.stores));
  for (const s of mine) {
    const want = haversine(lat, lng, s.lat, s.lng);
    assert.ok(Math.abs(s.distance_m - want) <= Math.max(1, want * 0.005), s.id + ': ' + s.distance_m + ' m, want ' + want);
  }
  const sent = k.calls.request.find((r) => new URL(r.url).pathname === '/stores');
  const q = new URL(sent.url).searchParams;
  assert.equal(q.get('radius_m'), '5000');
  assert.equal(Number(q.get('lat')), lat);
});

test('nearby: a refused location rejects with location_denied and asks the server nothing', async () => {
  const k = kit(); // no location: "getLocation:fail auth deny"
  await assert.rejects(k.client.stores.nearby(), (e) => {
    assert.ok(e instanceof MinifnError);
    assert.equal(e.code, 'location_denied');
    return true;
  });
  assert.equal(k.calls.request.length, 0);
  // The whole list still answers, without a location.
  const all = await k.client.stores.list();
  assert.ok(Array.isArray(all.stores));
});

test('scan-and-go: barcode → product → paid order in the store → exit pass verified once at the door', async () => {
  const store = await newStore(31.2304, 121.4737);
  const barcode = freshBarcode();
  const sku = 'kit-scan-' + run;
  const p = await admin(dev, 'POST', '/products', { sku, title: 'Oat milk', price: 1290, stock: 5, barcode });
  assert.equal(p.status, 201, JSON.stringify(p.body));

  const k = kit({ scanned: () => ({ result: barcode, scanType: 'EAN_13' }) });
  const read = await k.client.scanAndGo.scan();
  assert.deepEqual(k.calls.scanCode[0].scanType, ['barCode']);
  assert.equal(read.code, barcode);
  assert.equal(read.product.sku, sku);
  // A code whose check digit is wrong: 400 from the server.
  const wrong = barcode.slice(0, 12) + ((Number(barcode[12]) + 1) % 10);
  await assert.rejects(k.client.scanAndGo.product(wrong), (e) => e.status === 400);
  // The scanner closed: null, nothing asked.
  const closed = kit();
  assert.equal(await closed.client.scanAndGo.scan(), null);

  const paid = await k.client.scanAndGo.pay(store.id, [{ sku, quantity: 2 }]);
  assert.equal(paid.status, 'paid');
  assert.equal(paid.order.store_id, store.id);
  assert.equal(paid.order.fulfillment, 'scan_and_go');
  assert.equal(paid.order.total, 2580);

  const pass = await k.client.scanAndGo.exitPass(paid.order.id);
  assert.match(pass.image, /^data:image\/png;base64,iVBORw0KGgo/);
  assert.ok(pass.code, 'the pass carries its code');
  assert.ok(Date.parse(pass.expires_at) > Date.now(), pass.expires_at);
  // A newer pass voids the older one.
  const again = await k.client.scanAndGo.exitPass(paid.order.id);
  assert.notEqual(again.code, pass.code);

  const old = await admin(dev, 'POST', '/exit-passes/verify', { code: pass.code });
  assert.ok(old.status >= 400 && old.status < 500, JSON.stringify(old.body));
  const ok = await admin(dev, 'POST', '/exit-passes/verify', { code: again.code });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.order_id, paid.order.id);
  assert.deepEqual(ok.body.items.map((i) => [i.sku, i.quantity]), [[sku, 2]]);
  const twice = await admin(dev, 'POST', '/exit-passes/verify', { code: again.code });
  assert.equal(twice.status, 409, JSON.stringify(twice.body));
  assert.equal(twice.body.error.code, 'already_exited');
  // Let out: no new pass.
  await assert.rejects(k.client.scanAndGo.exitPass(paid.order.id), (e) => e.status === 409 && e.code === 'already_exited');
});

test('table order: a table code\'s scene gives the store and table; the order lands in the store\'s queue', async () => {
  const store = await newStore(39.9042, 116.4074);
  const sku = 'kit-dish-' + run;
  assert.equal((await admin(dev, 'POST', '/products', { sku, title: 'Dumplings', price: 2800 })).status, 201);
  const code = await admin(dev, 'POST', '/qrcode', { page: 'pages/table/index', params: { store_id: store.id, table: 'A7' }, check_path: false });
  assert.equal(code.status, 200, JSON.stringify(code.body));
  const scene = code.headers.get('x-minifn-scene');
  assert.ok(scene);

  const k = kit();
  // WeChat passes the scene URL-encoded in the page's onLoad options.
  const at = await k.client.table.fromScene({ scene: encodeURIComponent(scene) });
  assert.deepEqual(at, { scene, storeId: store.id, table: 'A7' });
  assert.equal(await k.client.table.fromScene({}), null);
  const res = await k.client.table.pay(at, [{ sku, quantity: 3 }]);
  assert.equal(res.status, 'paid');
  assert.equal(res.order.store_id, store.id);
  assert.equal(res.order.table, 'A7');
  const sent = k.calls.request.find((r) => r.method === 'POST' && new URL(r.url).pathname === '/orders');
  assert.deepEqual(sent.data, { store_id: store.id, table: 'A7', scene, items: [{ sku, quantity: 3 }] });

  const queue = await admin(dev, 'GET', '/stores/' + store.id + '/queue');
  assert.equal(queue.status, 200, JSON.stringify(queue.body));
  assert.ok(queue.body.queue.some((q) => q.order_id === res.order.id && q.table === 'A7' && q.status === 'new'),
    JSON.stringify(queue.body));
  assert.equal((await k.client.order(res.order.id)).order.table_status, 'new');
});

// cstDay is a day in China Standard Time (the stores' local time), days from today.
function cstDay(days) {
  return new Date(Date.now() + 8 * 3600 * 1000 + days * 86400 * 1000).toISOString().slice(0, 10);
}

test('bookings: a day\'s slots, a booking takes seats (never over the capacity), cancel gives them back', async () => {
  const store = await newStore(23.1291, 113.2644);
  const day = cstDay(2);
  const set = await admin(dev, 'PUT', '/stores/' + store.id + '/slots', { date: day,
    slots: [{ start: '11:30', end: '13:00', capacity: 5 }, { start: '18:00', end: '20:00', capacity: 8 }] });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const a = kit({ subscribe: 'accept' });
  const b = kit();
  const { slots } = await a.client.bookings.slots(store.id, day);
  assert.deepEqual(slots.map((s) => [s.slot, s.available]), [[day + 'T11:30', 5], [day + 'T18:00', 8]]);

  const sub = await a.client.subscribe(['tmpl-booking-reminder']);
  assert.deepEqual(a.calls.requestSubscribeMessage, [['tmpl-booking-reminder']]);
  assert.ok(sub && sub.credits, JSON.stringify(sub));
  const sent = a.calls.request.find((r) => new URL(r.url).pathname === '/me/subscriptions');
  assert.deepEqual(sent.data, { results: { 'tmpl-booking-reminder': 'accept' } });

  const { booking } = await a.client.bookings.book(store.id, day + 'T11:30', 4);
  assert.deepEqual([booking.store_id, booking.slot, booking.party_size, booking.status], [store.id, day + 'T11:30', 4, 'booked']);
  await assert.rejects(b.client.bookings.book(store.id, day + 'T11:30', 2), (e) => e.status === 409 && e.code === 'slot_full');
  assert.equal((await b.client.bookings.slots(store.id, day)).slots[0].available, 1);
  const mine = await a.client.bookings.list();
  assert.ok(mine.bookings.some((x) => x.id === booking.id));
  assert.equal((await a.client.bookings.get(booking.id)).booking.status, 'booked');
  // Another user's booking is not theirs to cancel.
  await assert.rejects(b.client.bookings.cancel(booking.id), (e) => e.status >= 400 && e.status < 500);
  const cancelled = await a.client.bookings.cancel(booking.id);
  assert.equal(cancelled.booking.status, 'cancelled');
  assert.equal((await b.client.bookings.slots(store.id, day)).slots[0].available, 5);
  const now = await b.client.bookings.book(store.id, day + 'T11:30', 2);
  assert.equal(now.booking.status, 'booked');
});
