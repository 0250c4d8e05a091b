// campaigns.js: create, pause, resume and end campaigns; the remaining
// stock refreshes every two seconds while the screen is open.
import { get, post, newKey } from './api.js';
import { h, action, field, section, table, yuan, fen, when, toast, errorBox } from './ui.js';

const POLL_MS = 2000;

function offer(d) {
  if (!d) return '';
  if (d.amount_off) return yuan(d.amount_off) + ' off';
  return d.percent_off + '% off' + (d.max_off ? ', at most ' + yuan(d.max_off) : '');
}

// iso turns a datetime-local value into RFC 3339 (the browser's time zone).
function iso(v) {
  return v ? new Date(v).toISOString() : undefined;
}

function createForm(onCreated) {
  let key = newKey();
  const kind = h('select', { id: 'f-kind', name: 'kind' },
    h('option', { value: 'amount' }, 'Amount off (¥)'), h('option', { value: 'percent' }, 'Percent off'));
  const form = h('form', { 'aria-label': 'New campaign' },
    h('div', { class: 'grid' },
      field('Title', { name: 'title', required: true, maxlength: 64 }),
      h('div', { class: 'field' }, h('label', { for: 'f-kind' }, 'Discount'), kind),
      field('Amount (¥) or percent', { name: 'off', required: true, inputmode: 'decimal', placeholder: '5 or 20' }),
      field('Max off (¥, percent only)', { name: 'max_off', inputmode: 'decimal' }),
      field('Minimum spend (¥)', { name: 'min_spend', inputmode: 'decimal', value: '0' }),
      field('Stock', { name: 'stock', type: 'number', min: 1, required: true, value: '100' }),
      field('Per user', { name: 'per_user_limit', type: 'number', min: 1, max: 100, value: '1' }),
      field('Valid days after claim', { name: 'valid_days', type: 'number', min: 1, max: 3650, value: '30' }),
      field('…or valid until', { name: 'valid_until', type: 'datetime-local' }),
      field('Claims open', { name: 'claim_starts_at', type: 'datetime-local' }),
      field('Claims close', { name: 'claim_ends_at', type: 'datetime-local' })),
    field('Description', { name: 'description', tag: 'textarea', rows: 2 }),
    h('p', {}, h('button', { type: 'submit' }, 'Create campaign')));
  return action(form, async (d) => {
    const discount = {};
    if (d.get('kind') === 'amount') {
      discount.amount_off = fen(d.get('off'));
    } else {
      discount.percent_off = Number(d.get('off'));
      if (d.get('max_off')) discount.max_off = fen(d.get('max_off'));
    }
    const body = {
      title: d.get('title'), description: d.get('description') || undefined, discount,
      min_spend: fen(d.get('min_spend') || '0'), stock: Number(d.get('stock')),
      per_user_limit: Number(d.get('per_user_limit') || 1),
      claim_starts_at: iso(d.get('claim_starts_at')), claim_ends_at: iso(d.get('claim_ends_at')),
    };
    if (d.get('valid_until')) body.valid_until = iso(d.get('valid_until'));
    else body.valid_days = Number(d.get('valid_days'));
    // Amounts the browser cannot read go to the API as null: its message names the field.
    for (const k of ['amount_off', 'max_off']) if (Number.isNaN(discount[k])) discount[k] = null;
    if (Number.isNaN(body.min_spend)) body.min_spend = null;
    const { campaign } = await post('/campaigns', body, { key });
    key = newKey();
    form.reset();
    toast('Campaign “' + campaign.title + '” created');
    onCreated();
  });
}

export async function render(main) {
  const list = h('div', { 'aria-live': 'off' });
  const problem = h('div');
  main.append(
    section('New campaign', createForm(() => refresh())),
    section('All campaigns', h('p', { class: 'muted' }, 'Remaining stock refreshes every 2 seconds.'), problem, list));

  const cells = new Map(); // id → {remaining, status, actions} of the shown rows
  let shown = '';

  async function act(c, what) {
    if (what === 'end' && !confirm('End “' + c.title + '”? Claims stop for good.')) return;
    try {
      await post('/campaigns/' + encodeURIComponent(c.id) + '/' + what);
      toast('Campaign ' + (what === 'end' ? 'ended' : what + 'd'));
      refresh();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  function buttons(c) {
    const state = c.state || c.status;
    return h('div', { class: 'actions' },
      state === 'paused'
        ? h('button', { class: 'secondary', onclick: () => act(c, 'resume') }, 'Resume')
        : state !== 'ended' && h('button', { class: 'secondary', onclick: () => act(c, 'pause') }, 'Pause'),
      state !== 'ended' && h('button', { class: 'danger', onclick: () => act(c, 'end') }, 'End'));
  }

  async function refresh() {
    let campaigns;
    try {
      ({ campaigns } = await get('/campaigns?all=1'));
      problem.replaceChildren();
    } catch (err) {
      problem.replaceChildren(errorBox(err));
      return;
    }
    const shape = campaigns.map((c) => c.id + ':' + c.status + ':' + c.state).join();
    if (shape === shown) {
      // Only the numbers moved: update them in place, keeping focus and selection.
      for (const c of campaigns) cells.get(c.id).remaining.textContent = c.remaining;
      return;
    }
    shown = shape;
    cells.clear();
    list.replaceChildren(table([
      { label: 'Campaign', value: (c) => h('span', {}, h('strong', {}, c.title), h('br'), h('span', { class: 'muted mono' }, c.id)) },
      { label: 'Offer', value: (c) => offer(c.discount) + (c.min_spend ? ' over ' + yuan(c.min_spend) : '') },
      { label: 'Remaining', class: 'num', value: (c) => {
        const el = h('span', { class: 'remaining' }, String(c.remaining));
        cells.set(c.id, { remaining: el });
        return h('span', {}, el, ' / ' + c.stock);
      } },
      { label: 'Status', value: (c) => h('span', { class: 'badge ' + c.status }, c.status.replace('_', ' ')) },
      { label: 'Claims', value: (c) => when(c.claim_starts_at) + (c.claim_ends_at ? ' – ' + when(c.claim_ends_at) : '') },
      { label: 'Actions', value: buttons },
    ], campaigns, 'No campaigns yet: create one above.'));
  }

  await refresh();
  const timer = setInterval(refresh, POLL_MS);
  return () => clearInterval(timer);
}
