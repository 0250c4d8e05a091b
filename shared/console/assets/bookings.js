// bookings.js: a store's day (function `bookings`). Its slots: GET
// /stores/{id}/slots?date= lists them with the seats taken and free, and
// the merchant edits the whole day (PUT /stores/{id}/slots {"date",
// "slots":[{"start","end","capacity"}]}: a slot with bookings keeps them,
// its capacity never below the seats taken; the API says so otherwise).
// Its bookings: GET /stores/{id}/bookings?date=YYYY-MM-DD, by slot, with the
// party size and status (booked, cancelled, checked_in); Check in (POST
// /bookings/{id}/check-in) marks a party arrived. Days and times are the
// store's local time, China Standard Time (UTC+8).
import { get, post, put } from './api.js';
import { h, action, field, section, table, when, toast, errorBox } from './ui.js';
import { allStores, storeSelect } from './storepick.js';

// today is the date in China Standard Time.
function today() {
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

function short(openid) {
  if (!openid) return '';
  return h('code', { title: openid }, openid.length > 12 ? openid.slice(0, 6) + '…' + openid.slice(-4) : openid);
}

export async function render(main) {
  const box = h('div', { class: 'bookings' });
  main.append(box);
  let stores;
  try {
    stores = await allStores();
  } catch (err) {
    box.append(errorBox(err));
    return;
  }
  if (!stores.length) {
    box.append(section('Bookings', h('p', { class: 'empty' }, 'No store yet: add one under Stores.')));
    return;
  }
  const list = h('div', { class: 'booking-list', 'aria-live': 'polite' });
  const slotList = h('div', { class: 'slot-list' });
  const pick = storeSelect(stores, { id: 'f-booking-store', onchange: () => load() });
  const date = h('input', { type: 'date', id: 'f-booking-date', name: 'date', value: today() });
  date.addEventListener('change', () => load());

  // The day's slots as rows of inputs, named by index so that FormData
  // reads them back in order; Save sends the whole day.
  const rows = h('div', { class: 'slot-rows' });
  let count = 0;
  const slotRow = (i, s) => h('fieldset', { class: 'row slot', 'aria-label': 'Slot ' + (i + 1) },
    field('From', { name: 'start' + i, type: 'time', value: s.start || '', required: true }),
    field('To', { name: 'end' + i, type: 'time', value: s.end || '', required: true }),
    field('Seats', { name: 'cap' + i, type: 'number', min: 1, value: s.capacity ?? '', required: true, size: 5 }),
    s.slot ? h('span', { class: 'muted', 'data-field': 'taken' }, s.taken + ' taken, ' + s.available + ' free') : '',
    h('button', { type: 'button', class: 'secondary', 'aria-label': 'Remove slot ' + (i + 1), onclick: (e) => e.target.closest('fieldset').remove() }, 'Remove'));
  const slotForm = h('form', { 'aria-label': 'Slots of the day' }, rows,
    h('p', { class: 'row' },
      h('button', { type: 'button', class: 'secondary', onclick: () => rows.append(slotRow(count++, {})) }, 'Add a slot'),
      h('button', { type: 'submit' }, 'Save slots')));
  action(slotForm, async (d) => {
    const slots = [];
    for (let i = 0; i < count; i++) {
      if (!d.has('start' + i)) continue;
      slots.push({ start: d.get('start' + i), end: d.get('end' + i), capacity: Number(d.get('cap' + i)) });
    }
    await put('/stores/' + encodeURIComponent(pick.value()) + '/slots', { date: date.value, slots });
    toast('Slots of ' + date.value + ' saved');
    await load();
  });

  let slotLoads = 0; // only the latest load draws (the store or day may change while one runs)
  async function loadSlots() {
    const seq = ++slotLoads;
    try {
      const res = await get('/stores/' + encodeURIComponent(pick.value()) + '/slots?' + new URLSearchParams({ date: date.value }));
      if (seq !== slotLoads) return;
      count = 0;
      rows.replaceChildren(...res.slots.map((s) => slotRow(count++, s)));
      if (!res.slots.length) rows.append(h('p', { class: 'empty' }, 'No slot on ' + date.value + ': Add a slot.'));
      slotList.replaceChildren();
    } catch (err) {
      if (seq === slotLoads) slotList.replaceChildren(errorBox(err));
    }
  }

  async function checkIn(b) {
    await post('/bookings/' + encodeURIComponent(b.id) + '/check-in');
    toast('Checked in: party of ' + b.party_size);
    await load();
  }

  let loads = 0;
  async function load() {
    const seq = ++loads;
    loadSlots();
    try {
      const res = await get('/stores/' + encodeURIComponent(pick.value()) + '/bookings?' + new URLSearchParams({ date: date.value }));
      if (seq !== loads) return;
      const rows = res.bookings || [];
      const seats = rows.filter((b) => b.status !== 'cancelled').reduce((n, b) => n + b.party_size, 0);
      list.replaceChildren(
        h('p', { class: 'muted', 'data-field': 'seats' }, rows.length + (rows.length === 1 ? ' booking, ' : ' bookings, ') +
          seats + (seats === 1 ? ' seat' : ' seats') + ' taken'),
        table([
          { label: 'Slot', value: (b) => b.slot.slice(11) + '–' + (b.slot_end || '') },
          { label: 'Guest', value: (b) => short(b.openid) },
          { label: 'Party', class: 'num', value: (b) => String(b.party_size) },
          { label: 'Status', value: (b) => h('span', { class: 'badge ' + b.status }, b.status.replace('_', ' ')) },
          { label: 'Booked', value: (b) => when(b.created_at) },
          { label: 'Checked in', value: (b) => when(b.checked_in_at) },
          { label: '', value: (b) => (b.status === 'booked' ? h('button', {
            'aria-label': 'Check in ' + b.id,
            onclick: (e) => { e.target.disabled = true; checkIn(b).catch((err) => { e.target.disabled = false; toast(err.message, 'error'); }); },
          }, 'Check in') : '') },
        ], rows, 'No booking on ' + date.value + '.'));
    } catch (err) {
      if (seq === loads) list.replaceChildren(errorBox(err));
    }
  }

  box.append(
    section('Store and day', h('div', { class: 'row' }, pick.el,
      h('div', { class: 'field' }, h('label', { for: 'f-booking-date' }, 'Day (UTC+8)'), date))),
    section('Slots', h('p', { class: 'muted' }, 'Times are the store\'s (China Standard Time). Saving replaces the day\'s slots; ' +
      'a slot keeps its bookings while its start stays.'), slotForm, slotList),
    section('Bookings of the day', list));
  await load();
}
