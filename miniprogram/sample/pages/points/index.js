// Points: the balance and ledger, and "Scan" for the point codes printed on
// packaging or receipts (wx.scanCode → POST /points/scan).
const app = getApp();

// codeOf takes the point code out of what the camera read: the bare code,
// or a URL/path carrying it as ?code=.
function codeOf(text) {
  const m = /[?&]code=([^&#]+)/.exec(text);
  return (m ? decodeURIComponent(m[1]) : text).trim();
}

Page({
  data: { balance: 0, ledger: [], scanning: false },

  async onShow() {
    await app.launched;
    await this.load();
  },

  async load() {
    try {
      const { balance, ledger } = await app.api.points();
      this.setData({ balance, ledger: (ledger || []).map((e) => Object.assign({}, e, {
        day: (e.at || '').slice(0, 10) })) });
    } catch (err) {
      app.fail(err);
    }
  },

  async scan() {
    let text;
    try {
      text = (await new Promise((success, fail) => wx.scanCode({ onlyFromCamera: false, success, fail }))).result;
    } catch (err) {
      return; // the user closed the scanner
    }
    this.setData({ scanning: true });
    try {
      const { earned, balance } = await app.api.scanPoints(codeOf(text));
      wx.showToast({ title: '+' + earned + ' points' });
      this.setData({ balance });
      await this.load();
    } catch (err) {
      app.fail(err); // e.g. 409 already_used: "this code was already used"
    } finally {
      this.setData({ scanning: false });
    }
  },
});
