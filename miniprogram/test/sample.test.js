// Tests of the sample Mini-Program: its pages run in a tiny stand-in of the
// Mini-Program runtime (App, Page, getApp, setData) against `minifn dev`,
// through the same wx shim as the kit's tests.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { createWx } = require('./wx-shim.js');
const { startDev, admin } = require('./devserver.js');

const sample = path.resolve(__dirname, '..', 'sample');

test('the sample carries the kit unchanged', () => {
  const kit = fs.readFileSync(path.join(__dirname, '..', 'lib', 'minifn.js'), 'utf8');
  const copy = fs.readFileSync(path.join(sample, 'lib', 'minifn.js'), 'utf8');
  // A Mini-Program cannot require files outside its root, so the sample has a copy.
  assert.ok(kit === copy, 'run: cp miniprogram/lib/minifn.js miniprogram/sample/lib/minifn.js');
});

test('every page in app.json has its files', () => {
  const app = JSON.parse(fs.readFileSync(path.join(sample, 'app.json'), 'utf8'));
  for (const p of app.pages) {
    for (const ext of ['.js', '.wxml', '.json']) assert.ok(fs.existsSync(path.join(sample, p + ext)), p + ext);
  }
  for (const t of app.tabBar.list) assert.ok(app.pages.includes(t.pagePath), t.pagePath);
});

let dev;
test.before(async () => { dev = await startDev(); });
test.after(() => dev && dev.stop());

// runtime loads the sample as the Mini-Program runtime would, for one user,
// and returns page(name) to instantiate a page.
async function runtime(user, hooks, config) {
  const shim = createWx(dev.url, user, hooks);
  const toasts = [];
  const navigations = [];
  Object.assign(shim.wx, {
    showToast: (o) => toasts.push(o.title),
    navigateTo: (o) => navigations.push(o.url),
    stopPullDownRefresh: () => {},
  });
  const g = { wx: shim.wx };
  for (const k of Object.keys(require.cache)) if (k.startsWith(sample)) delete require.cache[k];
  require.cache[path.join(sample, 'config.js')] = {
    id: 'config', filename: path.join(sample, 'config.js'), loaded: true, exports: Object.assign({ baseURL: dev.url }, config),
  };
  let appObj;
  const pages = {};
  globalThis.wx = g.wx;
  globalThis.App = (o) => { appObj = o; };
  globalThis.getApp = () => appObj;
  globalThis.Page = (o) => { pages.current = o; };
  require(path.join(sample, 'app.js'));
  appObj.onLaunch({ scene: 1001, query: {} });
  await appObj.launched;
  function page(name) {
    require(path.join(sample, 'pages', name, 'index.js'));
    const def = pages.current;
    const inst = Object.assign({}, def, { data: JSON.parse(JSON.stringify(def.data)) });
    for (const k of Object.keys(def)) if (def[k] && typeof def[k] === 'object' && k !== 'data') inst[k] = {};
    inst.setData = (d) => Object.assign(inst.data, d);
    return inst;
  }
  return { page, toasts, navigations, shim, app: appObj };
}

function tap(dataset) {
  return { currentTarget: { dataset } };
}

test('campaigns: claim, then the coupon and its QR code under My coupons', async () => {
  const c = await admin(dev, 'POST', '/campaigns', { title: 'Sample 5 off', discount: { amount_off: 500 },
    stock: 3, valid_days: 7 });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const rt = await runtime('sample-' + Date.now());
  assert.equal(rt.shim.calls.login, 1, 'logged in at launch');
  const campaigns = rt.page('campaigns');
  await campaigns.onLoad({});
  const shown = campaigns.data.campaigns.find((x) => x.id === c.body.campaign.id);
  assert.ok(shown, 'the new campaign is listed: ' + JSON.stringify(rt.toasts) + JSON.stringify(campaigns.data));
  assert.equal(shown.offer, '¥5.00 off');
  await campaigns.claim(tap({ id: c.body.campaign.id }));
  assert.deepEqual(rt.toasts, ['Claimed']);
  assert.equal(campaigns.data.campaigns.find((x) => x.id === c.body.campaign.id).remaining, 2);

  const coupons = rt.page('coupons');
  await coupons.onShow();
  assert.equal(coupons.data.coupons.length, 1);
  await coupons.show(tap({ id: coupons.data.coupons[0].id }));
  assert.match(coupons.data.qr, /^data:image\/png;base64,iVBORw0KGgo/);

  // Sold out: the API's message reaches the user.
  await campaigns.claim(tap({ id: c.body.campaign.id }));
  await campaigns.claim(tap({ id: c.body.campaign.id }));
  await campaigns.claim(tap({ id: c.body.campaign.id }));
  assert.ok(rt.toasts.length >= 2);
  assert.notEqual(rt.toasts.at(-1), 'Claimed');
});

test('shop: buy pays through wx.requestPayment and opens the paid order', async () => {
  const sku = 'sample-' + Date.now();
  assert.equal((await admin(dev, 'POST', '/products', { sku, title: 'Sample tea', price: 990, stock: 3 })).status, 201);
  const rt = await runtime('buyer-' + Date.now());
  const shop = rt.page('shop');
  await shop.onShow();
  assert.ok(shop.data.products.some((p) => p.sku === sku && p.shown === '¥9.90'));
  await shop.buy(tap({ sku }));
  assert.equal(rt.shim.calls.requestPayment, 1);
  assert.equal(rt.navigations.length, 1, JSON.stringify(rt.toasts));
  const id = /id=(.+)$/.exec(rt.navigations[0])[1];
  const order = rt.page('order');
  await order.onLoad({ id });
  await order.onShow();
  assert.equal(order.data.order.totalShown, '¥9.90');
  // The kit's pay waited for WeChat Pay's notify, which the emulator sends at once.
  assert.equal(order.data.order.status, 'paid');
});

test('points: a scanned code credits the balance once', async () => {
  const minted = await admin(dev, 'POST', '/points/codes', { points: 30, count: 1 });
  assert.equal(minted.status, 201, JSON.stringify(minted.body));
  const code = minted.body.codes[0];
  const rt = await runtime('points-' + Date.now(), { scanned: () => code });
  const pts = rt.page('points');
  await pts.onShow();
  await pts.scan();
  assert.equal(pts.data.balance, 30);
  assert.deepEqual(rt.toasts, ['+30 points']);
  await pts.scan();
  assert.equal(pts.data.balance, 30);
  assert.equal(rt.toasts.length, 2, 'the second scan shows the API error');
});

test('wallet: the plans, a top-up paid through wx.requestPayment, the balance and ledger', async () => {
  const plan = await admin(dev, 'POST', '/topup-plans', { amount: 2000, bonus: 200 }, { 'Idempotency-Key': 'sample-plan-' + Date.now() });
  assert.equal(plan.status, 201, JSON.stringify(plan.body));
  const rt = await runtime('wallet-' + Date.now());
  const w = rt.page('wallet');
  await w.onShow();
  assert.equal(w.data.balance, '¥0.00', JSON.stringify(rt.toasts));
  const shown = w.data.plans.find((p) => p.id === plan.body.plan.id);
  assert.equal(shown && shown.shown, 'Pay ¥20.00, get ¥22.00');
  await w.topUp(tap({ id: plan.body.plan.id }));
  assert.equal(rt.shim.calls.requestPayment, 1);
  assert.deepEqual(rt.toasts, ['Topped up']);
  assert.deepEqual([w.data.balance, w.data.principal, w.data.bonus], ['¥22.00', '¥20.00', '¥2.00']);
  assert.deepEqual(w.data.ledger.map((e) => [e.label, e.shown]), [['Top-up', '+¥22.00']]);
});

test('gift cards: the share carries the send token to the claim page, which posts it to POST /giftcards/claim', async () => {
  const rt = await runtime('gift-' + Date.now());
  const gift = rt.page('gift');
  // Before a send is prepared the share opens the wallet, never a claim page.
  assert.equal(gift.onShareAppMessage().path, '/pages/wallet/index');
  gift.setData({ sending: { id: 'g1', token: 'tok/en+1' } });
  const share = gift.onShareAppMessage();
  assert.equal(share.path, '/pages/claim/index?token=tok%2Fen%2B1');

  // The friend opens the path: onLoad gets its query, Claim posts the token.
  const claim = rt.page('claim');
  claim.onLoad({ token: /token=([^&]+)/.exec(share.path)[1] });
  assert.equal(claim.data.token, 'tok/en+1');
  await claim.claim();
  const sent = rt.shim.calls.request.filter((r) => r.url.endsWith('/giftcards/claim'));
  assert.equal(sent.length, 1);
  assert.equal(sent[0].method, 'POST');
  assert.deepEqual(sent[0].data, { token: 'tok/en+1' });
  assert.ok(sent[0].header['Idempotency-Key'], 'the claim carries an Idempotency-Key');
  // A token the server does not know: its refusal reaches the user.
  assert.equal(claim.data.giftcard, null);
  assert.ok(claim.data.error, 'the API message is shown');
  assert.equal(rt.toasts.at(-1), claim.data.error);
});

// The location APIs WeChat wants declared in app.json's requiredPrivateInfos
// before they work (the 2022-07-14 announcement: eight APIs; the fuzzy one
// and the precise ones exclusive), and the scope each needs.
const LOCATION_APIS = ['getFuzzyLocation', 'getLocation', 'onLocationChange', 'startLocationUpdate',
  'startLocationUpdateBackground', 'chooseAddress', 'choosePoi', 'chooseLocation'];

test('app.json declares the location API the sample calls, its scope description, and at most 5 tabs', () => {
  const app = JSON.parse(fs.readFileSync(path.join(sample, 'app.json'), 'utf8'));
  const used = new Set();
  (function walk(dir) {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (f.endsWith('.js')) for (const m of fs.readFileSync(f, 'utf8').matchAll(/\bwx\.(\w+)\b/g)) used.add(m[1]);
    }
  })(sample);
  const calls = LOCATION_APIS.filter((a) => used.has(a));
  assert.deepEqual(calls, ['getLocation'], 'the sample (its kit copy included) calls wx.getLocation');
  assert.deepEqual((app.requiredPrivateInfos || []).slice().sort(), calls.slice().sort());
  assert.ok(!(app.requiredPrivateInfos.includes('getFuzzyLocation') && app.requiredPrivateInfos.some((a) => a !== 'getFuzzyLocation' && LOCATION_APIS.slice(1, 5).includes(a))),
    'fuzzy and precise location are exclusive');
  assert.ok(app.permission && app.permission['scope.userLocation'] && app.permission['scope.userLocation'].desc,
    'wx.getLocation needs scope.userLocation: its description is shown when it is asked');
  assert.ok(app.tabBar.list.length >= 2 && app.tabBar.list.length <= 5, 'a tabBar has 2 to 5 tabs');
});

let storeSeq = 0;
async function newStore(lat, lng) {
  const n = ++storeSeq;
  const r = await admin(dev, 'POST', '/stores', { name: 'Sample store ' + Date.now() + '-' + n, address: n + ' Sample Street', lat, lng },
    { 'Idempotency-Key': 'sample-store-' + Date.now() + '-' + n });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.store;
}

test('stores: the stores near the user with their distance; a refused location lists all stores', async () => {
  const lat = 23 + Math.random() * 6;
  const lng = 106 + Math.random() * 12;
  const near = await newStore(lat + 0.003, lng); // ~330 m
  const rt = await runtime('stores-' + Date.now(), { location: () => ({ latitude: lat, longitude: lng }) });
  const page = rt.page('stores');
  await page.onLoad({});
  assert.equal(page.data.located, true, JSON.stringify(rt.toasts));
  assert.deepEqual(rt.shim.calls.getLocation, [{ type: 'gcj02' }], 'located once, in GCJ-02');
  const shown = page.data.stores.find((s) => s.id === near.id);
  assert.ok(shown, JSON.stringify(page.data.stores));
  assert.match(shown.distanceShown, /^3[23]\d m$/);
  assert.equal(page.data.stores[0].id, near.id, 'nearest first');
  page.book({ currentTarget: { dataset: { id: near.id } } });
  assert.deepEqual(rt.navigations, ['/pages/booking/index?store=' + encodeURIComponent(near.id)]);

  const denied = await runtime('stores-denied-' + Date.now());
  const all = denied.page('stores');
  await all.onLoad({});
  assert.equal(all.data.located, false);
  assert.match(all.data.note, /Location off/);
  assert.ok(all.data.stores.length >= 1);
  assert.ok(all.data.stores.every((s) => s.distanceShown === ''));
  assert.deepEqual(denied.toasts, [], 'a refused location is no error');
});

test('scan & go: scan a barcode, pay, and the exit pass the door verifies', async () => {
  const store = await newStore(30.5728, 104.0668);
  let sum = 0;
  const twelve = ('6' + Date.now().toString()).slice(0, 12);
  for (let i = 0; i < 12; i++) sum += Number(twelve[i]) * (i % 2 ? 3 : 1);
  const barcode = twelve + ((10 - (sum % 10)) % 10);
  const sku = 'sample-scan-' + Date.now();
  const p = await admin(dev, 'POST', '/products', { sku, title: 'Green tea', price: 450, stock: 10, barcode });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const rt = await runtime('scan-' + Date.now(), { scanned: () => ({ result: barcode, scanType: 'EAN_13' }) });
  const page = rt.page('scan');
  await page.onLoad({ store: encodeURIComponent(store.id) });
  assert.equal(page.data.store.id, store.id);
  await page.scan();
  await page.scan();
  assert.deepEqual(page.data.basket.map((l) => [l.sku, l.quantity, l.shown]), [[sku, 2, '¥9.00']]);
  assert.equal(page.data.totalShown, '¥9.00');
  await page.pay();
  assert.deepEqual(rt.toasts, []);
  assert.equal(page.data.order.store_id, store.id);
  assert.equal(page.data.order.fulfillment, 'scan_and_go');
  assert.match(page.data.pass, /^data:image\/png;base64,/);
  assert.ok(page.data.passCode);
  const v = await admin(dev, 'POST', '/exit-passes/verify', { code: page.data.passCode });
  assert.equal(v.status, 200, JSON.stringify(v.body));
  assert.deepEqual(v.body.items.map((i) => [i.sku, i.quantity]), [[sku, 2]]);
});

test('table: the page a table code opens reads its scene, orders for that table and follows it', async () => {
  const store = await newStore(34.3416, 108.9398);
  const sku = 'sample-dish-' + Date.now();
  assert.equal((await admin(dev, 'POST', '/products', { sku, title: 'Noodles', price: 1800 })).status, 201);
  const code = await admin(dev, 'POST', '/qrcode', { page: 'pages/table/index', params: { store_id: store.id, table: '12' }, check_path: false });
  assert.equal(code.status, 200, JSON.stringify(code.body));
  const scene = code.headers.get('x-minifn-scene');
  const rt = await runtime('table-' + Date.now());
  const page = rt.page('table');
  await page.onLoad({ scene: encodeURIComponent(scene) });
  assert.deepEqual(rt.toasts, []);
  assert.equal(page.data.store.id, store.id);
  assert.equal(page.data.at.table, '12');
  page.add({ currentTarget: { dataset: { sku } } });
  page.add({ currentTarget: { dataset: { sku } } });
  assert.equal(page.data.totalShown, '¥36.00');
  await page.pay();
  page.onUnload();
  assert.deepEqual(rt.toasts, []);
  assert.equal(page.data.order.table, '12');
  assert.equal(page.data.order.store_id, store.id);
  assert.equal(page.data.order.status, 'paid');
  // Opened without a code: the page says so.
  const bare = rt.page('table');
  await bare.onLoad({});
  assert.match(rt.toasts.at(-1), /Scan the code on your table/);
});

test('booking: the day\'s slots with seats left, Book, my bookings, Cancel', async () => {
  const store = await newStore(29.563, 106.5516);
  const day = new Date(Date.now() + 8 * 3600 * 1000 + 3 * 86400 * 1000).toISOString().slice(0, 10);
  const set = await admin(dev, 'PUT', '/stores/' + store.id + '/slots', { date: day, slots: [{ start: '12:00', end: '13:30', capacity: 4 }] });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const rt = await runtime('booker-' + Date.now(), { subscribe: 'accept' }, { bookingReminderTemplate: 'tmpl-booking-reminder' });
  const page = rt.page('booking');
  await page.onLoad({ store: encodeURIComponent(store.id), date: day });
  assert.deepEqual(rt.toasts, []);
  assert.equal(page.data.store.id, store.id);
  assert.deepEqual(page.data.slots.map((s) => [s.slot, s.left, s.full]), [[day + 'T12:00', 4, false]]);
  page.party({ detail: { value: '3' } });
  await page.book({ currentTarget: { dataset: { id: day + 'T12:00' } } });
  assert.deepEqual(rt.toasts, ['Booked']);
  // The reminder's subscribe message was asked for once, before the
  // booking, and the answer reported to the server.
  assert.deepEqual(rt.shim.calls.requestSubscribeMessage, [['tmpl-booking-reminder']]);
  const reported = rt.shim.calls.request.filter((r) => new URL(r.url).pathname === '/me/subscriptions');
  assert.deepEqual(reported.map((r) => r.data), [{ results: { 'tmpl-booking-reminder': 'accept' } }]);
  const booked = rt.shim.calls.request.findIndex((r) => r.method === 'POST' && new URL(r.url).pathname === '/bookings');
  assert.ok(rt.shim.calls.request.indexOf(reported[0]) < booked, 'asked before booking');
  assert.deepEqual(page.data.slots.map((s) => s.left), [1]);
  assert.equal(page.data.mine.length, 1);
  assert.deepEqual([page.data.mine[0].day, page.data.mine[0].time, page.data.mine[0].party_size], [day, '12:00–13:30', 3]);
  // Two more people than seats left: the API's refusal, nothing booked.
  await page.book({ currentTarget: { dataset: { id: day + 'T12:00' } } });
  assert.equal(rt.shim.calls.requestSubscribeMessage.length, 1, 'asked once per page');
  assert.equal(rt.toasts.length, 2);
  assert.notEqual(rt.toasts[1], 'Booked');
  assert.equal(page.data.mine.length, 1);
  await page.cancel({ currentTarget: { dataset: { id: page.data.mine[0].id } } });
  assert.equal(rt.toasts.at(-1), 'Cancelled');
  assert.deepEqual(page.data.mine, []);
  assert.deepEqual(page.data.slots.map((s) => s.left), [4]);
});
