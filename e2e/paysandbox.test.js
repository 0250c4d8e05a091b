// The WeChat Pay emulator as a sandbox for a client nobody here wrote:
// wechatpay-axios-plugin (npm), pointed at `minifn emulator` (started here
// on a free loopback port, with the merchant's own key, serial and APIv3
// key), in both modes the emulator signs in. Through prepay (JSAPI), query,
// close, refund; every answer verified by the plugin; notifies verified and
// decrypted with its Rsa/AesGcm helpers.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { Wechatpay, Rsa, Formatter, Aes: { AesGcm } } = require('wechatpay-axios-plugin');

const repo = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'minifn-paysandbox-'));
const MCHID = '1900009191';
const APPID = 'wxd678efh567hg6787';
const SERIAL = '3775B6A45ACD588826D15E583A95F5DD12345678';
const APIV3 = crypto.randomBytes(16).toString('hex'); // 32 characters
const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

// The merchant's key pair, as the merchant platform would issue it.
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const merchantKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' });
const merchantPubFile = path.join(tmp, 'merchant-public.pem');
fs.writeFileSync(merchantPubFile, publicKey.export({ type: 'spki', format: 'pem' }));

let bin = process.env.MINIFN_BIN;
if (!bin) {
  bin = path.join(tmp, 'minifn');
  execFileSync('go', ['build', '-o', bin, './cmd/minifn'], { cwd: repo, stdio: 'inherit' });
}

const children = [];
async function startEmulator(mode) {
  const child = spawn(bin, ['emulator', '--addr', '127.0.0.1:0', '--dir', path.join(tmp, mode),
    '--pay-mode', mode, '--pay-mchid', MCHID, '--pay-merchant-public-key', merchantPubFile,
    '--pay-merchant-serial', SERIAL, '--pay-apiv3-key', APIV3], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('minifn emulator printed nothing useful:\n' + out)), 60000);
    child.stdout.on('data', (b) => {
      out += b;
      const m = /on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*public key id (PUB_KEY_ID_\w+), PEM in (\S+);/.exec(out);
      if (m) { clearTimeout(timer); child.stdout.resume(); resolve({ url: m[1], keyID: m[2], keyFile: m[3] }); }
    });
    child.on('exit', (code) => reject(new Error('minifn emulator exited ' + code + ':\n' + out)));
  });
}

// A notify endpoint on loopback: resolves waiters with {headers, body}.
const notifies = [];
let notifyWaiter = null;
const sink = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    notifies.push({ headers: req.headers, body });
    if (notifyWaiter) { notifyWaiter(); notifyWaiter = null; }
    res.writeHead(204).end();
  });
});
async function nextNotify() {
  const deadline = Date.now() + 10000;
  while (notifies.length === 0) {
    if (Date.now() > deadline) throw new Error('no notify arrived');
    await new Promise((r) => { notifyWaiter = r; setTimeout(r, 200); });
  }
  return notifies.shift();
}

let notifyURL;
test.before(async () => {
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  notifyURL = `http://127.0.0.1:${sink.address().port}/pay/notify`;
});
test.after(() => {
  for (const c of children) c.kill('SIGTERM');
  sink.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function client(url, certs, over = {}) {
  return new Wechatpay(Object.assign({ baseURL: url + '/', mchid: MCHID, serial: SERIAL, privateKey: merchantKeyPem, certs }, over));
}

// downloadCertificates fetches /v3/certificates: once unverified (raw),
// decrypting each certificate with the APIv3 key as the plugin's CLI does;
// then again with those certificates, so that the plugin itself verifies the
// answer's signature.
async function downloadCertificates(url) {
  const first = client(url, { any: undefined });
  const { data: raw } = await first.v3.certificates.get({ transformResponse: [(r) => r] });
  const certs = {};
  for (const { serial_no: sn, encrypt_certificate: { nonce, associated_data: aad, ciphertext } } of JSON.parse(raw).data) {
    certs[sn] = AesGcm.decrypt(ciphertext, APIV3, nonce, aad);
  }
  const { data } = await client(url, certs).v3.certificates.get();
  return { certs, list: data.data };
}

// openNotify verifies a notify's signature with certs and decrypts its resource.
function openNotify(n, certs) {
  const h = n.headers;
  const key = certs[h['wechatpay-serial']];
  assert.ok(key, 'notify signed by an unknown serial ' + h['wechatpay-serial']);
  assert.ok(Rsa.verify(Formatter.response(h['wechatpay-timestamp'], h['wechatpay-nonce'], n.body), h['wechatpay-signature'],
    Rsa.from(key, Rsa.KEY_TYPE_PUBLIC)), 'notify signature');
  const env = JSON.parse(n.body);
  const r = env.resource;
  assert.equal(r.algorithm, 'AEAD_AES_256_GCM');
  return { env, resource: JSON.parse(AesGcm.decrypt(r.ciphertext, APIV3, r.nonce, r.associated_data)) };
}

async function controlPay(url, no) {
  const res = await fetch(`${url}/_emulator/pay/${no}?mchid=${MCHID}`, { method: 'POST' });
  assert.equal(res.status, 200, await res.text());
}

async function flow(t, url, wx, certs, tag) {
  const no = 'NODE' + tag + Date.now();
  // time_expire 20 s away: raised to a minute, not refused.
  const expire = new Date(Date.now() + 20000).toISOString().replace(/\.\d+Z$/, '+00:00');
  const { data: prepay } = await wx.v3.pay.transactions.jsapi.post({
    appid: APPID, mchid: MCHID, description: 'Image形象店-深圳腾大-QQ公仔', out_trade_no: no, time_expire: expire,
    notify_url: notifyURL, amount: { total: 100, currency: 'CNY' }, payer: { openid: OPENID },
  });
  assert.match(prepay.prepay_id, /^wx/);

  await controlPay(url, no);
  const paid = openNotify(await nextNotify(), certs);
  assert.equal(paid.env.event_type, 'TRANSACTION.SUCCESS');
  assert.equal(paid.resource.out_trade_no, no);
  assert.equal(paid.resource.trade_state, 'SUCCESS');
  assert.equal(paid.resource.amount.total, 100);

  const { data: q } = await wx.v3.pay.transactions.outTradeNo.$out_trade_no$.get({ params: { mchid: MCHID }, out_trade_no: no });
  assert.equal(q.trade_state, 'SUCCESS');
  assert.equal(q.transaction_id, paid.resource.transaction_id);

  const { data: refund } = await wx.v3.refund.domestic.refunds.post({
    out_trade_no: no, out_refund_no: 'R' + no, reason: '测试', notify_url: notifyURL,
    amount: { refund: 40, total: 100, currency: 'CNY' },
  });
  assert.ok(['PROCESSING', 'SUCCESS'].includes(refund.status), refund.status);
  const refunded = openNotify(await nextNotify(), certs);
  assert.equal(refunded.env.event_type, 'REFUND.SUCCESS');
  assert.equal(refunded.resource.out_refund_no, 'R' + no);
  assert.equal(refunded.resource.amount.refund, 40);

  const open = no + 'C';
  await wx.v3.pay.transactions.jsapi.post({ appid: APPID, mchid: MCHID, description: 'x', out_trade_no: open,
    notify_url: notifyURL, amount: { total: 1 }, payer: { openid: OPENID } });
  const closed = await wx.v3.pay.transactions.outTradeNo.$out_trade_no$.close.post({ mchid: MCHID }, { out_trade_no: open });
  assert.equal(closed.status, 204);
  const { data: q2 } = await wx.v3.pay.transactions.outTradeNo.$out_trade_no$.get({ params: { mchid: MCHID }, out_trade_no: open });
  assert.equal(q2.trade_state, 'CLOSED');
  return no;
}

test('public-key mode: prepay, notify, query, refund, close', async (t) => {
  const emu = await startEmulator('public_key');
  const certs = { [emu.keyID]: fs.readFileSync(emu.keyFile, 'utf8') };
  await flow(t, emu.url, client(emu.url, certs), certs, 'PK');

  // The serial in lower case is the same certificate.
  const lower = client(emu.url, certs, { serial: SERIAL.toLowerCase() });
  const { data } = await lower.v3.pay.transactions.outTradeNo.$out_trade_no$.get({ params: { mchid: MCHID }, out_trade_no: 'NONEXISTENT1' })
    .catch((e) => e.response);
  assert.equal(data.code, 'ORDER_NOT_EXIST');

  // A wrong key: SIGN_ERROR with what the server verified.
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  const bad = client(emu.url, certs, { privateKey: other });
  const err = await bad.v3.pay.transactions.outTradeNo.$out_trade_no$.get({ params: { mchid: MCHID }, out_trade_no: 'NONEXISTENT1' })
    .then(() => null, (e) => e.response);
  assert.equal(err.status, 401);
  assert.equal(err.data.code, 'SIGN_ERROR');
  const si = err.data.detail.sign_information;
  assert.equal(si.method, 'GET');
  assert.equal(si.url, `/v3/pay/transactions/out-trade-no/NONEXISTENT1?mchid=${MCHID}`);
  assert.ok(si.truncated_sign_message.startsWith(`GET\n${si.url}\n`));
  assert.equal(si.sign_message_length, si.truncated_sign_message.length);
});

test('certificate mode: downloaded certificates, rotation', async (t) => {
  const emu = await startEmulator('certificate');
  const { certs, list } = await downloadCertificates(emu.url);
  assert.equal(list.length, 1);
  assert.equal(list[0].encrypt_certificate.associated_data, 'certificate');
  const x = new crypto.X509Certificate(certs[list[0].serial_no]);
  assert.equal(x.serialNumber.toUpperCase(), list[0].serial_no);
  const no = await flow(t, emu.url, client(emu.url, certs), certs, 'CERT');

  // Rotation: the old set no longer verifies answers; downloading again does.
  const res = await fetch(emu.url + '/_emulator/certificates/rotate', { method: 'POST' });
  const { serial_no: rotated } = await res.json();
  const stale = client(emu.url, certs);
  await assert.rejects(stale.v3.pay.transactions.outTradeNo.$out_trade_no$.get({ params: { mchid: MCHID }, out_trade_no: no }),
    (e) => e.message.includes(rotated));
  const again = await downloadCertificates(emu.url);
  assert.equal(Object.keys(again.certs).length, 2);
  assert.ok(again.certs[rotated]);
  await flow(t, emu.url, client(emu.url, again.certs), again.certs, 'ROT');
});
