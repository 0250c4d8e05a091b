// Gift cards (function `giftcards`, CONTRACT "Membership and wallet"): buy
// one (POST /giftcards, paid with WeChat Pay), then send it: "Prepare"
// asks the server for the card's token (POST /giftcards/{id}/send), and the
// share button (open-type="share") sends a chat card whose path carries it
// to pages/claim. Page.onShareAppMessage returns {title, path}, path
// starting with "/":
// https://developers.weixin.qq.com/miniprogram/dev/reference/api/Page.html#onShareAppMessage-Object-object
const { yuan } = require('../../lib/format.js');

const app = getApp();

// sharePath is the page a friend opens from the chat card.
function sharePath(token) {
  return '/pages/claim/index?token=' + encodeURIComponent(token);
}

function view(g) {
  return Object.assign({}, g, { shown: yuan(g.amount) });
}

Page({
  data: { cards: [], amount: '', message: '', sending: null },

  async onShow() {
    await app.launched;
    await this.load();
  },

  async load() {
    try {
      const res = await app.api.giftcards.list();
      this.setData({ cards: (res.giftcards || []).map(view) });
    } catch (err) {
      app.fail(err);
    }
  },

  input(e) {
    this.setData({ [e.currentTarget.dataset.field]: e.detail.value });
  },

  async buy() {
    const amount = Math.round(Number(this.data.amount) * 100);
    try {
      const res = await app.api.giftcards.buy(amount, this.data.message);
      if (res.status === 'requested') wx.showToast({ title: 'Bought' });
      await this.load();
    } catch (err) {
      app.fail(err);
    }
  },

  // prepare fetches the token the share carries; the share button shows
  // once it is here, so onShareAppMessage answers at once.
  async prepare(e) {
    const id = e.currentTarget.dataset.id;
    try {
      const { token } = await app.api.giftcards.send(id);
      this.setData({ sending: { id, token } });
    } catch (err) {
      app.fail(err);
    }
  },

  onShareAppMessage() {
    const s = this.data.sending;
    if (!s) return { title: 'A gift card for you', path: '/pages/wallet/index' };
    return { title: 'A gift card for you', path: sharePath(s.token) };
  },
});
