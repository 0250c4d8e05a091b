// Display helpers: money is integer fen in the API.
function yuan(fen) {
  const sign = fen < 0 ? '-' : '';
  fen = Math.abs(fen);
  return sign + '¥' + Math.floor(fen / 100) + '.' + String(fen % 100).padStart(2, '0');
}

function discount(d) {
  if (!d) return '';
  if (d.amount_off) return yuan(d.amount_off) + ' off';
  return d.percent_off + '% off' + (d.max_off ? ' (up to ' + yuan(d.max_off) + ')' : '');
}

// distance shows metres as a person reads them: "350 m", "1.2 km".
function distance(m) {
  if (m === undefined || m === null) return '';
  if (m < 1000) return Math.round(m) + ' m';
  return (m / 1000).toFixed(m < 10000 ? 1 : 0) + ' km';
}

// today is the date in China Standard Time (UTC+8), YYYY-MM-DD: the day
// slots and bookings are listed by, wherever the phone's clock is set.
function today(now) {
  return new Date((now || Date.now()) + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

// clock shows a time as the phone's HH:MM.
function clock(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
}

module.exports = { yuan, discount, distance, today, clock };
