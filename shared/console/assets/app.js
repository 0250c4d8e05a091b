// app.js: sign-in, navigation and the screens' life cycle. Each screen is a
// module exporting render(main) → optional cleanup (to stop polling).
import { get, token, hasEmulator } from './api.js';
import { h, action, field } from './ui.js';

const screens = {
  home: { title: 'Dashboard', load: () => import('./home.js') },
  campaigns: { title: 'Campaigns', load: () => import('./campaigns.js') },
  products: { title: 'Products', load: () => import('./products.js') },
  orders: { title: 'Orders', load: () => import('./orders.js') },
  redeem: { title: 'Redeem', load: () => import('./redeem.js') },
  points: { title: 'Point codes', load: () => import('./points.js') },
  attribution: { title: 'Attribution', load: () => import('./attribution.js') },
  staff: { title: 'Staff', load: () => import('./staff.js') },
  // Shown only where the server has the route: the wallet is off unless
  // MINIFN_WALLET=on (a 404 then). probe is a call, so that
  // cmd/minifn's gateway test sees its path.
  wallet: { title: 'Wallet', load: () => import('./wallet.js'), probe: () => get('/topup-plans') },
  giftcards: { title: 'Gift cards', load: () => import('./giftcards.js'), probe: () => get('/giftcards?all=1&limit=1') },
  // Function `members` (CONTRACT "Membership and wallet"): absent until deployed.
  tiers: { title: 'Tiers', load: () => import('./tiers.js'), probe: () => get('/tiers') },
  // Physical stores (CONTRACT "Stores"): function `stores`; the door check
  // and the table queue are routes of the order functions that come with it.
  stores: { title: 'Stores', load: () => import('./stores.js'), probe: () => get('/stores') },
  door: { title: 'Door check', load: () => import('./door.js'), probe: () => get('/stores') },
  queue: { title: 'Table queue', load: () => import('./queue.js'), probe: () => get('/stores') },
  // Function `bookings`: a store that does not exist is its own 404
  // (store_not_found) or an empty day, never the gateway's.
  bookings: { title: 'Bookings', load: () => import('./bookings.js'), probe: () => get('/stores/-/bookings?date=2026-01-01') },
};
const emulator = { title: 'Emulator', load: () => import('./emulator.js') };

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signout = document.getElementById('signout');
let cleanup = null;
let dev = false;
let absent = null; // ids of the screens whose probe route answered 404

// missing tells a route this server lacks: 404 from the router ("not_found",
// no such route) or from a gateway in front (no JSON code), never a
// domain's own 404 such as store_not_found.
function missing(err) {
  return err.status === 404 && (err.code === 'not_found' || err.code === 'http_404');
}

// probe finds, once per sign-in, the screens whose feature this server lacks.
async function probe() {
  if (absent) return absent;
  const found = new Set();
  await Promise.all(Object.entries(screens).filter(([, s]) => s.probe).map(async ([id, s]) => {
    try {
      await s.probe();
    } catch (err) {
      if (missing(err)) found.add(id);
    }
  }));
  absent = found;
  return absent;
}

function signIn() {
  nav.hidden = signout.hidden = true;
  const form = h('form', { class: 'card signin', 'aria-label': 'Sign in' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste the admin token (MINIFN_ADMIN_TOKEN; `minifn dev` prints it).'),
    field('Admin token', { name: 'token', type: 'password', required: true, autocomplete: 'current-password' }),
    h('button', { type: 'submit' }, 'Sign in'));
  action(form, async (data) => {
    const t = String(data.get('token')).trim();
    // An admin-only route tells a good token from a bad one, in the API's words.
    await get('/campaigns?all=1', { auth: t });
    token.set(t);
    location.hash = '#/home';
    route();
  });
  main.replaceChildren(form);
  form.querySelector('input').focus();
}

function menu(current) {
  const all = Object.assign({}, screens, dev ? { emulator } : {});
  nav.replaceChildren(...Object.entries(all).filter(([id]) => !absent.has(id)).map(([id, s]) =>
    h('a', { href: '#/' + id, 'aria-current': id === current ? 'page' : undefined }, s.title)));
  nav.hidden = signout.hidden = false;
}

async function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  if (!token.get()) return signIn();
  const id = location.hash.replace(/^#\/?/, '') || 'home';
  await probe();
  const s = (absent.has(id) ? null : screens[id]) || (dev && id === 'emulator' ? emulator : null);
  if (!s) { location.hash = '#/home'; return; }
  menu(id);
  document.title = s.title + ' · minifn console';
  const mod = await s.load();
  main.replaceChildren(h('h1', {}, s.title));
  cleanup = (await mod.render(main)) || null;
  main.focus({ preventScroll: true });
}

signout.addEventListener('click', () => {
  token.clear();
  absent = null;
  location.hash = '';
  route();
});
window.addEventListener('hashchange', route);
// Any screen's call answered 401 means the token is wrong or was rotated.
window.addEventListener('unhandledrejection', (e) => {
  if (e.reason && e.reason.status === 401) { token.clear(); route(); }
});

dev = await hasEmulator();
route();
