// The minifn API this sample talks to. For `minifn dev` on your machine,
// tick "Do not verify valid domain names" in WeChat DevTools (详情 → 本地设置).
module.exports = {
  baseURL: 'http://127.0.0.1:8080',
  // The subscribe message template of the booking reminder (function
  // `bookings`), asked for before the first booking; '' asks nothing.
  bookingReminderTemplate: '',
};
