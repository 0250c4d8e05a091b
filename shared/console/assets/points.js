// points.js: mint a batch of one-time point codes, print it as a sheet of
// QR codes (the server draws them: GET /points/codes/{code}/qr) or download
// it as CSV; and the rewards catalog.
import { get, post, image, newKey } from './api.js';
import { h, action, field, section, table, toast, errorBox } from './ui.js';

export async function render(main) {
  const sheet = h('div');
  const urls = [];
  const mint = h('form', { class: 'row', 'aria-label': 'Mint point codes' },
    field('Points per code', { name: 'points', type: 'number', min: 1, required: true, value: '10' }),
    field('How many codes', { name: 'count', type: 'number', min: 1, max: 1000, required: true, value: '12' }),
    h('button', { type: 'submit' }, 'Mint'));
  let mintKey = newKey();
  action(mint, async (d) => {
    const points = Number(d.get('points'));
    const { codes } = await post('/points/codes', { points, count: Number(d.get('count')) }, { key: mintKey });
    mintKey = newKey();
    toast(codes.length + ' codes minted');
    await showSheet(points, codes);
  });

  async function showSheet(points, codes) {
    urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
    const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');
    const csv = 'code,points\n' + codes.map((c) => c + ',' + points).join('\n') + '\n';
    const csvURL = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    urls.push(csvURL);
    const figures = codes.map((c) => h('figure', {},
      h('img', { alt: 'QR code of point code ' + c, width: 160, height: 160 }),
      h('figcaption', {}, h('span', { class: 'pts' }, points + ' points'), h('br'), c)));
    sheet.replaceChildren(h('section', { class: 'card printable', 'aria-label': 'Point code sheet' },
      h('h2', { class: 'no-print' }, 'Batch of ' + codes.length + ' × ' + points + ' points'),
      h('p', { class: 'actions no-print' },
        h('button', { type: 'button', onclick: () => window.print() }, 'Print sheet'),
        h('a', { href: csvURL, download: 'point-codes-' + stamp + '.csv', class: 'download' }, 'Download CSV')),
      h('p', { class: 'muted no-print' }, 'Keep the CSV: the codes cannot be listed again.'),
      h('div', { class: 'sheet' }, figures)));
    // The QR images need the admin token: fetch them, a few at a time.
    let i = 0;
    const worker = async () => {
      while (i < codes.length) {
        const n = i++;
        try {
          const u = await image('/points/codes/' + encodeURIComponent(codes[n]) + '/qr?size=320');
          urls.push(u);
          figures[n].querySelector('img').src = u;
        } catch (err) {
          figures[n].prepend(errorBox(err));
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  const rewards = h('div');
  let rewardKey = newKey();
  const rewardForm = h('form', { class: 'row', 'aria-label': 'New reward' },
    field('Reward', { name: 'title', required: true }),
    field('Cost (points)', { name: 'points', type: 'number', min: 1, required: true }),
    field('Stock', { name: 'stock', type: 'number', min: 0, required: true }),
    h('button', { type: 'submit' }, 'Add reward'));
  action(rewardForm, async (d) => {
    await post('/rewards', { title: d.get('title'), points: Number(d.get('points')), stock: Number(d.get('stock')) },
      { key: rewardKey });
    rewardKey = newKey();
    rewardForm.reset();
    toast('Reward added');
    loadRewards();
  });
  async function loadRewards() {
    try {
      const res = await get('/rewards');
      rewards.replaceChildren(table([
        { label: 'Reward', value: (r) => r.title },
        { label: 'Cost', class: 'num', value: (r) => String(r.points) },
        { label: 'Stock', class: 'num', value: (r) => String(r.stock ?? r.remaining ?? '') },
      ], res.rewards, 'No rewards yet.'));
    } catch (err) {
      rewards.replaceChildren(errorBox(err));
    }
  }

  main.append(section('Mint point codes', mint), sheet, section('Rewards', rewardForm, rewards));
  await loadRewards();
  return () => urls.forEach((u) => URL.revokeObjectURL(u));
}
