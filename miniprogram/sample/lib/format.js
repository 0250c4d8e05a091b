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

module.exports = { yuan, discount };
