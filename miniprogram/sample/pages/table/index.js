// Table order: the page a table's Mini-Program code opens. WeChat passes
// the code's scene (URL-encoded) in onLoad's options.scene; GET
// /scenes/{scene} turns it into the store and the table (the kit's
// table.fromScene). The guest picks dishes and pays; the order goes to the
// store's queue with its table, and this page follows it (new → serving →
// served) while it is shown.
const { yuan } = require('../../lib/format.js');

const app = getApp();
const POLL_MS = 5000;

Page({
  data: { at: null, store: null, products: [], counts: {}, totalShown: '¥0.00', paying: false, order: null },
  key: '',

  async onLoad(options) {
    await app.launched;
    try {
      const at = await app.api.table.fromScene(options);
      if (!at || !at.storeId || !at.table) throw new Error('Scan the code on your table to order');
      const [{ store }, { products }] = await Promise.all([app.api.stores.get(at.storeId), app.api.products()]);
      this.setData({ at, store, products: products.filter((p) => p.active !== false)
        .map((p) => Object.assign({}, p, { shown: yuan(p.price) })) });
    } catch (err) {
      app.fail(err);
    }
  },

  onUnload() {
    this.gone = true;
    clearTimeout(this.timer);
  },

  add(e) {
    const sku = e.currentTarget.dataset.sku;
    const counts = Object.assign({}, this.data.counts, { [sku]: (this.data.counts[sku] || 0) + 1 });
    this.key = '';
    const total = this.data.products.reduce((s, p) => s + (counts[p.sku] || 0) * p.price, 0);
    this.setData({ counts, totalShown: yuan(total) });
  },

  async pay() {
    const items = Object.keys(this.data.counts).filter((sku) => this.data.counts[sku] > 0)
      .map((sku) => ({ sku, quantity: this.data.counts[sku] }));
    if (!items.length) return;
    this.key = this.key || app.api.newKey();
    this.setData({ paying: true });
    try {
      const res = await app.api.table.pay(this.data.at, items, { idempotencyKey: this.key });
      if (res.status === 'cancelled') {
        app.unpaid[res.order.id] = res;
        wx.showToast({ title: 'Not paid', icon: 'none' });
        return;
      }
      this.key = '';
      this.setData({ order: res.order, counts: {}, totalShown: '¥0.00' });
      await this.follow();
    } catch (err) {
      if (err.status && err.status < 500) this.key = '';
      app.fail(err);
    } finally {
      this.setData({ paying: false });
    }
  },

  // follow reads the order again until the kitchen has served it.
  async follow() {
    clearTimeout(this.timer);
    try {
      const { order } = await app.api.order(this.data.order.id);
      this.setData({ order });
      if (!this.gone && order.status === 'paid' && order.table_status !== 'served') {
        this.timer = setTimeout(() => this.follow(), POLL_MS);
      }
    } catch (err) {
      app.fail(err);
    }
  },
});
