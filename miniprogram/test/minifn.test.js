// Tests of lib/minifn.js against a running `minifn dev` (see devserver.js),
// through a wx shim whose wx.request is fetch and whose wx.login mints codes
// at the dev server's WeChat emulator.
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
// kit returns a client for a new test user, and the shim's call log.
function kit(hooks, clientOpts) {
  const shim = createWx(dev.url, 'kit-' + process.pid + '-' + (++users), hooks);
  const client = createClient(Object.assign({ baseURL: dev.url, wx: shim.wx, retryDelay: 10 }, clientOpts));
  return Object.assign(shim, { client });
}

async function newCampaign(fields) {
  const r = await admin(dev, 'POST', '/campaigns', Object.assign({
    title: 'kit test ' + Date.now(), discount: { amount_off: 500 }, stock: 10, per_user_limit: 3, valid_days: 30,
  }, fields));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.campaign;
}

test('the first request logs in with wx.login and keeps the token', async () => {
  const k = kit();
  const me = await k.client.me();
  assert.equal(k.calls.login, 1);
  const s = k.client.session();
  assert.ok(s.token, 'token stored');
  assert.equal(me.openid || (me.user && me.user.openid), s.openid);
  await k.client.me();
  await k.client.coupons();
  assert.equal(k.calls.login, 1, 'a stored token is reused');
  const sent = k.calls.request.filter((r) => !r.url.endsWith('/login'));
  assert.ok(sent.every((r) => r.header.Authorization === 'Bearer ' + s.token));
});

test('concurrent first requests share one login', async () => {
  const k = kit();
  await Promise.all([k.client.me(), k.client.coupons(), k.client.me(), k.client.coupons()]);
  assert.equal(k.calls.login, 1);
  assert.equal(k.calls.request.filter((r) => r.url.endsWith('/login')).length, 1);
});

test('a 401 logs in again once and replays the request', async () => {
  const k = kit();
  await k.client.me();
  const old = k.client.session();
  // A token the server refuses (signature no longer valid).
  k.wx.setStorageSync('minifn.session', Object.assign({}, old, { token: old.token.slice(0, -4) + 'AAAA' }));
  const me = await k.client.me();
  assert.ok(me);
  assert.equal(k.calls.login, 2);
  assert.notEqual(k.client.session().token, old.token.slice(0, -4) + 'AAAA');
  const meCalls = k.calls.request.filter((r) => r.url.endsWith('/me'));
  assert.equal(meCalls.length, 3, 'the first /me, the refused one, its replay');
});

test('an expired token is renewed before it is sent', async () => {
  const k = kit();
  await k.client.me();
  const s = k.client.session();
  k.wx.setStorageSync('minifn.session', Object.assign({}, s, { expires_at: new Date(Date.now() - 1000).toISOString() }));
  await k.client.me();
  assert.equal(k.calls.login, 2);
  assert.equal(k.calls.request.filter((r) => r.url.endsWith('/me')).length, 2, 'no request with the stale token');
});

test('a failed login rejects with the API error', async () => {
  const k = kit({ badCode: true });
  await assert.rejects(k.client.me(), (e) => {
    assert.ok(e instanceof MinifnError);
    assert.equal(e.status, 400);
    assert.equal(e.code, 'invalid_code');
    assert.ok(e.message.length > 0);
    return true;
  });
});

test('API errors reject with status, code and message', async () => {
  const k = kit();
  await assert.rejects(k.client.claim('no-such-campaign'), (e) => {
    assert.ok(e instanceof MinifnError);
    assert.equal(e.status, 404);
    assert.equal(e.code, 'campaign_not_found');
    assert.equal(e.message, e.data.error.message);
    return true;
  });
});

test('creates carry an Idempotency-Key; a lost response is retried with the same key', async () => {
  const c = await newCampaign();
  let dropped = 0;
  const k = kit({
    afterResponse: (req, res) => (req.url.endsWith('/coupons/claim') && dropped++ === 0 ? 'drop' : undefined),
  });
  const { coupon } = await k.client.claim(c.id);
  const claims = k.calls.request.filter((r) => r.url.endsWith('/coupons/claim'));
  assert.equal(claims.length, 2, 'one lost answer, one retry');
  assert.ok(claims[0].header['Idempotency-Key'], 'key sent');
  assert.equal(claims[0].header['Idempotency-Key'], claims[1].header['Idempotency-Key']);
  const { coupons } = await k.client.coupons();
  assert.deepEqual(coupons.filter((x) => x.campaign_id === c.id).map((x) => x.id), [coupon.id],
    'the server created one coupon');
  const after = await admin(dev, 'GET', '/campaigns/' + c.id);
  assert.equal(after.body.campaign.remaining, c.remaining - 1);
});

test('the same key from a page (a double tap) replays the first answer', async () => {
  const c = await newCampaign();
  const k = kit();
  const key = k.client.newKey();
  const first = await k.client.request({ method: 'POST', path: '/coupons/claim', data: { campaign_id: c.id },
    idempotencyKey: key, raw: true });
  const second = await k.client.request({ method: 'POST', path: '/coupons/claim', data: { campaign_id: c.id },
    idempotencyKey: key, raw: true });
  assert.equal(first.statusCode, 201);
  assert.equal(second.statusCode, 201);
  assert.equal(second.header['idempotent-replayed'], 'true');
  assert.equal(second.data.coupon.id, first.data.coupon.id);
  const other = await k.client.claim(c.id);
  assert.notEqual(other.coupon.id, first.data.coupon.id, 'a fresh key is a fresh claim');
});

test('couponQR gives a PNG data URL for an <image>', async () => {
  const c = await newCampaign();
  const k = kit();
  const { coupon } = await k.client.claim(c.id);
  const url = await k.client.couponQR(coupon.id, 128);
  assert.match(url, /^data:image\/png;base64,/);
  const png = Buffer.from(url.split(',')[1], 'base64');
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  await assert.rejects(k.client.couponQR('nope'), (e) => e.status === 404 && e.code === 'coupon_not_found');
});

test('network failures of safe requests are retried; a POST without a key is not', async () => {
  let fail = 1;
  const k = kit({ beforeRequest: (r) => (r.url.endsWith('/campaigns') && fail-- > 0 ? 'fail' : undefined) });
  const list = await k.client.campaigns();
  assert.ok(Array.isArray(list.campaigns));
  assert.equal(k.calls.request.filter((r) => r.url.endsWith('/campaigns')).length, 2);

  let failed = 0;
  const k2 = kit({ beforeRequest: (r) => (r.url.endsWith('/coupons/claim') ? (failed++, 'fail') : undefined) });
  await k2.client.me();
  await assert.rejects(k2.client.request({ method: 'POST', path: '/coupons/claim', data: { campaign_id: 'x' },
    idempotencyKey: false }), (e) => e.code === 'network');
  assert.equal(failed, 1, 'not retried: the server might have done it');
});

test('a Mini-Program code scene resolves to its params, and login carries it', async () => {
  const params = { campaign: 'c1', referrer: 'o_referrer_kit' };
  const r = await admin(dev, 'POST', '/qrcode', { page: 'pages/campaigns/index', params, check_path: false });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const scene = r.headers.get('x-minifn-scene');
  assert.ok(scene);
  const k = kit();
  // WeChat hands the page the scene URL-encoded.
  const got = await k.client.resolveScene({ scene: encodeURIComponent(scene) });
  assert.deepEqual(got.params, params);
  const launched = await k.client.onLaunch({ scene: 1047, query: { scene: encodeURIComponent(scene) } });
  assert.equal(launched.scene, scene);
  const loginCall = k.calls.request.find((x) => x.url.endsWith('/login'));
  assert.equal(loginCall.data.scene, scene, 'the launch scene goes with the login');
  const stats = await admin(dev, 'GET', '/attribution');
  assert.equal(stats.status, 200, JSON.stringify(stats.body));
  const row = stats.body.by_scene.find((x) => x.scene === scene);
  assert.ok(row && row.users >= 1, 'the server counted the user under the scene: ' + JSON.stringify(stats.body));
  assert.equal(await k.client.resolveScene({ scene: 1047, query: {} }), null, 'a numeric launch scene is not ours');
});

test('pay: order, wx.requestPayment with the server parameters, then paid', async () => {
  const sku = 'kit-' + Date.now();
  const p = await admin(dev, 'POST', '/products', { sku, title: 'Kit tea', price: 1200, stock: 5 });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const k = kit();
  const res = await k.client.pay({ items: [{ sku, quantity: 2 }] }, { pollDelay: 50, pollTries: 40 });
  assert.equal(k.calls.requestPayment, 1);
  assert.equal(res.status, 'paid');
  assert.equal(res.order.status, 'paid');
  assert.equal(res.order.total, 2400);
  assert.ok(res.order.transaction_id);

  const k2 = kit({ payment: 'cancel' });
  const cancelled = await k2.client.pay({ items: [{ sku, quantity: 1 }] });
  assert.equal(cancelled.status, 'cancelled');
  assert.equal((await k2.client.order(cancelled.order.id)).order.status, 'pending');
});

// newPlan creates a top-up plan as the admin.
async function newPlan(amount, bonus) {
  const r = await admin(dev, 'POST', '/topup-plans', { amount, bonus }, { 'Idempotency-Key': 'kit-plan-' + Date.now() + Math.random() });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.plan;
}

async function newProduct(price) {
  const sku = 'kit-wallet-' + Date.now() + '-' + Math.floor(Math.random() * 1e6);
  const r = await admin(dev, 'POST', '/products', { sku, title: 'Kit tea', price, stock: 10 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return sku;
}

test('wallet: plans, a top-up paid through wx.requestPayment, balance and ledger', async () => {
  const plan = await newPlan(5000, 500);
  const k = kit();
  const { plans } = await k.client.wallet.plans();
  assert.ok(plans.some((p) => p.id === plan.id && p.amount === 5000 && p.bonus === 500), JSON.stringify(plans));
  const before = await k.client.wallet.get();
  assert.equal(before.balance, 0);
  assert.deepEqual(before.ledger, []);

  const res = await k.client.wallet.topUp(plan.id, { pollDelay: 50 });
  assert.equal(k.calls.requestPayment, 1);
  assert.equal(res.status, 'paid', JSON.stringify(res));
  assert.equal(res.topup.plan_id, plan.id);
  const w = await k.client.wallet.get();
  assert.deepEqual([w.balance, w.principal, w.bonus], [5500, 5000, 500]);
  assert.equal(w.ledger.length, 1);
  assert.equal(w.ledger[0].kind, 'topup');
  assert.equal(w.ledger[0].ref, res.topup.out_trade_no);
  assert.equal(w.ledger.reduce((s, e) => s + e.amount, 0), w.balance);
  const { topups } = await k.client.wallet.topups();
  assert.deepEqual(topups.map((t) => [t.out_trade_no, t.status]), [[res.topup.out_trade_no, 'paid']]);
});

test('wallet: a closed payment sheet leaves the top-up pending and the balance untouched', async () => {
  const plan = await newPlan(1000, 0);
  const k = kit({ payment: 'cancel' });
  const res = await k.client.wallet.topUp(plan.id);
  assert.equal(res.status, 'cancelled');
  assert.ok(res.payment && res.payment.paySign);
  assert.equal(res.topup.status, 'pending');
  assert.equal((await k.client.wallet.get()).balance, 0);
});

test('orders with useBalance: covered by the balance (no sheet), then split with WeChat Pay', async () => {
  const plan = await newPlan(3000, 0);
  const k = kit();
  assert.equal((await k.client.wallet.topUp(plan.id, { pollDelay: 50 })).status, 'paid');
  assert.equal(k.calls.requestPayment, 1);

  // ¥20.00 from a ¥30.00 balance: paid at once, no payment sheet.
  const cheap = await k.client.pay({ items: [{ sku: await newProduct(2000), quantity: 1 }] }, { useBalance: true });
  assert.equal(cheap.status, 'paid', JSON.stringify(cheap));
  assert.equal(cheap.order.paid_by_balance, 2000);
  assert.equal(cheap.order.pay_total, 0);
  assert.equal(k.calls.requestPayment, 1, 'no sheet for an order the balance covers');

  // ¥25.00 with ¥10.00 left: ¥10.00 from the balance, ¥15.00 through the sheet.
  const split = await k.client.pay({ items: [{ sku: await newProduct(2500), quantity: 1 }] },
    { useBalance: true, pollDelay: 50 });
  assert.equal(split.status, 'paid', JSON.stringify(split));
  assert.equal(split.order.paid_by_balance, 1000);
  assert.equal(split.order.pay_total, 1500);
  assert.equal(k.calls.requestPayment, 2);
  const sent = k.calls.request.filter((r) => r.url.endsWith('/orders') && r.method === 'POST');
  assert.ok(sent.length === 2 && sent.every((r) => r.data.use_balance === true), 'use_balance sent');

  const w = await k.client.wallet.get();
  assert.equal(w.balance, 0);
  assert.deepEqual(w.ledger.map((e) => e.kind).sort(), ['spend', 'spend', 'topup']);
  assert.equal(w.ledger.reduce((s, e) => s + e.amount, 0), 0);
});
