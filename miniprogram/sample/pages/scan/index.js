// Scan & go in a store (?store=id): scan each product's barcode with the
// camera (wx.scanCode → GET /products/barcode/{code}), pay the basket
// ("fulfillment":"scan_and_go", the kit's pay), then show the exit pass:
// the QR code the door staff scan to see what was paid. The pass is
// short-lived and used once; "Show again" fetches a fresh image.
const { yuan, clock } = require('../../lib/format.js');

const app = getApp();

Page({
  data: { store: null, basket: [], totalShown: '¥0.00', paying: false, order: null, pass: '', passCode: '', passExpires: '' },
  key: '', // the basket's Idempotency-Key, kept until it is paid

  async onLoad(options) {
    await app.launched;
    this.storeId = options.store ? decodeURIComponent(options.store) : '';
    try {
      if (!this.storeId) {
        // Opened without a store: the nearest one.
        const near = await app.api.stores.nearby({ radiusM: 2000 });
        if (!near.stores.length) throw new Error('No store within 2 km: open Scan & go from a store');
        this.storeId = near.stores[0].id;
      }
      const { store } = await app.api.stores.get(this.storeId);
      this.setData({ store });
    } catch (err) {
      app.fail(err);
    }
  },

  show(basket) {
    const total = basket.reduce((s, l) => s + l.price * l.quantity, 0);
    this.setData({ basket: basket.map((l) => Object.assign({}, l, { shown: yuan(l.price * l.quantity) })),
      totalShown: yuan(total) });
  },

  async scan() {
    let read;
    try {
      read = await app.api.scanAndGo.scan();
    } catch (err) {
      app.fail(err); // 400 invalid_barcode, 404 product_not_found: the API's message
      return;
    }
    if (!read) return; // the scanner was closed
    const basket = this.data.basket.map((l) => ({ sku: l.sku, title: l.title, price: l.price, quantity: l.quantity }));
    const line = basket.find((l) => l.sku === read.product.sku);
    if (line) line.quantity++;
    else basket.push({ sku: read.product.sku, title: read.product.title, price: read.product.price, quantity: 1 });
    this.key = ''; // another basket: another order
    this.show(basket);
  },

  remove(e) {
    const sku = e.currentTarget.dataset.sku;
    this.key = '';
    this.show(this.data.basket.filter((l) => l.sku !== sku));
  },

  async pay() {
    if (!this.data.basket.length) return;
    this.key = this.key || app.api.newKey();
    this.setData({ paying: true });
    try {
      const items = this.data.basket.map((l) => ({ sku: l.sku, quantity: l.quantity }));
      const res = await app.api.scanAndGo.pay(this.storeId, items, { idempotencyKey: this.key });
      if (res.status === 'cancelled') {
        app.unpaid[res.order.id] = res;
        wx.showToast({ title: 'Not paid', icon: 'none' });
        return;
      }
      this.key = '';
      this.setData({ order: res.order, basket: [], totalShown: '¥0.00' });
      if (res.status === 'paid') await this.showPass();
    } catch (err) {
      if (err.status && err.status < 500) this.key = '';
      app.fail(err); // e.g. 409 store_closed
    } finally {
      this.setData({ paying: false });
    }
  },

  // showPass fetches the paid order's exit pass (a fresh one each time).
  async showPass() {
    try {
      const pass = await app.api.scanAndGo.exitPass(this.data.order.id);
      this.setData({ pass: pass.image, passCode: pass.code, passExpires: clock(pass.expires_at) });
    } catch (err) {
      app.fail(err);
    }
  },
});
