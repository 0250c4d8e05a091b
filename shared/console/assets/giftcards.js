// giftcards.js: the merchant's gift card sales (function `giftcards`,
// docs/wallet.md "Gift cards"; on with MINIFN_WALLET=on). GET
// /giftcards?all=1 (admin) lists every card newest first, with its buyer and
// claimer; ?status= filters it. Totals are the page's: sold (paid cards,
// whatever happened next), claimed, unclaimed (paid or sent: value still in
// a card) and taken back, each in exact fen. The screen is in the menu only
// where the route answers (app.js's probe).
import { get } from './api.js';
import { h, section, table, yuan, when, errorBox } from './ui.js';

const STATUSES = ['', 'pending', 'paid', 'sent', 'claimed', 'revoked', 'closed'];
const SOLD = new Set(['paid', 'sent', 'claimed', 'revoked']);

// short shows an OpenID's start and end; the full one is its title.
function short(openid) {
  if (!openid) return '';
  const s = openid.length > 12 ? openid.slice(0, 6) + '…' + openid.slice(-4) : openid;
  return h('code', { title: openid }, s);
}

// totals sums a page's cards in fen (integers: exact).
function totals(cards) {
  const t = { sold: 0, claimed: 0, unclaimed: 0, revoked: 0 };
  for (const c of cards) {
    if (SOLD.has(c.status)) t.sold += c.amount;
    if (c.status === 'claimed') t.claimed += c.amount;
    if (c.status === 'paid' || c.status === 'sent') t.unclaimed += c.amount;
    if (c.status === 'revoked') t.revoked += c.amount;
  }
  return t;
}

export async function render(main) {
  const list = h('div');
  const sums = h('dl', { class: 'balance', 'aria-label': 'Totals of the page' });
  let cards = [];
  let next = '';
  const status = h('select', { id: 'g-status', name: 'status' },
    STATUSES.map((s) => h('option', { value: s }, s || 'any status')));
  const filter = h('form', { class: 'row', 'aria-label': 'Filter gift cards', onsubmit: (e) => e.preventDefault() },
    h('div', { class: 'field' }, h('label', { for: 'g-status' }, 'Status'), status));
  status.addEventListener('change', () => load(false));

  function draw() {
    const t = totals(cards);
    sums.replaceChildren(
      h('dt', {}, 'Sold'), h('dd', { 'data-field': 'sold' }, yuan(t.sold)),
      h('dt', {}, 'Claimed'), h('dd', { 'data-field': 'claimed' }, yuan(t.claimed)),
      h('dt', {}, 'Unclaimed'), h('dd', { 'data-field': 'unclaimed' }, yuan(t.unclaimed)),
      h('dt', {}, 'Taken back'), h('dd', { 'data-field': 'revoked' }, yuan(t.revoked)));
    const none = 'No gift card' + (status.value ? ' with status ' + status.value : '') + ' sold yet.';
    list.replaceChildren(table([
      { label: 'Card', value: (c) => h('code', {}, c.id) },
      { label: 'Date', value: (c) => when(c.created_at) },
      { label: 'Buyer', value: (c) => short(c.buyer) },
      { label: 'Amount', class: 'num', value: (c) => yuan(c.amount) },
      { label: 'Status', value: (c) => h('span', { class: 'badge ' + c.status }, c.status) },
      { label: 'Claimer', value: (c) => (c.claimer ? [short(c.claimer), ' ', h('small', {}, when(c.claimed_at))] : '') },
    ], cards, none), next ? h('p', { class: 'more' }, h('button', { class: 'secondary', onclick: () => load(true) }, 'More')) : '');
  }

  let loads = 0; // only the latest load draws (the filter may change while one runs)
  async function load(more) {
    const seq = ++loads;
    const q = new URLSearchParams({ all: '1', limit: '50' });
    if (status.value) q.set('status', status.value);
    if (more && next) q.set('after', next);
    try {
      const res = await get('/giftcards?' + q);
      if (seq !== loads) return;
      cards = more ? cards.concat(res.giftcards) : res.giftcards;
      next = res.next || '';
      draw();
    } catch (err) {
      if (seq === loads) list.replaceChildren(errorBox(err));
    }
  }

  main.append(section('Gift card sales', h('p', { class: 'muted' },
    'Every card bought, newest first. Totals are of the cards shown (More adds older ones).'), filter, sums, list));
  await load(false);
}
