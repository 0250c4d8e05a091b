// storepick.js: the store picker that the store screens share (Stores'
// staff, Door check, Table queue, Bookings, Staff's filter): every store
// from GET /stores (following its pages), the choice remembered for the tab
// (sessionStorage) so that moving between screens keeps the store.
import { get } from './api.js';
import { h } from './ui.js';

const CHOICE = 'minifn.console.store';

// allStores reads every store, in the API's order.
export async function allStores() {
  const stores = [];
  let after = '';
  do {
    const q = new URLSearchParams({ limit: '100' });
    if (after) q.set('after', after);
    const res = await get('/stores?' + q);
    stores.push(...res.stores);
    after = res.next || '';
  } while (after);
  return stores;
}

export const chosen = {
  get: () => sessionStorage.getItem(CHOICE) || '',
  set: (id) => (id ? sessionStorage.setItem(CHOICE, id) : sessionStorage.removeItem(CHOICE)),
};

// storeSelect returns a labelled <select> of the stores (opts.any adds an
// entry for all of them, value ''), its choice remembered (unless
// opts.remember is false: a filter that starts at opts.any), calling
// opts.onchange(id) when the merchant picks another. .select is the
// element; .stores the list as loaded; .value() the id chosen.
export function storeSelect(stores, opts = {}) {
  const id = opts.id || 'f-store';
  const select = h('select', { id, name: 'store' },
    opts.any ? h('option', { value: '' }, opts.any) : null,
    stores.map((s) => h('option', { value: s.id }, s.name + (s.status === 'closed' ? ' (closed)' : ''))));
  const remember = opts.remember !== false;
  const remembered = remember ? chosen.get() : '';
  if (stores.some((s) => s.id === remembered)) select.value = remembered;
  else if (!opts.any && stores.length) select.value = stores[0].id;
  else select.value = '';
  select.addEventListener('change', () => {
    if (remember) chosen.set(select.value);
    if (opts.onchange) opts.onchange(select.value);
  });
  const el = h('div', { class: 'field' }, h('label', { for: id }, opts.label || 'Store'), select);
  return { el, select, stores, value: () => select.value };
}
