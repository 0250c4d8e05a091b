// The minifn API this sample talks to. For `minifn dev` on your machine,
// tick "Do not verify valid domain names" in WeChat DevTools (详情 → 本地设置).
module.exports = {
  baseURL: 'http://127.0.0.1:8080',
};
