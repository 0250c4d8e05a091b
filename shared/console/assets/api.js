// api.js: calls to minifn's API with the admin token, and to the dev
// emulators. Errors become APIError carrying the API's own code and message.
//
// Paths are written as the contract names them ('/campaigns') and sent
// relative to the API's root, the folder above the console's own (this file
// is <root>/admin/api.js): behind a gateway stage or any path prefix
// (https://host/release/admin/) the calls keep it (/release/campaigns).
// cmd/minifn/console_gateway_test.go routes every call through the deploy
// files' routes, and e2e/console.test.js runs the console under a prefix.

const TOKEN = 'minifn.admin-token';

const root = new URL('../', import.meta.url);

// url turns a contract path ('/orders?status=paid') into the URL to fetch,
// under the API's root.
export function url(path) {
  return new URL(path.replace(/^\//, ''), root);
}

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN),
  set: (t) => sessionStorage.setItem(TOKEN, t),
  clear: () => sessionStorage.removeItem(TOKEN),
};

// newKey is a fresh Idempotency-Key for one create (kept by the form until
// it succeeds, so that a double click or a retry creates once).
export function newKey() {
  return crypto.randomUUID();
}

async function failure(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  // minifn answers {"error":{"code","message"}}; the Pay emulator {"code","message"}.
  const e = (body && (body.error || body)) || {};
  return new APIError(res.status, e.code || 'http_' + res.status, e.message || res.status + ' ' + res.statusText);
}

// call sends one request and resolves with the JSON body (null for 204).
// opts.auth: 'admin' (default), a user token, or false; opts.key: Idempotency-Key;
// opts.raw: resolve with the Response itself (an image, its headers).
export async function call(method, path, body, opts = {}) {
  const headers = {};
  const auth = opts.auth === undefined ? token.get() : opts.auth;
  if (auth) headers.Authorization = 'Bearer ' + auth;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.key) headers['Idempotency-Key'] = opts.key;
  let res;
  try {
    res = await fetch(url(path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new APIError(0, 'network', 'The server did not answer: ' + err.message);
  }
  if (!res.ok) {
    const e = await failure(res);
    if (e.code === 'idempotency_key_reused') {
      // The form's key went with an earlier submit that was saved, with
      // other values: say so rather than show the API's wording.
      e.message = 'An earlier submit of this form was saved with other values. Reload the page to see it, then submit again.';
    }
    throw e;
  }
  if (opts.raw) return res;
  return res.status === 204 ? null : res.json();
}

// image fetches an image that needs the admin token and returns an object
// URL for an <img> (whose src cannot send the Authorization header).
export async function image(path) {
  const res = await fetch(url(path), { headers: { Authorization: 'Bearer ' + token.get() } });
  if (!res.ok) throw await failure(res);
  return URL.createObjectURL(await res.blob());
}

export const get = (path, opts) => call('GET', path, undefined, opts);
export const post = (path, body, opts) => call('POST', path, body, opts);
export const put = (path, body, opts) => call('PUT', path, body, opts);
export const del = (path, opts) => call('DELETE', path, undefined, opts);

// hasEmulator tells whether this server is `minifn dev` with its emulators,
// whose developer routes live under /_emulator/.
export async function hasEmulator() {
  try {
    const res = await fetch(url('/_emulator/calls'));
    return res.ok && (res.headers.get('Content-Type') || '').includes('json');
  } catch {
    return false;
  }
}
