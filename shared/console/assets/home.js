// home.js: the dashboard, the console's first screen. Today's numbers and
// the last 14 days as an SVG bar chart drawn here (no library), from
// GET /stats?days=14: counters the store keeps as events happen, in China
// Standard Time days (today is the last one).
import { get } from './api.js';
import { h, section, table, yuan, errorBox } from './ui.js';

const DAYS = 14;

// The counters, as shown. money: fen, shown in yuan.
const METRICS = [
  { key: 'revenue', label: 'Revenue', money: true },
  { key: 'paid_orders', label: 'Paid orders' },
  { key: 'refunded', label: 'Refunded', money: true },
  { key: 'refunds', label: 'Refunds' },
  { key: 'coupons_claimed', label: 'Coupons claimed' },
  { key: 'coupons_redeemed', label: 'Coupons redeemed' },
  { key: 'points_earned', label: 'Points earned' },
  { key: 'new_users', label: 'New users' },
];

const show = (m, v) => (m.money ? yuan(v || 0) : String(v || 0));

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children.flat()) el.append(c);
  return el;
}

// chart draws one counter over the days: a bar a day, today's highlighted,
// the maximum on the axis and each bar's value in its tooltip.
function chart(days, m) {
  const W = 720, H = 220, left = 70, bottom = 28, top = 12;
  const vals = days.map((d) => d[m.key] || 0);
  const max = Math.max(1, ...vals);
  const slot = (W - left - 8) / days.length;
  const y = (v) => top + (H - top - bottom) * (1 - v / max);
  return s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'daychart', role: 'img',
    'aria-label': `${m.label}, last ${days.length} days; the table below has the numbers` },
    s('line', { x1: left, x2: W - 8, y1: y(0), y2: y(0), class: 'axis' }),
    s('text', { x: left - 6, y: y(max) + 4, 'text-anchor': 'end', class: 'tick' }, show(m, max)),
    s('text', { x: left - 6, y: y(0) + 4, 'text-anchor': 'end', class: 'tick' }, show(m, 0)),
    days.map((d, i) => {
      const x = left + i * slot + slot * 0.15;
      const v = vals[i];
      return s('g', { 'data-day': d.day },
        s('rect', { x, y: y(v), width: slot * 0.7, height: Math.max(0, y(0) - y(v)),
          class: i === days.length - 1 ? 'today' : 'day' }, s('title', {}, `${d.day}: ${show(m, v)}`)),
        s('text', { x: x + slot * 0.35, y: H - 8, 'text-anchor': 'middle', class: 'tick' }, d.day.slice(5)));
    }));
}

function tiles(today) {
  return h('div', { class: 'tiles' }, METRICS.map((m) =>
    h('div', { class: 'tile', 'data-stat': m.key },
      h('span', { class: 'tile-label' }, m.label),
      h('strong', { class: 'tile-value' }, show(m, today[m.key])))));
}

function scenes(days) {
  const total = {};
  for (const d of days) for (const [sc, n] of Object.entries(d.scene_users || {})) total[sc] = (total[sc] || 0) + n;
  const today = days[days.length - 1].scene_users || {};
  const rows = Object.keys(total).sort((a, b) => total[b] - total[a] || (a < b ? -1 : 1))
    .map((sc) => ({ id: sc, scene: sc, today: today[sc] || 0, total: total[sc] }));
  return section('New users by scene',
    h('p', { class: 'muted' }, 'Users counted under the Mini-Program code (scene) of their first entry. ' +
      'New users in all: ' + days.reduce((n, d) => n + d.new_users, 0) + ` in ${days.length} days.`),
    table([
      { label: 'Scene', value: (r) => h('code', {}, r.scene) },
      { label: 'Today', class: 'num', value: (r) => String(r.today) },
      { label: `Last ${days.length} days`, class: 'num', value: (r) => String(r.total) },
    ], rows, 'No user came through a Mini-Program code in these days.'));
}

export async function render(main) {
  // The screen's own box, attached before the call: if the screen is shown
  // again meanwhile (the sign-in's hash change routes twice), the older
  // render finds its box detached and draws nothing.
  const box = h('div', { class: 'dashboard' });
  main.append(box);
  let rep;
  try {
    rep = await get('/stats?days=' + DAYS);
  } catch (err) {
    box.append(errorBox(err));
    return;
  }
  if (!box.isConnected) return;
  const days = rep.days;
  const today = days[days.length - 1];
  const pick = h('select', { id: 'f-metric', name: 'metric' },
    METRICS.map((m) => h('option', { value: m.key }, m.label)));
  const holder = h('div', { class: 'chart-holder' }, chart(days, METRICS[0]));
  pick.addEventListener('change', () => {
    holder.replaceChildren(chart(days, METRICS.find((m) => m.key === pick.value)));
  });
  box.append(
    section('Today', h('p', { class: 'muted' }, today.day + ' (China Standard Time, UTC+8)'), tiles(today)),
    section(`Last ${days.length} days`,
      h('div', { class: 'field inline' }, h('label', { for: 'f-metric' }, 'Chart'), pick),
      holder,
      table([{ label: 'Day', value: (d) => d.day }].concat(METRICS.map((m) =>
        ({ label: m.label, class: 'num', value: (d) => show(m, d[m.key]) }))),
      days.slice().reverse().map((d) => Object.assign({ id: d.day }, d)))),
    scenes(days));
}
