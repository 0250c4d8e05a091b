// attribution.js: users and paid orders by scene and by referrer
// (GET /attribution), as bar charts with the numbers in tables beside.
import { get } from './api.js';
import { h, section, table, yuan, errorBox } from './ui.js';

// bar is one bar, its width set through the CSSOM (the console's CSP allows
// no inline style attributes).
function bar(cls, share) {
  const el = h('div', { class: cls });
  el.style.width = (100 * share).toFixed(1) + '%';
  return el;
}

function chart(title, rows, label) {
  const maxUsers = Math.max(1, ...rows.map((r) => r.users));
  const maxPaid = Math.max(1, ...rows.map((r) => r.paid_total));
  const top = rows.slice(0, 15);
  return section(title,
    rows.length ? [
      h('div', { class: 'legend', 'aria-hidden': 'true' }, h('span', { class: 'users' }, 'users'), h('span', { class: 'revenue' }, 'paid total')),
      h('div', { class: 'chart', role: 'img', 'aria-label': title + ': bars of users and paid totals; the table below has the numbers' },
        top.map((r) => [
          h('div', { class: 'label', title: label(r) }, label(r)),
          h('div', { class: 'track' }, bar('bar-users', r.users / maxUsers), bar('bar-revenue', r.paid_total / maxPaid)),
        ])),
    ] : '',
    table([
      { label: 'Source', value: label },
      { label: 'Users', class: 'num', value: (r) => String(r.users) },
      { label: 'Paid orders', class: 'num', value: (r) => String(r.paid_orders) },
      { label: 'Paid total', class: 'num', value: (r) => yuan(r.paid_total) },
    ], rows, 'No data yet: users arrive through Mini-Program codes (POST /qrcode).'));
}

export async function render(main) {
  try {
    const s = await get('/attribution');
    main.append(
      chart('By scene', s.by_scene || [], (r) => r.page ? r.scene + ' → ' + r.page : r.scene),
      chart('By referrer', s.by_referrer || [], (r) => r.referrer));
  } catch (err) {
    main.append(errorBox(err));
  }
}
