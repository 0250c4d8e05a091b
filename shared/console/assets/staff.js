// staff.js: grant and revoke the staff role (staff may redeem coupons in
// the Mini-Program). PUT and DELETE /staff/{openid} are idempotent.
import { put, del } from './api.js';
import { h, action, field, section, when, toast } from './ui.js';

export async function render(main) {
  const log = h('ul', { class: 'log', 'aria-live': 'polite' });
  const form = h('form', { class: 'row', 'aria-label': 'Staff role' },
    field('OpenID', { name: 'openid', required: true, class: 'mono', size: 34, autocomplete: 'off' }),
    h('button', { type: 'submit', name: 'grant', value: '1' }, 'Grant'),
    h('button', { type: 'button', class: 'danger', name: 'revoke' }, 'Revoke'));
  const path = () => '/staff/' + encodeURIComponent(form.elements.openid.value.trim());
  action(form, async () => {
    const { staff } = await put(path());
    toast('Staff role granted');
    log.prepend(h('li', {}, 'Granted ', h('code', {}, staff.openid), ' at ' + when(staff.granted_at)));
  });
  const revokeForm = form.elements.revoke;
  revokeForm.addEventListener('click', async () => {
    if (!form.reportValidity()) return;
    const status = form.querySelector('.status');
    status.replaceChildren();
    try {
      const openid = form.elements.openid.value.trim();
      await del(path());
      toast('Staff role revoked');
      log.prepend(h('li', {}, 'Revoked ', h('code', {}, openid)));
    } catch (err) {
      status.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message, h('code', {}, ' ' + err.code)));
    }
  });
  main.append(section('Grant or revoke', h('p', { class: 'muted' },
    'A user’s OpenID is in GET /me, or in the Emulator screen for test users.'), form, log));
}
