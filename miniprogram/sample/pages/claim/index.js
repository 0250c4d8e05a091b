// Claim a gift card: the page a friend opens from the shared chat card
// (pages/gift's onShareAppMessage path, ?token=). onLoad receives the query
// as options; POST /giftcards/claim moves the card's value to this user's
// wallet, once (the kit's Idempotency-Key makes a double tap one claim).
const { yuan } = require('../../lib/format.js');

const app = getApp();

Page({
  data: { token: '', giftcard: null, shown: '', claiming: false, error: '' },

  onLoad(options) {
    this.setData({ token: decodeURIComponent((options && options.token) || '') });
  },

  async claim() {
    if (!this.data.token) return;
    this.setData({ claiming: true, error: '' });
    await app.launched;
    try {
      const { giftcard } = await app.api.giftcards.claim(this.data.token);
      this.setData({ giftcard, shown: yuan(giftcard.amount) });
      wx.showToast({ title: 'Added to your wallet' });
    } catch (err) {
      this.setData({ error: err.message });
      app.fail(err); // e.g. already claimed, or the sender took it back
    } finally {
      this.setData({ claiming: false });
    }
  },

  wallet() {
    wx.switchTab({ url: '/pages/wallet/index' });
  },
});
