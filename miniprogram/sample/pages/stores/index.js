// Stores: the stores near the user, nearest first with their distance
// (wx.getLocation in GCJ-02 → GET /stores?lat=&lng=&radius_m=). The
// location needs app.json's requiredPrivateInfos ["getLocation"] and the
// scope.userLocation description; WeChat shows its privacy popup before the
// first call. A user who refuses it still sees every store, without
// distances (GET /stores). From a store: Scan & go, or Book a table.
const { distance } = require('../../lib/format.js');

const app = getApp();

function view(s) {
  return Object.assign({}, s, { distanceShown: distance(s.distance_m), open: s.status !== 'closed' });
}

Page({
  data: { stores: [], located: false, note: '', loading: false },

  // Located once when the page opens, and again on pull-down: WeChat
  // limits how often wx.getLocation may be called (base library 2.17.0).
  async onLoad() {
    await app.launched;
    await this.load();
  },

  async onPullDownRefresh() {
    await this.load();
    wx.stopPullDownRefresh();
  },

  async load() {
    this.setData({ loading: true });
    try {
      const res = await app.api.stores.nearby({ radiusM: 10000 });
      this.setData({ stores: res.stores.map(view), located: true,
        note: res.stores.length ? '' : 'No store within 10 km' });
    } catch (err) {
      if (err.code !== 'location_denied' && err.code !== 'location_failed') {
        app.fail(err);
        this.setData({ loading: false });
        return;
      }
      // Without the location: every store, in the API's order.
      try {
        const { stores } = await app.api.stores.list();
        this.setData({ stores: stores.map(view), located: false,
          note: 'Location off: all stores are shown, without distances.' });
      } catch (err2) {
        app.fail(err2);
      }
    }
    this.setData({ loading: false });
  },

  scan(e) {
    wx.navigateTo({ url: '/pages/scan/index?store=' + encodeURIComponent(e.currentTarget.dataset.id) });
  },

  book(e) {
    wx.navigateTo({ url: '/pages/booking/index?store=' + encodeURIComponent(e.currentTarget.dataset.id) });
  },
});
