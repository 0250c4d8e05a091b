// products.js: the catalog. The form adds a product (if_version 0: never over
// an existing SKU) or, after Edit, saves only the fields the merchant changed
// with the version it loaded (if_version). A stock change is sent as
// stock_delta, the difference from the stock loaded, so units sold since the
// load stay sold. A 409 version_conflict (someone else saved meanwhile)
// reloads the form with the current values. A product may carry a barcode
// (EAN-13 or UPC-A, for scan-and-go: GET /products/barcode/{code}); the API
// checks its check digit, and an empty field removes it.
import { get, post, newKey, APIError } from './api.js';
import { h, action, field, section, table, yuan, fen, toast, errorBox } from './ui.js';

export async function render(main) {
  const list = h('div');
  let key = newKey();
  let loaded = null; // the product being edited, as loaded; null: adding one
  const note = h('p', { class: 'muted', 'aria-live': 'polite' });
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => reset() }, 'Cancel edit');
  const form = h('form', { 'aria-label': 'Product' },
    h('div', { class: 'grid' },
      field('SKU', { name: 'sku', required: true, maxlength: 64 }),
      field('Title', { name: 'title', required: true }),
      field('Price (¥)', { name: 'price', required: true, inputmode: 'decimal' }),
      field('Stock (empty: unlimited or unchanged)', { name: 'stock', type: 'number', min: 0 }),
      field('Barcode (EAN-13 or UPC-A)', { name: 'barcode', inputmode: 'numeric', maxlength: 13, autocomplete: 'off' }),
      h('div', { class: 'field' }, h('label', { for: 'f-active' }, 'On sale'),
        h('select', { id: 'f-active', name: 'active' }, h('option', { value: 'true' }, 'Yes'), h('option', { value: 'false' }, 'No')))),
    note,
    h('p', {}, h('button', { type: 'submit' }, 'Save product'), ' ', cancel));

  // changes returns the body of an edit: only what differs from `loaded`.
  function changes(d) {
    const body = { sku: loaded.sku, if_version: loaded.version };
    const price = fen(d.get('price'));
    if (d.get('title') !== loaded.title) body.title = d.get('title');
    if (Number.isNaN(price)) throw new APIError(400, 'invalid_request', 'The price must be an amount in yuan, such as 12.50.');
    if (price !== loaded.price) body.price = price;
    const active = d.get('active') === 'true';
    if (active !== (loaded.active !== false)) body.active = active;
    const barcode = String(d.get('barcode')).trim();
    if (barcode !== (loaded.barcode || '')) body.barcode = barcode;
    if (d.get('stock') !== '') {
      const stock = Number(d.get('stock'));
      const limited = loaded.stock !== undefined && loaded.stock !== null;
      if (!limited) body.stock = stock; // starts counting: absolute, guarded by if_version
      else if (stock !== loaded.stock) body.stock_delta = stock - loaded.stock;
    }
    return body;
  }

  action(form, async (d) => {
    let body;
    if (loaded) {
      body = changes(d);
      if (Object.keys(body).length === 2) {
        toast('Nothing changed');
        return;
      }
    } else {
      const price = fen(d.get('price'));
      body = { sku: d.get('sku'), title: d.get('title'), price: Number.isNaN(price) ? null : price,
        active: d.get('active') === 'true', if_version: 0 };
      if (d.get('stock') !== '') body.stock = Number(d.get('stock'));
      if (String(d.get('barcode')).trim() !== '') body.barcode = String(d.get('barcode')).trim();
    }
    let product;
    try {
      ({ product } = await post('/products', body, { key }));
    } catch (err) {
      if (err.code !== 'version_conflict') throw err;
      key = newKey();
      const current = await reload(body.sku);
      refresh();
      throw new APIError(err.status, err.code, loaded
        ? 'Someone else saved ' + body.sku + ' meanwhile. The form now shows the current values (version ' +
          current.version + '): make your change again.'
        : 'A product with SKU ' + body.sku + ' already exists (' + err.message + '). The form now shows it: edit it.');
    }
    key = newKey();
    reset();
    toast('Saved ' + product.sku);
    refresh();
  });

  // reload loads the product with this SKU into the form, as it is now.
  async function reload(sku) {
    let after = '';
    do {
      const page = await get('/products?limit=100&after=' + encodeURIComponent(after));
      const p = page.products.find((x) => x.sku === sku);
      if (p) {
        edit(p);
        return p;
      }
      after = page.next || '';
    } while (after);
    throw new APIError(404, 'product_not_found', 'Product ' + sku + ' is not in the catalog.');
  }

  function edit(p) {
    loaded = p;
    form.elements.sku.value = p.sku;
    form.elements.sku.readOnly = true;
    form.elements.title.value = p.title;
    form.elements.price.value = (p.price / 100).toFixed(2);
    form.elements.stock.value = p.stock ?? '';
    form.elements.barcode.value = p.barcode || '';
    form.elements.active.value = String(p.active !== false);
    note.textContent = 'Editing ' + p.sku + ' (version ' + p.version + '). Only the fields you change are saved; ' +
      (p.stock === undefined || p.stock === null ? 'a stock starts counting.' :
        'a new stock is saved as the difference from ' + p.stock + ', applied to what is left when you save.');
    cancel.hidden = false;
    form.elements.title.focus();
  }

  function reset() {
    loaded = null;
    form.reset();
    form.elements.sku.readOnly = false;
    note.textContent = '';
    cancel.hidden = true;
  }

  async function refresh() {
    try {
      const { products } = await get('/products?limit=100');
      list.replaceChildren(table([
        { label: 'SKU', value: (p) => h('code', {}, p.sku) },
        { label: 'Title', value: (p) => p.title },
        { label: 'Price', class: 'num', value: (p) => yuan(p.price) },
        { label: 'Stock', class: 'num', value: (p) => (p.stock === undefined || p.stock === null ? '∞' : String(p.stock)) },
        { label: 'Barcode', value: (p) => (p.barcode ? h('code', {}, p.barcode) : '') },
        { label: 'On sale', value: (p) => h('span', { class: 'badge ' + (p.active === false ? 'ended' : 'active') }, p.active === false ? 'no' : 'yes') },
        { label: '', value: (p) => h('button', { class: 'secondary', 'aria-label': 'Edit ' + p.sku, onclick: () => edit(p) }, 'Edit') },
      ], products, 'No products yet.'));
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
  }

  main.append(section('Add or edit a product', form), section('Catalog', list));
  await refresh();
}
