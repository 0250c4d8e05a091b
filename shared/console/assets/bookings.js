// bookings.js: the day's bookings of a store (function `bookings`): GET
// /stores/{id}/bookings?date=YYYY-MM-DD lists them by slot, with the party
// size and status (booked, cancelled, checked_in); Check in (POST /bookings/{id}/check-in) marks a guest
// arrived. Days are China Standard Time (UTC+8) days, as the slots are.
import { get, post } from './api.js';
import { h, section, table, when, toast, errorBox } from './ui.js';
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
  const pick = storeSelect(stores, { id: 'f-booking-store', onchange: () => load() });
  const date = h('input', { type: 'date', id: 'f-booking-date', name: 'date', value: today() });
  date.addEventListener('change', () => load());

  async function checkIn(b) {
    await post('/bookings/' + encodeURIComponent(b.id) + '/check-in');
    toast('Checked in: party of ' + b.party_size);
    await load();
  }

  let loads = 0;
  async function load() {
    const seq = ++loads;
    try {
      const res = await get('/stores/' + encodeURIComponent(pick.value()) + '/bookings?' + new URLSearchParams({ date: date.value }));
      if (seq !== loads) return;
      const rows = res.bookings || [];
      const seats = rows.filter((b) => b.status !== 'cancelled').reduce((n, b) => n + b.party_size, 0);
      list.replaceChildren(
        h('p', { class: 'muted', 'data-field': 'seats' }, rows.length + ' bookings, ' + seats + ' seats taken'),
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

  box.append(section('Bookings of the day',
    h('div', { class: 'row' }, pick.el, h('div', { class: 'field' }, h('label', { for: 'f-booking-date' }, 'Day (UTC+8)'), date)),
    list));
  await load();
}
