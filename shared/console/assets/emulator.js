// emulator.js (minifn dev only): the emulated WeChat and WeChat Pay servers.
// Mint login codes for named test users (and act as one, to see their
// orders), pay pending transactions as the user would, send WeChat's
// message pushes (subscribe message events) to wx-push, and watch notifies,
// pushes and subscribe messages.
import { call, get, post } from './api.js';
import { h, action, field, section, table, yuan, when, toast, errorBox } from './ui.js';

const POLL_MS = 2000;
const USERS = 'minifn.test-users'; // name → {openid, token} of test users signed in here

function users() {
  try { return JSON.parse(sessionStorage.getItem(USERS)) || {}; } catch { return {}; }
}

function badge(s) {
  return h('span', { class: 'badge ' + s }, s);
}

export async function render(main) {
  const minted = h('div', { 'aria-live': 'polite' });
  const mint = h('form', { class: 'row', 'aria-label': 'Log in a test user' },
    field('Test user', { name: 'user', required: true, value: 'alice', maxlength: 64 }),
    h('button', { type: 'submit', name: 'code' }, 'Mint login code'),
    h('button', { type: 'button', class: 'secondary', name: 'as' }, 'Sign in as this user'));
  const code = async (user) => post('/_emulator/login-code', { user }, { auth: false });
  action(mint, async (d) => {
    const user = String(d.get('user')).trim();
    const r = await code(user);
    minted.replaceChildren(h('div', { class: 'detail' }, h('dl', {},
      h('dt', {}, 'User'), h('dd', {}, user),
      h('dt', {}, 'Login code'), h('dd', {}, h('code', { class: 'login-code' }, r.code), ' (once, ' + r.expires_in + ' s)'),
      h('dt', {}, 'OpenID'), h('dd', {}, h('code', {}, r.openid)))));
  });
  mint.elements.as.addEventListener('click', async () => {
    if (!mint.reportValidity()) return;
    const user = mint.elements.user.value.trim();
    const status = mint.querySelector('.status');
    status.replaceChildren();
    try {
      const c = await code(user);
      const s = await post('/login', { code: c.code }, { auth: false });
      const all = users();
      all[user] = { openid: s.openid, token: s.token };
      sessionStorage.setItem(USERS, JSON.stringify(all));
      toast('Signed in as ' + user);
      refresh();
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  });

  // Message push: what WeChat pushes to /wx/push when a user answers the
  // subscribe popup, changes a template in their settings, or a send ends.
  const sel = (label, name, opts) => h('div', { class: 'field' }, h('label', { for: 'f-' + name }, label),
    h('select', { id: 'f-' + name, name }, opts.map(([v, t]) => h('option', { value: v }, t))));
  const pushForm = h('form', { class: 'row', 'aria-label': 'Send a message push' },
    field('From test user', { name: 'push-user', required: true, value: 'alice', maxlength: 64 }),
    field('Template id', { name: 'push-template', required: true, maxlength: 128 }),
    sel('Event', 'push-event', [['popup-accept', 'Popup: accept'], ['popup-reject', 'Popup: reject'],
      ['change-reject', 'Settings: reject'], ['sent-43101', 'Send refused (43101)'], ['sent-ok', 'Send delivered']]),
    sel('Mode', 'push-mode', [['', 'as configured'], ['safe', 'safe (encrypted)'], ['plain', 'plain']]),
    h('button', { type: 'submit', name: 'push' }, 'Send push'));
  action(pushForm, async (d) => {
    const tmpl = String(d.get('push-template')).trim();
    const [kind, what] = String(d.get('push-event')).split('-');
    const item = kind === 'sent'
      ? { TemplateId: tmpl, MsgID: String(Date.now()), ErrorCode: what === 'ok' ? '0' : '43101',
          ErrorStatus: what === 'ok' ? 'success' : 'fail:user refuse to accept the msg' }
      : { TemplateId: tmpl, SubscribeStatusString: what, ...(kind === 'popup' ? { PopupScene: '0' } : {}) };
    const r = await post('/_emulator/push', {
      event: 'subscribe_msg_' + kind + '_event', user: String(d.get('push-user')).trim(),
      mode: String(d.get('push-mode')), fields: { List: item },
    }, { auth: false });
    toast(r.success ? 'Pushed: the server answered success' : 'Pushed: the server answered ' + (r.push.status || r.push.answer), r.success ? 'ok' : 'error');
    refresh();
  });
  const pushes = h('div');

  const userOrders = h('div');
  const pending = h('div');
  const notifies = h('div');
  const messages = h('div');

  async function pay(t) {
    try {
      await post('/_emulator/pay/' + encodeURIComponent(t.out_trade_no), undefined, { auth: false });
      toast('Paid ' + yuan(t.total) + ': WeChat Pay notifies the server');
      refresh();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  async function showOrders() {
    const all = users();
    const parts = await Promise.all(Object.entries(all).map(async ([name, u]) => {
      try {
        const { orders } = await call('GET', '/orders?limit=20', undefined, { auth: u.token });
        return h('div', { class: 'test-user', 'data-user': name }, h('h3', {}, name, ' ', h('code', { class: 'muted' }, u.openid)),
          table([
            { label: 'Order', value: (o) => h('code', {}, o.id) },
            { label: 'Total', class: 'num', value: (o) => yuan(o.total) },
            { label: 'Status', value: (o) => badge(o.status) },
            { label: 'Created', value: (o) => when(o.created_at) },
          ], orders, 'No orders.'));
      } catch (err) {
        if (err.status === 401) { delete all[name]; sessionStorage.setItem(USERS, JSON.stringify(all)); }
        return h('div', {}, h('h3', {}, name), errorBox(err));
      }
    }));
    const seen = parts.map((p) => p.outerHTML).join();
    if (userOrders.dataset.seen === seen) return;
    userOrders.dataset.seen = seen;
    userOrders.replaceChildren(...(parts.length ? parts : [h('p', { class: 'empty' }, 'Sign in as a test user to follow their orders here.')]));
  }

  // show renders what path answers into box, unless it is unchanged (so
  // that polling does not replace a button under the pointer).
  async function show(box, path, render) {
    try {
      const r = await get(path, { auth: false });
      const seen = JSON.stringify(r);
      if (box.dataset.seen === seen) return;
      box.dataset.seen = seen;
      box.replaceChildren(render(r));
    } catch (err) {
      delete box.dataset.seen;
      box.replaceChildren(err.status === 404
        ? h('p', { class: 'empty' }, 'Not available: this minifn dev has no ' + path + '.')
        : errorBox(err));
    }
  }

  async function refresh() {
    await Promise.all([
      showOrders(),
      show(pending, '/_emulator/pay/pending', (r) => table([
        { label: 'out_trade_no', value: (t) => h('code', {}, t.out_trade_no) },
        { label: 'What', value: (t) => t.description },
        { label: 'Amount', class: 'num', value: (t) => yuan(t.total) },
        { label: 'Payer', value: (t) => h('code', {}, t.openid) },
        { label: 'Expires', value: (t) => when(t.expires_at) },
        { label: '', value: (t) => h('button', { onclick: () => pay(t), 'aria-label': 'Pay ' + t.out_trade_no }, 'User pays now') },
      ], r.transactions, 'No payment is waiting.')),
      show(notifies, '/_emulator/notifies', (r) => table([
        { label: 'Event', value: (n) => n.event_type },
        { label: 'For', value: (n) => h('code', {}, n.out_trade_no || n.out_refund_no) },
        { label: 'Attempts', class: 'num', value: (n) => String(n.attempts.length) },
        { label: 'Last answer', value: (n) => { const a = n.attempts.at(-1); return a ? (a.status || a.error) + ' at ' + when(a.at) : ''; } },
        { label: 'Delivered', value: (n) => h('span', { class: 'badge ' + (n.delivered ? 'paid' : n.done ? 'closed' : 'pending') },
          n.delivered ? 'yes' : n.done ? 'gave up' : 'retrying') },
      ], (r.notifies || []).slice().reverse(), 'No notify sent yet.')),
      show(pushes, '/_emulator/pushes', (r) => table([
        { label: 'Sent', value: (p) => when(p.at) },
        { label: 'Event', value: (p) => p.event },
        { label: 'Mode', value: (p) => p.mode },
        { label: 'Answer', value: (p) => h('span', { class: 'badge ' + (p.status === 200 && p.answer === 'success' ? 'paid' : 'closed') },
          (p.status ? p.status + ' ' : '') + p.answer.slice(0, 80)) },
      ], (r.pushes || []).slice().reverse(), 'No push sent yet.')),
      show(messages, '/_emulator/messages', (r) => table([
        { label: 'Sent', value: (m) => when(m.at) },
        { label: 'To', value: (m) => h('code', {}, m.touser) },
        { label: 'Template', value: (m) => h('code', {}, m.template_id) },
        { label: 'Page', value: (m) => m.page },
        { label: 'Data', value: (m) => Object.entries(m.data || {}).map(([k, v]) => k + ': ' + v).join(' · ') },
      ], (r.messages || []).slice().reverse(), 'No subscribe message sent yet.')),
    ]);
  }

  main.append(
    section('Test users', h('p', { class: 'muted' }, 'A login code is what wx.login gives the Mini-Program: trade it at POST /login.'),
      mint, minted, userOrders),
    section('Pending payments', pending),
    section('Pay notifies', notifies),
    section('Message push', h('p', { class: 'muted' }, 'WeChat\'s subscribe message events, signed with the push Token (and encrypted in safe mode), sent to /wx/push.'),
      pushForm, pushes),
    section('Subscribe messages', messages));
  await refresh();
  const timer = setInterval(refresh, POLL_MS);
  return () => clearInterval(timer);
}
