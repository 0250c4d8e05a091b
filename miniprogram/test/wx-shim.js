// wx-shim.js: the few wx.* APIs that minifn.js uses, for node.
//
// wx.request is fetch; wx.login mints a code for a named test user at the
// WeChat emulator of `minifn dev` (POST /_emulator/login-code); storage is
// a Map; wx.requestPayment asks the WeChat Pay emulator to pay the prepay
// it was given ("the user pays now"), as the real sheet would after the
// user confirms. Hooks let tests drop responses or fail the payment sheet,
// and say where the phone is (wx.getLocation), what the camera reads
// (wx.scanCode) and what the user answers to a subscribe popup.
'use strict';

function createWx(base, user, hooks) {
  hooks = hooks || {};
  const storage = new Map();
  const calls = { login: 0, request: [], requestPayment: 0, getLocation: [], scanCode: [], requestSubscribeMessage: [] };

  async function fetchJSON(method, path, body) {
    const res = await fetch(base + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let data = text;
    try { data = JSON.parse(text); } catch (e) { /* keep the text, as wx.request does */ }
    if (!res.ok) throw new Error(method + ' ' + path + ' → ' + res.status + ' ' + text);
    return data;
  }

  const wx = {
    request(o) {
      const entry = { method: o.method || 'GET', url: o.url, header: Object.assign({}, o.header), data: o.data };
      calls.request.push(entry);
      const hasBody = o.data !== undefined && entry.method !== 'GET';
      const ctl = new AbortController();
      const timer = o.timeout ? setTimeout(() => ctl.abort(), o.timeout) : null;
      (async () => {
        if (hooks.beforeRequest && hooks.beforeRequest(entry) === 'fail') {
          throw new Error('request:fail shim: connection refused');
        }
        const res = await fetch(o.url, {
          method: entry.method,
          headers: o.header,
          body: hasBody ? JSON.stringify(o.data) : undefined,
          signal: ctl.signal,
        });
        const header = {};
        res.headers.forEach((v, k) => { header[k] = v; });
        let data;
        if (o.responseType === 'arraybuffer') {
          data = await res.arrayBuffer();
        } else {
          data = await res.text();
          if (o.dataType === undefined || o.dataType === 'json') {
            try { data = JSON.parse(data); } catch (e) { /* wx.request leaves non-JSON as text */ }
          }
        }
        const result = { statusCode: res.status, data, header };
        // A response lost on the way back: the server did the work, the
        // phone saw a network error.
        if (hooks.afterResponse && hooks.afterResponse(entry, result) === 'drop') {
          throw new Error('request:fail shim: response lost');
        }
        return result;
      })().then(
        (r) => { clearTimeout(timer); o.success && o.success(r); },
        (e) => { clearTimeout(timer); o.fail && o.fail({ errMsg: String(e.message || e) }); },
      );
    },

    login(o) {
      calls.login++;
      fetchJSON('POST', '/_emulator/login-code', { user: hooks.loginUser ? hooks.loginUser() : user }).then(
        (r) => o.success && o.success({ code: hooks.badCode ? 'not-a-code' : r.code, errMsg: 'login:ok' }),
        (e) => o.fail && o.fail({ errMsg: 'login:fail ' + e.message }),
      );
    },

    requestPayment(o) {
      calls.requestPayment++;
      (async () => {
        for (const k of ['timeStamp', 'nonceStr', 'package', 'signType', 'paySign']) {
          if (!o[k]) throw new Error('requestPayment:fail missing ' + k);
        }
        if (hooks.payment === 'cancel') throw new Error('requestPayment:fail cancel');
        const prepayId = o.package.replace(/^prepay_id=/, '');
        const { transactions } = await fetchJSON('GET', '/_emulator/pay/pending');
        const t = transactions.find((x) => x.prepay_id === prepayId);
        if (!t) throw new Error('requestPayment:fail no pending transaction for ' + prepayId);
        await fetchJSON('POST', '/_emulator/pay/' + encodeURIComponent(t.out_trade_no));
      })().then(
        () => o.success && o.success({ errMsg: 'requestPayment:ok' }),
        (e) => o.fail && o.fail({ errMsg: String(e.message || e) }),
      );
    },

    // getLocation answers hooks.location() ({latitude, longitude}) in the
    // coordinate system asked for, or fails as WeChat does when the user
    // refused (no hook, or hooks.location() returns null).
    getLocation(o) {
      calls.getLocation.push({ type: o.type });
      const at = hooks.location ? hooks.location(o) : null;
      setTimeout(() => {
        if (!at) o.fail && o.fail({ errMsg: 'getLocation:fail auth deny' });
        else o.success && o.success(Object.assign({ speed: -1, accuracy: 30, errMsg: 'getLocation:ok' }, at));
      }, 0);
    },

    // scanCode answers hooks.scanned() (a string, or {result, scanType}),
    // or "cancel" as when the user closes the scanner.
    scanCode(o) {
      calls.scanCode.push({ onlyFromCamera: o.onlyFromCamera, scanType: o.scanType });
      const read = hooks.scanned ? hooks.scanned(o) : null;
      setTimeout(() => {
        if (read === null || read === undefined) o.fail && o.fail({ errMsg: 'scanCode:fail cancel' });
        else o.success && o.success(Object.assign({ scanType: 'QR_CODE', charSet: 'utf-8', errMsg: 'scanCode:ok' },
          typeof read === 'string' ? { result: read } : read));
      }, 0);
    },

    // requestSubscribeMessage answers hooks.subscribe (default "reject")
    // for every template asked.
    requestSubscribeMessage(o) {
      calls.requestSubscribeMessage.push(o.tmplIds);
      const res = { errMsg: 'requestSubscribeMessage:ok' };
      for (const id of o.tmplIds) res[id] = hooks.subscribe || 'reject';
      setTimeout(() => o.success && o.success(res), 0);
    },

    arrayBufferToBase64: (buf) => Buffer.from(buf).toString('base64'),
    getStorageSync: (k) => (storage.has(k) ? storage.get(k) : ''),
    setStorageSync: (k, v) => { storage.set(k, JSON.parse(JSON.stringify(v))); },
    removeStorageSync: (k) => { storage.delete(k); },
  };
  return { wx, calls, storage };
}

module.exports = { createWx };
