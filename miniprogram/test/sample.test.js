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
async function runtime(user, hooks) {
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
    id: 'config', filename: path.join(sample, 'config.js'), loaded: true, exports: { baseURL: dev.url },
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
