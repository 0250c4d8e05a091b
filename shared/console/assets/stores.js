// stores.js: the physical stores (function `stores`, CONTRACT "Stores"):
// the list (GET /stores, every page; the admin sees closed ones too), add
// one (POST /stores with an Idempotency-Key), edit one (PUT /stores/{id}
// with the version loaded as "if_version": name, address, phone, location,
// weekly hours, open or closed; a 409 version_conflict reloads the form),
// and the staff of a store: who works there (GET
// /staff?store_id=) and assigning a staff member to it (PUT /staff/{openid}
// {"store_id"}: grants the role if needed, and moves them from any other
// store). Locations are GCJ-02, the coordinates wx.getLocation returns with
// type "gcj02" and that Tencent and AMap maps show: a point picked on one
// of those maps is typed in as it is.
import { get, post, put, newKey, APIError } from './api.js';
import { h, action, field, section, table, when, toast, errorBox } from './ui.js';
import { allStores, storeSelect } from './storepick.js';

function badge(s) {
  return h('span', { class: 'badge ' + s }, s);
}

// The week as the API names its days (hours are China Standard Time).
const DAYS = [['mon', 'Mon'], ['tue', 'Tue'], ['wed', 'Wed'], ['thu', 'Thu'], ['fri', 'Fri'], ['sat', 'Sat'], ['sun', 'Sun']];

// rangesText shows a day's ranges as typed: "09:00-12:00, 14:00-21:00".
function rangesText(ranges) {
  return (ranges || []).map((r) => r.open + '-' + r.close).join(', ');
}

// parseRanges reads a day's field back; a malformed range goes to the API
// as typed so that its message says what is wrong.
function parseRanges(text) {
  return String(text).split(',').map((t) => t.trim()).filter(Boolean).map((t) => {
    const m = /^(\S+?)\s*[-–]\s*(\S+)$/.exec(t);
    return m ? { open: m[1], close: m[2] } : { open: t, close: '' };
  });
}

// hoursText sums the week up: "Mon–Fri 09:00-21:00 · Sat, Sun 10:00-22:00";
// no timetable: open whenever the status is.
function hoursText(hours) {
  if (!hours || !Object.keys(hours).length) return 'no timetable';
  const groups = [];
  for (const [d, label] of DAYS) {
    const t = rangesText(hours[d]) || 'off';
    const last = groups[groups.length - 1];
    if (last && last.t === t) last.days.push(label);
    else groups.push({ t, days: [label] });
  }
  return groups.map((g) => (g.days.length > 2 ? g.days[0] + '–' + g.days[g.days.length - 1] : g.days.join(', ')) + ' ' + g.t).join(' · ');
}

// num reads a typed coordinate; a typo goes to the API as null so its
// message explains.
function num(text) {
  const t = String(text).trim();
  return t === '' || isNaN(Number(t)) ? null : Number(t);
}

export async function render(main) {
  const list = h('div', { class: 'store-list' });
  let key = newKey();
  let editing = null; // the store being edited; null: adding one
  const heading = h('h2', { id: 'h-store-form' }, 'Add a store');
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => reset() }, 'Cancel edit');
  const form = h('form', { 'aria-labelledby': 'h-store-form' },
    h('div', { class: 'grid' },
      field('Name', { name: 'name', required: true, maxlength: 80 }),
      field('Address', { name: 'address', required: true, maxlength: 200 }),
      field('Latitude (GCJ-02)', { name: 'lat', required: true, inputmode: 'decimal' }),
      field('Longitude (GCJ-02)', { name: 'lng', required: true, inputmode: 'decimal' }),
      field('Phone', { name: 'phone', type: 'tel', maxlength: 32 }),
      h('div', { class: 'field' }, h('label', { for: 'f-store-status' }, 'Status'),
        h('select', { id: 'f-store-status', name: 'status' },
          h('option', { value: 'open' }, 'open'), h('option', { value: 'closed' }, 'closed')))),
    h('fieldset', { class: 'hours', 'aria-label': 'Opening hours' },
      h('legend', {}, 'Opening hours (China Standard Time; a day left empty is a day off, all empty: no timetable)'),
      h('div', { class: 'grid' }, DAYS.map(([d, label]) =>
        field(label, { name: 'hours_' + d, placeholder: '09:00-21:00', maxlength: 60, autocomplete: 'off' }))),
      h('button', { type: 'button', class: 'secondary', onclick: () => {
        for (const [d] of DAYS.slice(1)) form.elements['hours_' + d].value = form.elements.hours_mon.value;
      } }, 'Same as Monday every day')),
    h('p', {}, h('button', { type: 'submit' }, 'Save store'), ' ', cancel));
  const staffBox = h('div', { class: 'store-staff' });

  function reset() {
    editing = null;
    form.reset();
    heading.textContent = 'Add a store';
    cancel.hidden = true;
  }

  function edit(s) {
    editing = s;
    heading.textContent = 'Edit ' + s.name;
    form.elements.name.value = s.name || '';
    form.elements.address.value = s.address || '';
    form.elements.lat.value = s.lat ?? '';
    form.elements.lng.value = s.lng ?? '';
    form.elements.phone.value = s.phone || '';
    for (const [d] of DAYS) form.elements['hours_' + d].value = rangesText((s.hours || {})[d]);
    form.elements.status.value = s.status || 'open';
    cancel.hidden = false;
    form.elements.name.focus();
  }

  action(form, async (d) => {
    const hours = {};
    for (const [day] of DAYS) {
      const ranges = parseRanges(d.get('hours_' + day));
      if (ranges.length) hours[day] = ranges;
    }
    const body = { name: String(d.get('name')).trim(), address: String(d.get('address')).trim(),
      lat: num(d.get('lat')), lng: num(d.get('lng')), phone: String(d.get('phone')).trim(), hours, status: d.get('status') };
    let store;
    if (editing) {
      body.if_version = editing.version;
      try {
        ({ store } = await put('/stores/' + encodeURIComponent(editing.id), body));
      } catch (err) {
        if (err.code !== 'version_conflict') throw err;
        const current = (await get('/stores/' + encodeURIComponent(editing.id))).store;
        edit(current);
        await load();
        throw new APIError(err.status, err.code, 'Someone else saved ' + current.name + ' meanwhile. The form now shows ' +
          'the current values (version ' + current.version + '): make your change again.');
      }
    } else {
      ({ store } = await post('/stores', body, { key }));
      key = newKey();
    }
    toast('Saved ' + store.name);
    reset();
    await load();
  });

  // load shows every store, then the staff of the one picked.
  async function load() {
    let stores;
    try {
      stores = await allStores();
    } catch (err) {
      list.replaceChildren(errorBox(err));
      return;
    }
    list.replaceChildren(table([
      { label: 'Store', value: (s) => [h('strong', {}, s.name), h('div', {}, h('code', {}, s.id))] },
      { label: 'Address', value: (s) => s.address },
      { label: 'Location', value: (s) => h('code', {}, Number(s.lat.toFixed(6)) + ', ' + Number(s.lng.toFixed(6))) },
      { label: 'Hours', value: (s) => hoursText(s.hours) },
      { label: 'Status', value: (s) => [badge(s.status), s.status === 'open' && !s.open_now ? h('div', { class: 'muted' }, 'outside its hours now') : ''] },
      { label: '', value: (s) => h('button', { class: 'secondary', 'aria-label': 'Edit ' + s.name, onclick: () => edit(s) }, 'Edit') },
    ], stores, 'No store yet: add the first one below.'));
    staff(stores);
  }

  // staff shows the staff of the store picked, and the form assigning one.
  function staff(stores) {
    if (!stores.length) {
      staffBox.replaceChildren(h('p', { class: 'empty' }, 'Add a store first.'));
      return;
    }
    const pick = storeSelect(stores, { id: 'f-staff-of', label: 'Staff of', onchange: () => show() });
    const members = h('div', { class: 'store-staff-list' });
    const assign = h('form', { class: 'row', 'aria-label': 'Assign staff' },
      field('Staff OpenID', { name: 'openid', required: true, class: 'mono', size: 34, autocomplete: 'off' }),
      h('button', { type: 'submit' }, 'Assign to this store'));
    action(assign, async (d) => {
      const openid = String(d.get('openid')).trim();
      await put('/staff/' + encodeURIComponent(openid), { store_id: pick.value() });
      toast(openid + ' now works at ' + pick.select.selectedOptions[0].textContent);
      assign.reset();
      await show();
    });
    async function show() {
      try {
        const staff = [];
        let after = '';
        do {
          const q = new URLSearchParams({ store_id: pick.value(), limit: '100' });
          if (after) q.set('after', after);
          const res = await get('/staff?' + q);
          staff.push(...res.staff);
          after = res.next || '';
        } while (after);
        members.replaceChildren(table([
          { label: 'OpenID', value: (s) => h('code', {}, s.openid) },
          { label: 'Since', value: (s) => when(s.granted_at) },
        ], staff.map((s) => Object.assign({ id: s.openid }, s)), 'Nobody works at this store yet.'));
      } catch (err) {
        members.replaceChildren(errorBox(err));
      }
    }
    staffBox.replaceChildren(h('div', { class: 'row' }, pick.el), members,
      h('p', { class: 'muted' }, 'A staff member works at one store: assigning moves them here. ' +
        'They verify exit passes, serve tables and check bookings in for this store only.'), assign);
    show();
  }

  main.append(
    section('Stores', list),
    h('section', { class: 'card', 'aria-labelledby': 'h-store-form' }, heading,
      h('p', { class: 'muted' }, 'Coordinates are GCJ-02, as Tencent or AMap maps show them and as wx.getLocation returns them with type gcj02.'),
      form),
    section('Staff per store', staffBox));
  await load();
}
