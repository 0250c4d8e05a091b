// tiers.js: the membership tiers (function `members`, CONTRACT "Membership
// and wallet"): GET /tiers lists them, PUT /tiers replaces the whole list
// {"tiers":[{"id","name","min_growth","discount_percent"?,"points_multiplier"?}]}.
// Growth is paid fen less refunds, so min_growth is typed in yuan. The
// screen is in the menu only where GET /tiers answers (app.js's probe).
import { get, put } from './api.js';
import { h, action, field, section, yuan, fen, errorBox, toast } from './ui.js';

// row is one editable tier; its inputs are named by index so FormData
// reads the list back in order.
function row(i, t) {
  return h('fieldset', { class: 'row tier', 'aria-label': 'Tier ' + (i + 1) },
    field('Id', { name: 'id' + i, value: t.id || '', required: true, size: 10, class: 'mono' }),
    field('Name', { name: 'name' + i, value: t.name || '', required: true, size: 14 }),
    field('From growth (¥)', { name: 'min' + i, value: t.min_growth != null ? yuan(t.min_growth).replace(/[¥,]/g, '') : '',
      required: true, inputmode: 'decimal', size: 10 }),
    field('Discount %', { name: 'disc' + i, value: t.discount_percent != null ? String(t.discount_percent) : '',
      inputmode: 'numeric', size: 4 }),
    field('Points ×', { name: 'mult' + i, value: t.points_multiplier != null ? String(t.points_multiplier) : '',
      inputmode: 'decimal', size: 4 }));
}

export async function render(main) {
  const rows = h('div', { class: 'tier-rows' });
  let count = 0;
  const form = h('form', { 'aria-label': 'Tiers' }, rows,
    h('p', { class: 'row' },
      h('button', { type: 'button', class: 'secondary', onclick: () => rows.append(row(count++, {})) }, 'Add a tier'),
      h('button', { type: 'submit' }, 'Save tiers')));

  function show(tiers) {
    count = 0;
    rows.replaceChildren(...tiers.map((t) => row(count++, t)));
    if (!tiers.length) rows.append(h('p', { class: 'empty' }, 'No tier yet: Add a tier.'));
  }

  action(form, async (data) => {
    const tiers = [];
    for (let i = 0; i < count; i++) {
      if (!data.has('id' + i)) continue;
      const t = { id: String(data.get('id' + i)).trim(), name: String(data.get('name' + i)).trim() };
      const min = fen(data.get('min' + i));
      // A typo goes to the API as it is (null) so its message explains.
      t.min_growth = isNaN(min) ? null : min;
      if (String(data.get('disc' + i)).trim() !== '') t.discount_percent = Number(data.get('disc' + i));
      if (String(data.get('mult' + i)).trim() !== '') t.points_multiplier = Number(data.get('mult' + i));
      tiers.push(t);
    }
    const res = await put('/tiers', { tiers });
    toast('Tiers saved');
    show(res.tiers || tiers);
  });

  main.append(section('Tiers', h('p', { class: 'muted' },
    'A member’s growth is what they paid, less refunds; each tier starts at its growth. Saving replaces the whole list.'), form));
  try {
    show((await get('/tiers')).tiers || []);
  } catch (err) {
    rows.replaceChildren(errorBox(err));
  }
}
