// Wallet: the balance (paid and bonus parts) and its ledger; the top-up
// plans, each paid with WeChat Pay (the kit's wallet.topUp: POST
// /wallet/topup, wx.requestPayment, then read back until the notify
// credited it). The server runs with MINIFN_WALLET=on (docs/wallet.md).
const { yuan } = require('../../lib/format.js');

const app = getApp();

const KIND = { topup: 'Top-up', spend: 'Order', return: 'Order refunded', refund: 'Top-up refunded',
  refund_reversed: 'Refund reversed', adjust: 'Adjustment', gift: 'Gift card' };

Page({
  data: { balance: '', principal: '', bonus: '', ledger: [], plans: [], paying: '' },

  async onShow() {
    await app.launched;
    await this.load();
  },

  async load() {
    try {
      const [w, p] = await Promise.all([app.api.wallet.get(), app.api.wallet.plans()]);
      this.setData({
        balance: yuan(w.balance), principal: yuan(w.principal), bonus: yuan(w.bonus),
        ledger: (w.ledger || []).map((e) => Object.assign({}, e, {
          label: KIND[e.kind] || e.kind, shown: (e.amount > 0 ? '+' : '') + yuan(e.amount), day: (e.at || '').slice(0, 10),
        })),
        plans: (p.plans || []).map((x) => Object.assign({}, x, {
          shown: 'Pay ' + yuan(x.amount) + (x.bonus ? ', get ' + yuan(x.amount + x.bonus) : ''),
        })),
      });
    } catch (err) {
      app.fail(err); // 404 wallet_disabled when the merchant has not turned the wallet on
    }
  },

  async topUp(e) {
    const id = e.currentTarget.dataset.id;
    this.setData({ paying: id });
    try {
      const res = await app.api.wallet.topUp(id);
      if (res.status === 'paid') wx.showToast({ title: 'Topped up' });
      else if (res.status === 'pending') wx.showToast({ title: 'Payment received, crediting…', icon: 'none' });
      await this.load();
    } catch (err) {
      app.fail(err);
    } finally {
      this.setData({ paying: '' });
    }
  },
});
