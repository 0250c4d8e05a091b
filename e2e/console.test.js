// Browser tests of the merchant console: Debian's chromium driven by
// playwright-core against `minifn dev` (the one MINIFN_URL names, or one
// started here). Screenshots go to MINIFN_SCREENSHOTS or a fresh temporary
// folder; the first line printed names it.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { startDev, admin } = require('../miniprogram/test/devserver.js');

const shots = process.env.MINIFN_SCREENSHOTS || fs.mkdtempSync(path.join(os.tmpdir(), 'minifn-screenshots-'));
fs.mkdirSync(shots, { recursive: true });
console.log('screenshots: ' + shots);

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let dev;
let context;
let page;
let profile;
let step = 0;

async function shot(name) {
  const file = path.join(shots, String(++step).padStart(2, '0') + '-' + name + '.png');
  await page.screenshot({ path: file, fullPage: true });
}

test.before(async () => {
  dev = await startDev();
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'minifn-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15000);
  // Any script error in the console fails the run.
  page.on('pageerror', (err) => { throw err; });
});

test.after(async () => {
  if (context) await context.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  if (dev) dev.stop();
});

// user logs a test user in through the emulator and returns its token.
async function user(name) {
  const c = await fetch(dev.url + '/_emulator/login-code', { method: 'POST', body: JSON.stringify({ user: name }) }).then((r) => r.json());
  const s = await fetch(dev.url + '/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code: c.code }) }).then((r) => r.json());
  assert.ok(s.token, JSON.stringify(s));
  return { token: s.token, openid: s.openid };
}

async function as(u, method, p, body, key) {
  const res = await fetch(dev.url + p, { method, headers: Object.assign({ Authorization: 'Bearer ' + u.token,
    'Content-Type': 'application/json' }, key ? { 'Idempotency-Key': key } : {}), body: body && JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function served(method, p) {
  const r = await admin(dev, method, p, method === 'GET' ? undefined : {});
  return !(r.status === 404 && r.body && r.body.error && r.body.error.code === 'not_found');
}

async function go(screen) {
  await page.getByRole('link', { name: screen, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: screen }).waitFor();
}

test('sign in: a wrong token shows the API message, the right one opens the console', async () => {
  await page.goto(dev.url + '/admin/');
  await page.getByLabel('Admin token').fill('not-the-admin-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  const api = await admin(Object.assign({}, dev, { adminToken: 'not-the-admin-token' }), 'GET', '/campaigns?all=1');
  assert.match(await alert.textContent(), new RegExp(api.body.error.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await shot('signin-refused');
  await page.getByLabel('Admin token').fill(dev.adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Campaigns' }).waitFor();
  await shot('campaigns-empty');
});

let campaignTitle;
let coupon;

test('create a campaign, and a claim through the API lowers the remaining stock', async () => {
  campaignTitle = 'Grand opening ' + Date.now();
  await page.getByLabel('Title', { exact: true }).fill(campaignTitle);
  await page.getByLabel('Amount (¥) or percent').fill('5');
  await page.getByLabel('Minimum spend (¥)').fill('20');
  await page.getByLabel('Stock').fill('5');
  await page.getByRole('button', { name: 'Create campaign' }).click();
  const row = page.locator('tr', { hasText: campaignTitle });
  await row.waitFor();
  assert.equal((await row.locator('.remaining').textContent()).trim(), '5');
  await shot('campaign-created');

  const id = await row.getAttribute('data-id');
  const u = await user('e2e-claimer-' + Date.now());
  const claim = await as(u, 'POST', '/coupons/claim', { campaign_id: id }, 'e2e-' + Date.now());
  assert.equal(claim.status, 201, JSON.stringify(claim.body));
  coupon = claim.body.coupon;
  await page.waitForFunction((cid) => {
    const el = document.querySelector('tr[data-id="' + cid + '"] .remaining');
    return el && el.textContent.trim() === '4';
  }, id);
  await shot('campaign-claimed');

  // Pause: the API says so, and the badge follows.
  await row.getByRole('button', { name: 'Pause' }).click();
  await row.locator('.badge', { hasText: 'paused' }).waitFor();
  await page.locator('tr', { hasText: campaignTitle }).getByRole('button', { name: 'Resume' }).click();
  await page.locator('tr', { hasText: campaignTitle }).locator('.badge', { hasText: 'active' }).waitFor();
});

test('a bad campaign shows the API error', async () => {
  await page.getByLabel('Title', { exact: true }).fill('Broken');
  await page.getByLabel('Amount (¥) or percent').fill('5');
  await page.getByLabel('Stock').fill('0');
  await page.getByLabel('Stock').evaluate((el) => el.removeAttribute('min')); // let the API judge
  await page.getByRole('button', { name: 'Create campaign' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /stock/);
  assert.match(await alert.textContent(), /invalid_request/);
  await shot('campaign-error');
});

test('redeem a coupon by its code', async () => {
  await go('Redeem');
  await page.getByLabel('Coupon code').fill(coupon.code.toLowerCase());
  await page.getByRole('button', { name: 'Redeem', exact: true }).click();
  const done = page.locator('.redeemed');
  await done.waitFor();
  assert.match(await done.textContent(), /used/);
  await shot('coupon-redeemed');
  await page.getByLabel('Coupon code').fill(coupon.code);
  await page.getByRole('button', { name: 'Redeem', exact: true }).click();
  await page.getByRole('alert').waitFor();
  await shot('coupon-redeemed-twice');
  const mine = await admin(dev, 'POST', '/coupons/redeem', { code: coupon.code });
  assert.equal(mine.status >= 400, true);
  assert.match(await page.getByRole('alert').textContent(), new RegExp(mine.body.error.code));
});

test('products: add one', async () => {
  await go('Products');
  await page.getByLabel('SKU').fill('tea-e2e');
  await page.getByLabel('Title').fill('Jasmine tea');
  await page.getByLabel('Price (¥)').fill('12.50');
  await page.getByLabel(/^Stock/).fill('20');
  await page.getByRole('button', { name: 'Save product' }).click();
  const row = page.locator('tr', { hasText: 'tea-e2e' });
  await row.waitFor();
  assert.match(await row.textContent(), /¥12\.50/);
  await shot('products');
});

test('staff: grant and revoke', async () => {
  await go('Staff');
  const u = await user('e2e-clerk');
  await page.getByLabel('OpenID').fill(u.openid);
  await page.getByRole('button', { name: 'Grant' }).click();
  await page.locator('.log li', { hasText: 'Granted' }).waitFor();
  const redeem = await as(u, 'POST', '/coupons/redeem', { code: 'AAAA-AAAA-AAAA-AAAA' });
  assert.notEqual(redeem.status, 403, 'staff may redeem now');
  await page.getByRole('button', { name: 'Revoke' }).click();
  await page.locator('.log li', { hasText: 'Revoked' }).waitFor();
  assert.equal((await as(u, 'POST', '/coupons/redeem', { code: 'AAAA-AAAA-AAAA-AAAA' })).status, 403);
  await shot('staff');
});

test('emulator: pay a pending order as the user and watch it turn paid', async (t) => {
  if (!(await served('POST', '/orders'))) return t.skip('POST /orders is not served by this minifn dev');
  if (!(await served('GET', '/_emulator/pay/pending'))) return t.skip('the WeChat Pay emulator is not served by this minifn dev');
  const name = 'e2e-buyer-' + Date.now();
  const u = await user(name);
  const created = await as(u, 'POST', '/orders', { items: [{ sku: 'tea-e2e', quantity: 2 }] }, 'e2e-order-' + Date.now());
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.order.id;
  await go('Emulator');
  await page.getByLabel('Test user', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Sign in as this user' }).click();
  const orderRow = page.locator('.test-user[data-user="' + name + '"] tr', { hasText: id });
  await orderRow.locator('.badge', { hasText: 'pending' }).waitFor();
  await shot('emulator-pending');
  await page.getByRole('button', { name: 'Pay ' + created.body.order.out_trade_no }).click();
  await orderRow.locator('.badge', { hasText: 'paid' }).waitFor();
  await shot('emulator-paid');
  assert.equal((await as(u, 'GET', '/orders/' + id)).body.order.status, 'paid');
});

test('emulator: mint a login code for a named user', async (t) => {
  if (!(await served('GET', '/_emulator/calls'))) return t.skip('no emulator');
  if (!(await page.getByRole('link', { name: 'Emulator' }).count())) return t.skip('no emulator link');
  await go('Emulator');
  await page.getByLabel('Test user', { exact: true }).fill('bob');
  await page.getByRole('button', { name: 'Mint login code' }).click();
  const code = (await page.locator('.login-code').textContent()).trim();
  const s = await fetch(dev.url + '/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code }) });
  assert.equal(s.status, 200, 'the minted code logs in');
  await shot('emulator');
});

test('point codes: mint a batch, a printable sheet of QR codes and a CSV', async (t) => {
  if (!(await served('POST', '/points/codes'))) return t.skip('POST /points/codes is not served by this minifn dev');
  await go('Point codes');
  await page.getByLabel('Points per code').fill('25');
  await page.getByLabel('How many codes').fill('8');
  await page.getByRole('button', { name: 'Mint' }).click();
  const imgs = page.locator('.sheet img');
  await imgs.first().waitFor();
  assert.equal(await imgs.count(), 8);
  await page.waitForFunction(() => [...document.querySelectorAll('.sheet img')].every((i) => i.complete && i.naturalWidth > 0));
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
  const csv = fs.readFileSync(await download.path(), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'code,points');
  assert.equal(csv.length, 9);
  const codes = await page.locator('.sheet figcaption').allTextContents();
  assert.ok(codes[0].includes(csv[1].split(',')[0]));
  await shot('points-sheet');
  await page.emulateMedia({ media: 'print' });
  await shot('points-sheet-print');
  await page.emulateMedia({ media: 'screen' });
  // The printed code works once.
  const u = await user('e2e-scanner');
  const scan = await as(u, 'POST', '/points/scan', { code: csv[1].split(',')[0] });
  assert.equal(scan.status, 200, JSON.stringify(scan.body));
  assert.equal(scan.body.earned, 25);
});

test('attribution: by scene and by referrer', async (t) => {
  if (!(await served('GET', '/attribution'))) return t.skip('GET /attribution is not served by this minifn dev');
  const code = await admin(dev, 'POST', '/qrcode', { page: 'pages/campaigns/index', params: { campaign: 'x' }, check_path: false });
  if (code.status === 200) {
    const scene = code.headers.get('x-minifn-scene');
    const c = await fetch(dev.url + '/_emulator/login-code', { method: 'POST', body: JSON.stringify({ user: 'e2e-visitor' }) }).then((r) => r.json());
    const login = await fetch(dev.url + '/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: c.code, scene }) });
    assert.equal(login.status, 200);
  }
  await go('Attribution');
  await page.getByRole('heading', { name: 'By scene' }).waitFor();
  if (code.status === 200) await page.locator('.chart .bar-users').first().waitFor();
  await shot('attribution');
});

test('orders: filter by status and open one', async (t) => {
  const all = await admin(dev, 'GET', '/orders?all=1');
  if (all.status !== 200) return t.skip('GET /orders?all=1 (admin) answers ' + all.status + ': ' + JSON.stringify(all.body));
  await go('Orders');
  await page.getByLabel('Status').selectOption('paid');
  await shot('orders');
});
