// wallet.js: the stored-value wallet (docs/wallet.md; on when the server
// runs with MINIFN_WALLET=on). Top-up plans (list, create); a member's
// wallet by OpenID: balance (principal and bonus), ledger, read-only; an
// adjustment, which the API refuses without a reason (its message is shown);
// the refund of a paid top-up from its ledger line.
import { get, post, newKey } from './api.js';
import { h, action, field, section, table, yuan, fen, when, toast, errorBox } from './ui.js';

// signedFen reads a signed yuan amount ("-3.5" → -350); NaN if it is not one.
function signedFen(text) {
  const t = String(text).trim().replace(/^−/, '-');
  return t.startsWith('-') ? -fen(t.slice(1)) : fen(t.replace(/^\+/, ''));
}

export async function render(main) {
  const plans = h('div', { class: 'plan-list' });
  let planKey = newKey();
  const planForm = h('form', { class: 'row', 'aria-label': 'New top-up plan' },
    field('Pay (¥)', { name: 'amount', required: true, inputmode: 'decimal', size: 8 }),
    field('Bonus (¥)', { name: 'bonus', inputmode: 'decimal', size: 8, value: '0' }),
    h('button', { type: 'submit' }, 'Create plan'));

  async function loadPlans() {
    try {
      const res = await get('/topup-plans');
      plans.replaceChildren(table([
        { label: 'Plan', value: (p) => h('code', {}, p.id) },
        { label: 'Pay', class: 'num', value: (p) => yuan(p.amount) },
        { label: 'Bonus', class: 'num', value: (p) => yuan(p.bonus) },
        { label: 'Credited', class: 'num', value: (p) => yuan(p.amount + p.bonus) },
        { label: 'Created', value: (p) => when(p.created_at) },
      ], res.plans, 'No top-up plan yet.'));
    } catch (err) {
      plans.replaceChildren(errorBox(err));
    }
  }

  action(planForm, async (data) => {
    const amount = fen(data.get('amount'));
    const bonus = data.get('bonus') === '' ? 0 : fen(data.get('bonus'));
    // A typo goes to the API as it is (NaN → null) so its message explains.
    const body = { amount: isNaN(amount) ? null : amount, bonus: isNaN(bonus) ? null : bonus };
    const { plan } = await post('/topup-plans', body, { key: planKey });
    planKey = newKey();
    planForm.reset();
    toast('Plan ' + yuan(plan.amount) + ' + ' + yuan(plan.bonus) + ' created');
    await loadPlans();
  });

  // A member's wallet.
  const member = h('div', { class: 'member-wallet' });
  const lookup = h('form', { class: 'row', 'aria-label': 'Member wallet' },
    field('Member OpenID', { name: 'openid', required: true, class: 'mono', size: 34, autocomplete: 'off' }),
    h('button', { type: 'submit' }, 'Open'));
  const walletPath = (openid) => '/wallets/' + encodeURIComponent(openid);
  const topupPath = (no) => '/wallet/topups/' + encodeURIComponent(no);

  async function show(openid) {
    const res = await get(walletPath(openid) + '?limit=200');
    let adjustKey = newKey();
    const adjust = h('form', { class: 'row', 'aria-label': 'Adjust balance' },
      field('Adjustment (¥, − to take off)', { name: 'adjust_amount', required: true, inputmode: 'decimal', size: 10 }),
      // Not `required` here: the API requires the reason, and its refusal
      // is what the form shows.
      field('Reason', { name: 'adjust_reason', size: 40, maxlength: 80 }),
      h('button', { type: 'submit' }, 'Adjust'));
    // Field names unlike the plan form's: a label finds its input by id.
    action(adjust, async (data) => {
      const amount = signedFen(data.get('adjust_amount'));
      const out = await post(walletPath(openid) + '/adjust',
        { amount: isNaN(amount) ? null : amount, reason: String(data.get('adjust_reason')).trim() }, { key: adjustKey });
      adjustKey = newKey();
      toast('Adjusted by ' + yuan(out.entry.amount) + '; balance ' + yuan(out.balance));
      await show(openid);
    });
    const refund = async (no) => {
      const reason = 'Refunded from the console';
      const { topup } = await post(topupPath(no) + '/refund', { reason }, { key: 'console-refund-' + no });
      const last = (topup.refunds || []).slice(-1)[0];
      toast('Top-up ' + no + ': refund ' + (last ? yuan(last.amount) + ' ' + last.status : 'asked'));
      await show(openid);
    };
    member.replaceChildren(section('Wallet of ' + openid,
      h('dl', { class: 'balance' },
        h('dt', {}, 'Balance'), h('dd', { 'data-field': 'balance' }, yuan(res.balance)),
        h('dt', {}, 'Principal (paid)'), h('dd', { 'data-field': 'principal' }, yuan(res.principal)),
        h('dt', {}, 'Bonus'), h('dd', { 'data-field': 'bonus' }, yuan(res.bonus))),
      h('h3', {}, 'Ledger'),
      table([
        { label: 'When', value: (e) => when(e.at) },
        { label: 'Kind', value: (e) => h('span', { class: 'badge ' + e.kind }, e.kind) },
        { label: 'Amount', class: 'num', value: (e) => yuan(e.amount) },
        { label: 'Principal', class: 'num', value: (e) => yuan(e.principal) },
        { label: 'Bonus', class: 'num', value: (e) => yuan(e.bonus) },
        { label: 'Ref', value: (e) => (e.ref ? h('code', {}, e.ref) : '') },
        { label: 'Reason', value: (e) => e.reason || '' },
        { label: '', value: (e) => (e.kind === 'topup' && e.ref ? h('button', { class: 'danger',
          'aria-label': 'Refund top-up ' + e.ref,
          onclick: () => refund(e.ref).catch((err) => toast(err.message, 'error')) }, 'Refund') : '') },
      ], res.ledger, 'No ledger entry: this member never had a balance.'),
      res.next ? h('p', { class: 'muted' }, 'Older entries are not shown.') : '',
      h('h3', {}, 'Adjust'),
      h('p', { class: 'muted' }, 'An adjustment is logged in the ledger with its reason.'),
      adjust));
  }

  action(lookup, async (data) => {
    await show(String(data.get('openid')).trim());
  });

  main.append(
    section('Top-up plans', planForm, plans),
    section('Member wallet', h('p', { class: 'muted' },
      'A user’s OpenID is in GET /me, or in the Emulator screen for test users.'), lookup),
    member);
  await loadPlans();
}
