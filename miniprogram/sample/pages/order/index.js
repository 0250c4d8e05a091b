// One order (?id=), with Pay (when its payment sheet was closed earlier) and
// Cancel while it is pending; without an id, the list of my orders.
const { yuan } = require('../../lib/format.js');

const app = getApp();

function view(o) {
  return Object.assign({}, o, {
    totalShown: yuan(o.total), discountShown: o.discount ? yuan(o.discount) : '',
    lines: o.items.map((i) => i.title + ' × ' + i.quantity + '  ' + yuan(i.price * i.quantity)),
  });
}

Page({
  data: { order: null, orders: [], payable: false },

  async onLoad(options) {
    this.id = options.id;
  },

  async onShow() {
    await app.launched;
    try {
      if (this.id) {
        const { order } = await app.api.order(this.id);
        this.setData({ order: view(order), payable: order.status === 'pending' && !!app.unpaid[this.id] });
      } else {
        this.setData({ orders: (await app.api.orders()).orders.map(view) });
      }
    } catch (err) {
      app.fail(err);
    }
  },

  async pay() {
    try {
      const res = await app.api.payOrder(app.unpaid[this.id]);
      if (res.status !== 'cancelled') delete app.unpaid[this.id];
      this.setData({ order: view(res.order), payable: res.status === 'cancelled' });
    } catch (err) {
      app.fail(err);
    }
  },

  async cancel() {
    try {
      this.setData({ order: view((await app.api.cancelOrder(this.id)).order), payable: false });
      delete app.unpaid[this.id];
    } catch (err) {
      app.fail(err);
    }
  },

  open(e) {
    wx.navigateTo({ url: '/pages/order/index?id=' + e.currentTarget.dataset.id });
  },
});
