// staff.js: the staff (who may redeem coupons in the Mini-Program), and
// granting and revoking the role. GET /staff lists them; PUT and DELETE
// /staff/{openid} are idempotent. Where the server has stores (function
// `stores`), each member shows their store, the list filters by store
// (GET /staff?store_id=), and Grant takes the store they work at: PUT
// /staff/{openid} says the whole role, so a grant without a store makes
// them staff of no one store (they redeem coupons, but do no store-bound
// action: exit passes, the table queue, check-ins).
import { get, put, del } from './api.js';
import { h, action, field, section, table, when, toast, errorBox } from './ui.js';
import { allStores, storeSelect } from './storepick.js';

export async function render(main) {
  const log = h('ul', { class: 'log', 'aria-live': 'polite' });
  const list = h('div', { class: 'staff-list' });
  // The stores, for the filter and the Store column; none where the
  // server has no stores (404).
  let pick = null;
  let where = null; // the grant's store
  let names = {};
  try {
    const stores = await allStores();
    names = Object.fromEntries(stores.map((s) => [s.id, s.name]));
    if (stores.length) {
      pick = storeSelect(stores, { id: 'f-staff-filter', label: 'Works at', any: 'Any store', remember: false, onchange: () => load() });
      where = storeSelect(stores, { id: 'f-staff-store', label: 'Store', any: 'No one store (coupons only)', remember: false });
    }
  } catch (err) {
    if (err.status !== 404) list.replaceChildren(errorBox(err));
  }

  const form = h('form', { class: 'row', 'aria-label': 'Staff role' },
    field('OpenID', { name: 'openid', required: true, class: 'mono', size: 34, autocomplete: 'off' }),
    where ? where.el : '',
    h('button', { type: 'submit', name: 'grant', value: '1' }, 'Grant'),
    h('button', { type: 'button', class: 'danger', name: 'revoke' }, 'Revoke'));
  const path = (openid) => '/staff/' + encodeURIComponent(openid);

  // load shows every staff member, following the API's pages.
  async function load() {
    try {
      const staff = [];
      let after = '';
      do {
        const q = new URLSearchParams({ limit: '100' });
        if (pick && pick.value()) q.set('store_id', pick.value());
        if (after) q.set('after', after);
        const res = await get('/staff?' + q);
        staff.push(...res.staff);
        after = res.next || '';
      } while (after);
      list.replaceChildren(table([
        { label: 'OpenID', value: (s) => h('code', {}, s.openid) },
        { label: 'Store', value: (s) => (s.store_id ? names[s.store_id] || h('code', {}, s.store_id) : '') },
        { label: 'Granted', value: (s) => when(s.granted_at) },
        { label: '', value: (s) => h('button', { class: 'danger', 'aria-label': 'Revoke ' + s.openid,
          onclick: () => revoke(s.openid).catch((err) => toast(err.message, 'error')) }, 'Revoke') },
      ], staff.map((s) => Object.assign({ id: s.openid }, s)), 'Nobody has the staff role.'));
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
  }

  async function revoke(openid) {
    await del(path(openid));
    toast('Staff role revoked');
    log.prepend(h('li', {}, 'Revoked ', h('code', {}, openid)));
    await load();
  }

  action(form, async () => {
    const storeId = where ? where.value() : '';
    const { staff } = await put(path(form.elements.openid.value.trim()), storeId ? { store_id: storeId } : undefined);
    toast('Staff role granted');
    log.prepend(h('li', {}, 'Granted ', h('code', {}, staff.openid), staff.store_id ? ' at store ' + (names[staff.store_id] || staff.store_id) : '',
      ' (since ' + when(staff.granted_at) + ')'));
    await load();
  });
  form.elements.revoke.addEventListener('click', async () => {
    if (!form.reportValidity()) return;
    const status = form.querySelector('.status');
    status.replaceChildren();
    try {
      await revoke(form.elements.openid.value.trim());
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  });
  main.append(
    section('Grant or revoke', h('p', { class: 'muted' },
      'A user’s OpenID is in GET /me, or in the Emulator screen for test users.'), form, log),
    section('Staff', pick ? h('div', { class: 'row' }, pick.el) : '', list));
  await load();
}
