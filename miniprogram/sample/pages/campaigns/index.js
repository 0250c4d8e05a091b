// Campaigns: what is open now, with the stock left, and a claim button.
// A Mini-Program code for this page carries {"campaign": id} in its scene.
const { discount } = require('../../lib/format.js');

const app = getApp();

Page({
  data: { campaigns: [], highlight: '', claiming: '' },
  keys: {}, // one Idempotency-Key per campaign until its claim succeeds: a double tap claims once

  async onLoad(options) {
    await app.launched;
    try {
      const s = await app.api.resolveScene(options);
      if (s && s.params && s.params.campaign) this.setData({ highlight: s.params.campaign });
    } catch (err) {
      // An unknown scene still shows the page.
    }
    await this.load();
  },

  onPullDownRefresh() {
    this.load().then(() => wx.stopPullDownRefresh());
  },

  async load() {
    try {
      const { campaigns } = await app.api.campaigns();
      this.setData({ campaigns: campaigns.map((c) => Object.assign({}, c, { offer: discount(c.discount) })) });
    } catch (err) {
      app.fail(err);
    }
  },

  async claim(e) {
    const id = e.currentTarget.dataset.id;
    this.keys[id] = this.keys[id] || app.api.newKey();
    this.setData({ claiming: id });
    try {
      await app.api.claim(id, this.keys[id]);
      delete this.keys[id];
      wx.showToast({ title: 'Claimed' });
      await this.load();
    } catch (err) {
      if (err.status && err.status < 500) delete this.keys[id]; // refused: a new tap is a new attempt
      app.fail(err);
    } finally {
      this.setData({ claiming: '' });
    }
  },
});
