// minifn.js: the Mini-Program side of minifn's HTTP contract.
//
// One small module, plain CommonJS, so that a Mini-Program (require) and
// node (the tests) load the same file. It does the plumbing every page would
// otherwise repeat:
//
//   - login: wx.login → POST /login, the token kept in storage, one login in
//     flight however many requests wait for it;
//   - one re-login and one replay when the server answers 401 (the token
//     expired or the session secret was rotated);
//   - an Idempotency-Key on every POST (creates), kept across retries, so a
//     retried or double-tapped "claim" or "buy" creates one thing;
//   - retries of network failures, 429 and 5xx for requests that are safe to
//     repeat (GET, PUT, DELETE, and POSTs carrying an Idempotency-Key),
//     honouring Retry-After;
//   - payment: POST /orders, wx.requestPayment with the server's parameters,
//     then the order read back until the server has seen the payment;
//   - scenes: the `scene` of a Mini-Program code resolved by GET /scenes/{scene}.
//   - the wallet (minifn.wallet: balance, ledger, top-ups paid like orders)
//     and gift cards (minifn.giftcards: buy, send, claim), CONTRACT
//     "Membership and wallet";
//   - physical stores, CONTRACT "Stores": nearby stores from wx.getLocation
//     (minifn.stores), scan-and-go (wx.scanCode → product by barcode → an
//     order paid in the store → its exit pass), table orders from a table's
//     Mini-Program code, and bookings (minifn.bookings).
//
// Errors reject with a MinifnError carrying the API's status, code and
// message ({"error":{"code","message"}}), or code "network" when no answer
// came back.
'use strict';

const DEFAULT_STORAGE_KEY = 'minifn.session';

// How long before its expiry a token is renewed instead of sent.
const EXPIRY_MARGIN_MS = 60 * 1000;

class MinifnError extends Error {
  constructor(status, code, message, data) {
    super(message || code);
    this.name = 'MinifnError';
    this.status = status; // 0 when no HTTP answer came back
    this.code = code;
    this.data = data;
  }
}

// newKey returns a fresh Idempotency-Key: 128 random bits in hex. The
// Mini-Program runtime has no crypto.randomUUID; wx.getRandomValues is
// asynchronous, and uniqueness per caller is all the server needs.
function newKey() {
  let s = Date.now().toString(16);
  while (s.length < 44) s += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
  return s.slice(0, 44);
}

// promisify turns a wx.* call taking success/fail callbacks into a promise.
function promisify(fn, opts) {
  return new Promise((resolve, reject) => {
    fn(Object.assign({}, opts, { success: resolve, fail: reject }));
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// header reads a response header whatever its case (wx.request keeps the
// server's spelling).
function header(res, name) {
  const h = res.header || res.headers || {};
  const want = name.toLowerCase();
  for (const k of Object.keys(h)) if (k.toLowerCase() === want) return h[k];
  return undefined;
}

function errorFrom(res) {
  let body = res.data;
  if (body instanceof ArrayBuffer) body = String.fromCharCode.apply(null, new Uint8Array(body));
  if (typeof body === 'string') {
    try { body = JSON.parse(body); } catch (e) { body = null; }
  }
  const e = (body && body.error) || {};
  const err = new MinifnError(res.statusCode, e.code || 'http_' + res.statusCode,
    e.message || 'HTTP ' + res.statusCode, body);
  err.retryAfter = Number(header(res, 'Retry-After')) || 0;
  return err;
}

// retryable tells whether a failed attempt may be repeated.
function retryable(err) {
  return err.status === 0 || err.status === 429 || err.status >= 500;
}

/**
 * createClient returns a client of the minifn API at opts.baseURL.
 *
 * opts.wx          the wx object (default: the global wx)
 * opts.storageKey  where the session is kept (default "minifn.session")
 * opts.retries     extra attempts for retryable failures (default 2)
 * opts.retryDelay  first back-off in ms, doubled each time (default 300)
 * opts.timeout     wx.request timeout in ms (default 10000)
 */
function createClient(opts) {
  opts = opts || {};
  const wx = opts.wx || (typeof globalThis !== 'undefined' ? globalThis.wx : undefined);
  if (!wx) throw new Error('minifn: no wx object');
  if (!opts.baseURL) throw new Error('minifn: baseURL is required');
  const base = opts.baseURL.replace(/\/+$/, '');
  const storageKey = opts.storageKey || DEFAULT_STORAGE_KEY;
  const retries = opts.retries === undefined ? 2 : opts.retries;
  const retryDelay = opts.retryDelay === undefined ? 300 : opts.retryDelay;
  const timeout = opts.timeout || 10000;
  let loggingIn = null; // the login in flight, shared by every waiting request
  let launch = {}; // the launch scene, sent with every login

  function session() {
    try {
      const s = wx.getStorageSync(storageKey);
      return s && s.token ? s : null;
    } catch (e) {
      return null;
    }
  }

  function validSession() {
    const s = session();
    if (!s) return null;
    if (s.expires_at && Date.parse(s.expires_at) - EXPIRY_MARGIN_MS < Date.now()) return null;
    return s;
  }

  // send makes one HTTP exchange; it resolves with the wx.request result
  // for any status and rejects with a MinifnError only when none came back.
  function send(method, path, data, headers, responseType) {
    const h = Object.assign({}, headers);
    if (data !== undefined) h['Content-Type'] = 'application/json';
    return new Promise((resolve, reject) => {
      wx.request({
        url: base + path,
        method,
        data,
        header: h,
        timeout,
        dataType: responseType === 'arraybuffer' ? 'other' : 'json',
        responseType: responseType || 'text',
        success: resolve,
        fail: (e) => reject(new MinifnError(0, 'network', (e && e.errMsg) || 'request failed')),
      });
    });
  }

  async function doLogin() {
    const { code } = await promisify(wx.login, {});
    const body = Object.assign({ code }, launch);
    const res = await send('POST', '/login', body, {});
    if (res.statusCode !== 200) throw errorFrom(res);
    const s = { token: res.data.token, expires_at: res.data.expires_at, openid: res.data.openid };
    wx.setStorageSync(storageKey, s);
    return s;
  }

  /** login trades a fresh wx.login code for a token; concurrent calls share one. */
  function login() {
    if (!loggingIn) {
      loggingIn = doLogin().finally(() => { loggingIn = null; });
    }
    return loggingIn;
  }

  async function ensureSession() {
    return validSession() || login();
  }

  // attempt sends one request with the session token, re-logging in once on
  // 401. It resolves with the response or rejects with a MinifnError.
  async function attempt(method, path, data, headers, auth, responseType) {
    let h = headers;
    if (auth) h = Object.assign({}, headers, { Authorization: 'Bearer ' + (await ensureSession()).token });
    let res = await send(method, path, data, h, responseType);
    if (auth && res.statusCode === 401) {
      wx.removeStorageSync(storageKey);
      const s = await login();
      res = await send(method, path, data, Object.assign({}, headers, { Authorization: 'Bearer ' + s.token }),
        responseType);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    throw errorFrom(res);
  }

  /**
   * request calls the API and resolves with the JSON body (null for 204).
   *
   * o.method (default GET), o.path, o.data (JSON body),
   * o.auth (default true: send the user token),
   * o.idempotencyKey (POST: default a fresh key; false to send none),
   * o.raw (resolve with the whole wx.request result instead of the body),
   * o.responseType ("arraybuffer" for images).
   */
  async function request(o) {
    const method = (o.method || 'GET').toUpperCase();
    const auth = o.auth !== false;
    const headers = Object.assign({}, o.header);
    if (method === 'POST' && o.idempotencyKey !== false) {
      headers['Idempotency-Key'] = o.idempotencyKey || newKey();
    }
    const safe = method !== 'POST' || headers['Idempotency-Key'];
    let delay = retryDelay;
    for (let i = 0; ; i++) {
      try {
        const res = await attempt(method, o.path, o.data, headers, auth, o.responseType);
        return o.raw ? res : res.statusCode === 204 ? null : res.data;
      } catch (err) {
        if (!(err instanceof MinifnError) || !safe || i >= retries || !retryable(err)) throw err;
        await sleep(err.retryAfter > 0 ? Math.min(err.retryAfter, 30) * 1000 : delay);
        delay *= 2;
      }
    }
  }

  /**
   * pay places an order and pays it: POST /orders, wx.requestPayment with
   * the server's parameters, then GET /orders/{id} until the order is no
   * longer pending (the server learns of the payment from WeChat Pay's
   * notify, which may trail the client's success callback).
   *
   * Resolves with {order, status}: status "cancelled" when the user closed
   * the payment sheet (the order stays pending until it expires or is
   * cancelled; the result also holds the payment, for payOrder), else the order's status as last read: "paid", or "pending"
   * when the server had not yet seen the payment when polling stopped.
   */
  //
  // o.useBalance: the wallet pays what it can ("use_balance":true), WeChat
  // Pay the rest; an order the balance covers is paid at once, without the
  // payment sheet.
  async function pay(orderRequest, o) {
    o = o || {};
    const data = o.useBalance ? Object.assign({}, orderRequest, { use_balance: true }) : orderRequest;
    const created = await request({ method: 'POST', path: '/orders', data,
      idempotencyKey: o.idempotencyKey });
    return payOrder(created, o);
  }

  // requestPayment opens WeChat Pay's sheet with the server's parameters;
  // it resolves true when paid, false when the user closed the sheet.
  async function requestPayment(p) {
    try {
      await promisify(wx.requestPayment, {
        timeStamp: p.timeStamp, nonceStr: p.nonceStr, package: p.package,
        signType: p.signType, paySign: p.paySign,
      });
      return true;
    } catch (e) {
      const msg = (e && e.errMsg) || '';
      if (/cancel/.test(msg)) return false;
      throw new MinifnError(0, 'payment_failed', msg || 'wx.requestPayment failed');
    }
  }

  /** payOrder pays an order already created ({order, payment}). */
  async function payOrder(created, o) {
    o = o || {};
    const p = created.payment;
    // Paid with the balance alone: no WeChat Pay part (docs/orders.md).
    if (!p && created.order && created.order.status === 'paid') return { order: created.order, status: 'paid' };
    if (!p) throw new MinifnError(0, 'no_payment', 'the order has no payment parameters');
    // Cancelled: the order stays pending; payOrder(result) opens the sheet again.
    if (!(await requestPayment(p))) return { order: created.order, payment: p, status: 'cancelled' };
    const order = await waitPaid(created.order.id, o);
    return { order, status: order.status };
  }

  // waitLeft reads a thing with read() until its status leaves pending, or
  // gives up (the notify may trail the client's success callback).
  async function waitLeft(read, o) {
    const tries = o.pollTries || 10;
    let wait = o.pollDelay || 500;
    let v;
    for (let i = 0; i < tries; i++) {
      v = await read();
      if (v.status !== 'pending') return v;
      await sleep(wait);
      wait = Math.min(wait * 2, 4000);
    }
    return v;
  }

  /**
   * wallet is the user's stored-value wallet (docs/wallet.md; the server
   * runs with MINIFN_WALLET=on, else 404). get() → {balance, principal,
   * bonus, ledger, next?}; plans() → {plans}; topUp(planId) creates a
   * top-up (POST /wallet/topup), pays it with wx.requestPayment like an
   * order, then reads it back until WeChat Pay's notify credited it:
   * resolves with {topup, status} ("paid", "pending" when polling stopped
   * first, "cancelled" when the sheet was closed: then also the payment,
   * for wallet.payTopUp).
   */
  const wallet = {
    get: (after) => request({ path: '/wallet' + (after ? '?after=' + encodeURIComponent(after) : '') }),
    plans: () => request({ path: '/topup-plans' }),
    topups: () => request({ path: '/wallet/topups' }),
    topup: (no) => request({ path: '/wallet/topups/' + encodeURIComponent(no) }),
    topUp: async (planId, o) => {
      o = o || {};
      const created = await request({ method: 'POST', path: '/wallet/topup', data: { plan_id: planId },
        idempotencyKey: o.idempotencyKey });
      return wallet.payTopUp(created, o);
    },
    payTopUp: async (created, o) => {
      o = o || {};
      if (!(await requestPayment(created.payment))) {
        return { topup: created.topup, payment: created.payment, status: 'cancelled' };
      }
      const topup = await waitLeft(async () => (await wallet.topup(created.topup.out_trade_no)).topup, o);
      return { topup, status: topup.status };
    },
  };

  /**
   * giftcards follows the contract's gift card routes (function
   * `giftcards`): buy(amount, message) creates one and pays it with
   * wx.requestPayment (resolves {giftcard, payment, status: "requested" (the sheet said paid; the server credits it on WeChat Pay's notify) |
   * "cancelled"}); send(id) → {token}, what the share carries;
   * claim(token) → {giftcard}, its value moved to the claimer's wallet;
   * list() → bought, sent and received.
   */
  const giftcards = {
    list: () => request({ path: '/giftcards' }),
    buy: async (amount, message, o) => {
      o = o || {};
      const data = { amount };
      if (message) data.message = message;
      const created = await request({ method: 'POST', path: '/giftcards', data, idempotencyKey: o.idempotencyKey });
      const paid = await requestPayment(created.payment);
      return { giftcard: created.giftcard, payment: created.payment, status: paid ? 'requested' : 'cancelled' };
    },
    send: (id, key) => request({ method: 'POST', path: '/giftcards/' + encodeURIComponent(id) + '/send',
      idempotencyKey: key }),
    claim: (token, key) => request({ method: 'POST', path: '/giftcards/claim', data: { token }, idempotencyKey: key }),
  };

  // pngDataURL fetches an image that needs the user token as a data: URL,
  // for an <image> (whose src cannot carry the Authorization header).
  async function pngDataURL(path) {
    const buf = await request({ path, responseType: 'arraybuffer' });
    return 'data:image/png;base64,' + wx.arrayBufferToBase64(buf);
  }

  /**
   * locate asks wx.getLocation for the phone's position in GCJ-02 (type
   * "gcj02": the coordinates WeChat's maps and wx.openLocation use, and the
   * ones stores are saved in), resolving {lat, lng}. The Mini-Program must
   * declare getLocation in app.json's requiredPrivateInfos and describe
   * scope.userLocation under "permission" (docs/miniprogram.md). A refusal
   * (the user denied the location, or the privacy guide) rejects with code
   * "location_denied"; any other failure with "location_failed".
   */
  async function locate() {
    let res;
    try {
      res = await promisify(wx.getLocation, { type: 'gcj02' });
    } catch (e) {
      const msg = (e && e.errMsg) || 'wx.getLocation failed';
      throw new MinifnError(0, /auth|deny|denied|privacy|permission/i.test(msg) ? 'location_denied' : 'location_failed', msg);
    }
    return { lat: res.latitude, lng: res.longitude };
  }

  /**
   * scanCode opens WeChat's scanner and resolves with what it read
   * ({result, scanType}: "EAN_13", "UPC_A", "QR_CODE", …), or null when the
   * user closed it. o.scanType narrows what it looks for (default
   * ['barCode']: a product's barcode).
   */
  async function scanCode(o) {
    o = o || {};
    try {
      const res = await promisify(wx.scanCode, { onlyFromCamera: o.onlyFromCamera !== false,
        scanType: o.scanType || ['barCode'] });
      return { result: res.result, scanType: res.scanType };
    } catch (e) {
      const msg = (e && e.errMsg) || '';
      if (/cancel/.test(msg)) return null;
      throw new MinifnError(0, 'scan_failed', msg || 'wx.scanCode failed');
    }
  }

  function query(params) {
    const q = Object.keys(params).filter((k) => params[k] !== undefined && params[k] !== null && params[k] !== '')
      .map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(params[k]));
    return q.length ? '?' + q.join('&') : '';
  }

  /**
   * stores are the shop's physical stores (function `stores`).
   * nearby(o) locates the phone (locate()) unless o.lat/o.lng are given and
   * resolves {stores, lat, lng}: the stores within o.radiusM metres
   * (default 5000), nearest first, each with distance_m. list(after?) pages
   * through every store; get(id) → {store}.
   */
  const stores = {
    nearby: async (o) => {
      o = o || {};
      const here = o.lat !== undefined && o.lng !== undefined ? { lat: o.lat, lng: o.lng } : await locate();
      const res = await request({ path: '/stores' + query({ lat: here.lat, lng: here.lng, radius_m: o.radiusM || 5000 }),
        auth: false });
      return Object.assign({}, res, { lat: here.lat, lng: here.lng });
    },
    list: (after) => request({ path: '/stores' + query({ after }), auth: false }),
    get: (id) => request({ path: '/stores/' + encodeURIComponent(id), auth: false }),
  };

  /**
   * scanAndGo is shopping in a store without a till: scan(o) reads a
   * product's barcode (wx.scanCode) and resolves {code, product}, or null
   * when the scanner was closed (a code the server does not know rejects
   * with 404, a malformed one with 400); pay(storeId, items) creates the
   * order ("fulfillment":"scan_and_go") and pays it like pay(); exitPass(id)
   * resolves with the paid order's exit pass, the QR code the door staff
   * scan: {image (a data: URL), code, expires_at}. Each call makes a new
   * pass and voids the previous one; a pass is short-lived and used once,
   * so fetch it when it is to be shown and again after expires_at.
   */
  const scanAndGo = {
    product: (code) => request({ path: '/products/barcode/' + encodeURIComponent(code), auth: false }),
    scan: async (o) => {
      const read = await scanCode(Object.assign({ scanType: ['barCode'] }, o));
      if (!read) return null;
      const code = String(read.result).trim();
      const { product } = await scanAndGo.product(code);
      return { code, product };
    },
    pay: (storeId, items, o) => pay({ store_id: storeId, fulfillment: 'scan_and_go', items }, o),
    exitPass: async (orderId) => {
      const res = await request({ path: '/orders/' + encodeURIComponent(orderId) + '/exit-pass',
        responseType: 'arraybuffer', raw: true });
      return { image: 'data:image/png;base64,' + wx.arrayBufferToBase64(res.data),
        code: header(res, 'X-Minifn-Exit-Pass'), expires_at: header(res, 'X-Minifn-Expires-At') };
    },
  };

  /**
   * table orders: a table's Mini-Program code opens the page with a scene
   * that GET /scenes/{scene} turns into {page, params: {store_id, table}}.
   * fromScene(options) resolves {scene, storeId, table} (null when the page
   * was not opened from a code); pay(at, items, o) places the order for that
   * table and pays it like pay().
   */
  const table = {
    fromScene: async (options) => {
      const resolved = await resolveScene(options);
      if (!resolved || !resolved.params) return null;
      const p = resolved.params;
      const raw = (options.query && options.query.scene) || options.scene;
      return { scene: decodeURIComponent(raw), storeId: p.store_id || p.store, table: p.table };
    },
    pay: (at, items, o) => {
      const data = { store_id: at.storeId, table: at.table, items };
      if (at.scene) data.scene = at.scene;
      return pay(data, o);
    },
  };

  /**
   * bookings (function `bookings`): slots(storeId, date) → {slots} for a day
   * (YYYY-MM-DD); book(storeId, slot, partySize, key?) → {booking} (the seats
   * are taken like stock: 409 slot_full when there are not enough); a slot
   * is {slot: "YYYY-MM-DDTHH:MM" (the store's local time, UTC+8), start, end,
   * capacity, taken, available}; cancel(id) gives the seats back; list(after?)
   * → {bookings, next?}, mine; get(id) → {booking}.
   */
  const bookings = {
    slots: (storeId, date) => request({ path: '/stores/' + encodeURIComponent(storeId) + '/slots' + query({ date }) }),
    book: (storeId, slot, partySize, key) => request({ method: 'POST', path: '/bookings',
      data: { store_id: storeId, slot, party_size: partySize }, idempotencyKey: key }),
    cancel: (id, key) => request({ method: 'POST', path: '/bookings/' + encodeURIComponent(id) + '/cancel',
      idempotencyKey: key }),
    list: (after) => request({ path: '/bookings' + query({ after }) }),
    get: (id) => request({ path: '/bookings/' + encodeURIComponent(id) }),
  };

  /**
   * subscribe asks the user for subscribe messages (wx.requestSubscribeMessage)
   * and reports the answer to POST /me/subscriptions, which banks one credit
   * per "accept" (docs/engagement.md). Resolves with the server's answer, or
   * null when the popup failed (the booking or order goes on without it).
   */
  async function subscribe(tmplIds) {
    let res;
    try {
      res = await promisify(wx.requestSubscribeMessage, { tmplIds });
    } catch (e) {
      return null;
    }
    const results = {};
    for (const id of tmplIds) if (res[id]) results[id] = res[id];
    return request({ method: 'POST', path: '/me/subscriptions', data: { results } });
  }

  // waitPaid reads the order until it leaves pending, or gives up.
  async function waitPaid(id, o) {
    const tries = o.pollTries || 10;
    let wait = o.pollDelay || 500;
    let order;
    for (let i = 0; i < tries; i++) {
      order = (await request({ path: '/orders/' + encodeURIComponent(id) })).order;
      if (order.status !== 'pending') return order;
      await sleep(wait);
      wait = Math.min(wait * 2, 4000);
    }
    return order;
  }

  /**
   * resolveScene returns the params behind a Mini-Program code's scene, or
   * null when there is none. It takes a page's onLoad options (scene in
   * options.scene) or App.onLaunch/onShow options (scene in
   * options.query.scene; options.scene there is WeChat's numeric scene
   * value such as 1047, not ours). WeChat passes the scene URL-encoded.
   */
  async function resolveScene(options) {
    options = options || {};
    let scene = options.query && options.query.scene;
    if (scene === undefined && typeof options.scene === 'string') scene = options.scene;
    if (!scene) return null;
    scene = decodeURIComponent(scene);
    return request({ path: '/scenes/' + encodeURIComponent(scene), auth: false });
  }

  /**
   * onLaunch is App.onLaunch's helper: it resolves the launch scene (if
   * any), remembers it for login (the server keeps a user's first scene and
   * its referrer for attribution), and logs in unless a valid token is
   * stored. Resolves with {scene, params, page, session}.
   */
  async function onLaunch(options) {
    let resolved = null;
    try {
      resolved = await resolveScene(options);
    } catch (e) {
      resolved = null; // an unknown or expired scene must not stop the launch
    }
    if (resolved) {
      // The server takes the referrer from the scene's params itself.
      launch = { scene: decodeURIComponent((options.query && options.query.scene) || options.scene) };
    }
    const s = await ensureSession();
    return { scene: launch.scene, params: resolved && resolved.params, page: resolved && resolved.page, session: s };
  }

  return {
    request,
    get: (path, o) => request(Object.assign({}, o, { method: 'GET', path })),
    post: (path, data, o) => request(Object.assign({}, o, { method: 'POST', path, data })),
    put: (path, data, o) => request(Object.assign({}, o, { method: 'PUT', path, data })),
    del: (path, o) => request(Object.assign({}, o, { method: 'DELETE', path })),
    login,
    logout: () => wx.removeStorageSync(storageKey),
    session,
    onLaunch,
    resolveScene,
    pay,
    payOrder,
    wallet,
    giftcards,
    locate,
    scanCode,
    stores,
    scanAndGo,
    table,
    bookings,
    subscribe,
    newKey,
    // The contract's routes, for pages that prefer names to paths.
    campaigns: () => request({ path: '/campaigns', auth: false }),
    claim: (campaignId, key) => request({ method: 'POST', path: '/coupons/claim',
      data: { campaign_id: campaignId }, idempotencyKey: key }),
    coupons: (status) => request({ path: '/coupons' + (status ? '?status=' + encodeURIComponent(status) : '') }),
    products: () => request({ path: '/products', auth: false }),
    orders: () => request({ path: '/orders' }),
    order: (id) => request({ path: '/orders/' + encodeURIComponent(id) }),
    cancelOrder: (id) => request({ method: 'POST', path: '/orders/' + encodeURIComponent(id) + '/cancel',
      idempotencyKey: false }),
    points: () => request({ path: '/points' }),
    scanPoints: (code, key) => request({ method: 'POST', path: '/points/scan', data: { code }, idempotencyKey: key }),
    redeemReward: (rewardId, key) => request({ method: 'POST', path: '/points/redeem',
      data: { reward_id: rewardId }, idempotencyKey: key }),
    me: () => request({ path: '/me' }),
    // couponQR resolves with a data: URL of the coupon's redemption QR code,
    // for an <image> (whose src cannot carry the Authorization header).
    couponQR: (id, size) => pngDataURL('/coupons/' + encodeURIComponent(id) + '/qr' + (size ? '?size=' + size : '')),
  };
}

module.exports = { createClient, MinifnError, newKey };
