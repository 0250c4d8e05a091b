// Shop: the catalog, an optional coupon, and "Buy": POST /orders, then the
// WeChat Pay sheet with the server's parameters (the kit's pay), then the
// order page.
const { yuan, discount } = require('../../lib/format.js');

const app = getApp();

Page({
  data: { products: [], coupons: [], couponIndex: 0, buying: '' },
  keys: {}, // one Idempotency-Key per SKU until the order is placed

  async onShow() {
    await app.launched;
    try {
      const [{ products }, { coupons }] = await Promise.all([app.api.products(), app.api.coupons('usable')]);
      this.setData({
        products: products.filter((p) => p.active !== false).map((p) => Object.assign({}, p, { shown: yuan(p.price) })),
        coupons: [{ id: '', label: 'No coupon' }].concat(coupons.map((c) => ({ id: c.id, label: c.title || discount(c.discount) }))),
      });
    } catch (err) {
      app.fail(err);
    }
  },

  pickCoupon(e) {
    this.setData({ couponIndex: Number(e.detail.value) });
  },

  async buy(e) {
    const sku = e.currentTarget.dataset.sku;
    const coupon = this.data.coupons[this.data.couponIndex];
    const req = { items: [{ sku, quantity: 1 }] };
    if (coupon && coupon.id) req.coupon_id = coupon.id;
    this.keys[sku] = this.keys[sku] || app.api.newKey();
    this.setData({ buying: sku });
    try {
      const res = await app.api.pay(req, { idempotencyKey: this.keys[sku] });
      delete this.keys[sku];
      if (res.status === 'cancelled') app.unpaid[res.order.id] = res; // the order page can pay it later
      wx.navigateTo({ url: '/pages/order/index?id=' + res.order.id });
    } catch (err) {
      if (err.status && err.status < 500) delete this.keys[sku];
      app.fail(err);
    } finally {
      this.setData({ buying: '' });
    }
  },
});
