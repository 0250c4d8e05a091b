// The sample Mini-Program: one minifn client for every page. onLaunch logs
// in (wx.login → POST /login) and, when opened from a Mini-Program code,
// resolves its scene so that login records where the user came from.
const { createClient } = require('./lib/minifn.js');
const config = require('./config.js');

App({
  onLaunch(options) {
    this.api = createClient({ baseURL: config.baseURL });
    this.unpaid = {}; // order id → {order, payment} of orders whose payment sheet was closed
    this.launched = this.api.onLaunch(options).catch((err) => {
      wx.showToast({ title: err.message, icon: 'none' });
      return {};
    });
  },
  // fail shows an API error as the API's message.
  fail(err) {
    wx.showToast({ title: (err && err.message) || 'Something went wrong', icon: 'none' });
  },
});
