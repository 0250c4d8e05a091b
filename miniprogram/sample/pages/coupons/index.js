// My coupons; tapping a usable one shows its redemption QR code for the
// clerk to scan (or read out: the code is printed under it).
const { discount } = require('../../lib/format.js');

const app = getApp();

Page({
  data: { coupons: [], shown: '', qr: '' },

  async onShow() {
    await app.launched;
    try {
      const { coupons } = await app.api.coupons();
      this.setData({ coupons: coupons.map((c) => Object.assign({}, c, { offer: discount(c.discount),
        until: (c.valid_until || '').slice(0, 10) })) });
    } catch (err) {
      app.fail(err);
    }
  },

  async show(e) {
    const id = e.currentTarget.dataset.id;
    if (this.data.shown === id) return this.setData({ shown: '', qr: '' });
    try {
      this.setData({ shown: id, qr: await app.api.couponQR(id, 400) });
    } catch (err) {
      app.fail(err);
    }
  },
});
