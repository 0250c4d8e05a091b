// Bookings at a store (?store=id): the day's slots with the seats left
// (GET /stores/{id}/slots?date=), a party size, Book (POST /bookings: seats
// are taken like stock, so a full slot answers 409 and nothing is booked);
// my bookings, each with Cancel (the seats go back). Before the first
// booking the page asks for the reminder's subscribe message when
// config.bookingReminderTemplate is set (wx.requestSubscribeMessage → POST
// /me/subscriptions), so the reminder is sent only where the user allowed it.
const { today } = require('../../lib/format.js');
const config = require('../../config.js');

const app = getApp();

// A slot as GET /stores/{id}/slots answers it: {slot: "YYYY-MM-DDTHH:MM"
// (its name for POST /bookings), start, end, capacity, taken, available}.
function slotView(s) {
  return Object.assign({}, s, { left: s.available, full: s.available <= 0 });
}

// A booking: {id, store_id, slot, slot_end, party_size, status: booked |
// cancelled | checked_in}.
function bookingView(b) {
  return Object.assign({}, b, { day: b.slot.slice(0, 10), time: b.slot.slice(11) + '–' + b.slot_end });
}

Page({
  data: { store: null, date: '', slots: [], party: 2, mine: [], booking: '' },
  keys: {}, // slot → Idempotency-Key until the booking is made

  async onLoad(options) {
    await app.launched;
    this.storeId = decodeURIComponent(options.store || '');
    this.setData({ date: options.date || today() });
    try {
      const { store } = await app.api.stores.get(this.storeId);
      this.setData({ store });
    } catch (err) {
      app.fail(err);
    }
    await this.load();
  },

  async load() {
    try {
      const [{ slots }, { bookings }] = await Promise.all([
        app.api.bookings.slots(this.storeId, this.data.date), app.api.bookings.list()]);
      this.setData({ slots: slots.map(slotView), mine: bookings.filter((b) => b.status !== 'cancelled').map(bookingView) });
    } catch (err) {
      app.fail(err);
    }
  },

  pickDate(e) {
    this.setData({ date: e.detail.value });
    return this.load();
  },

  party(e) {
    this.setData({ party: Math.max(1, Math.min(20, Number(e.detail.value) || 1)) });
  },

  async book(e) {
    const slot = e.currentTarget.dataset.id;
    if (config.bookingReminderTemplate && !this.asked) {
      this.asked = true;
      try {
        await app.api.subscribe([config.bookingReminderTemplate]);
      } catch (err) {
        // The booking goes on without the reminder.
      }
    }
    this.keys[slot] = this.keys[slot] || app.api.newKey();
    this.setData({ booking: slot });
    try {
      await app.api.bookings.book(this.storeId, slot, this.data.party, this.keys[slot]);
      delete this.keys[slot];
      wx.showToast({ title: 'Booked' });
      await this.load();
    } catch (err) {
      if (err.status && err.status < 500) delete this.keys[slot];
      app.fail(err); // 409 when the slot is full: the API's message
    } finally {
      this.setData({ booking: '' });
    }
  },

  async cancel(e) {
    try {
      await app.api.bookings.cancel(e.currentTarget.dataset.id);
      wx.showToast({ title: 'Cancelled' });
      await this.load();
    } catch (err) {
      app.fail(err);
    }
  },
});
