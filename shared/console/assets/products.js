// products.js: the catalog; the form creates a product or replaces the one
// with the same SKU (POST /products).
import { get, post, newKey } from './api.js';
import { h, action, field, section, table, yuan, fen, toast, errorBox } from './ui.js';

export async function render(main) {
  const list = h('div');
  let key = newKey();
  const form = h('form', { 'aria-label': 'Product' },
    h('div', { class: 'grid' },
      field('SKU', { name: 'sku', required: true, maxlength: 64 }),
      field('Title', { name: 'title', required: true }),
      field('Price (¥)', { name: 'price', required: true, inputmode: 'decimal' }),
      field('Stock (empty: unlimited or unchanged)', { name: 'stock', type: 'number', min: 0 }),
      h('div', { class: 'field' }, h('label', { for: 'f-active' }, 'On sale'),
        h('select', { id: 'f-active', name: 'active' }, h('option', { value: 'true' }, 'Yes'), h('option', { value: 'false' }, 'No')))),
    h('p', {}, h('button', { type: 'submit' }, 'Save product')));
  action(form, async (d) => {
    const price = fen(d.get('price'));
    const body = { sku: d.get('sku'), title: d.get('title'), price: Number.isNaN(price) ? null : price,
      active: d.get('active') === 'true' };
    if (d.get('stock') !== '') body.stock = Number(d.get('stock'));
    const { product } = await post('/products', body, { key });
    key = newKey();
    form.reset();
    toast('Saved ' + product.sku);
    refresh();
  });

  function edit(p) {
    form.elements.sku.value = p.sku;
    form.elements.title.value = p.title;
    form.elements.price.value = (p.price / 100).toFixed(2);
    form.elements.stock.value = p.stock ?? '';
    form.elements.active.value = String(p.active !== false);
    form.elements.title.focus();
  }

  async function refresh() {
    try {
      const { products } = await get('/products?limit=100');
      list.replaceChildren(table([
        { label: 'SKU', value: (p) => h('code', {}, p.sku) },
        { label: 'Title', value: (p) => p.title },
        { label: 'Price', class: 'num', value: (p) => yuan(p.price) },
        { label: 'Stock', class: 'num', value: (p) => (p.stock === undefined || p.stock === null ? '∞' : String(p.stock)) },
        { label: 'On sale', value: (p) => h('span', { class: 'badge ' + (p.active === false ? 'ended' : 'active') }, p.active === false ? 'no' : 'yes') },
        { label: '', value: (p) => h('button', { class: 'secondary', onclick: () => edit(p) }, 'Edit') },
      ], products, 'No products yet.'));
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
  }

  main.append(section('Add or replace a product', form), section('Catalog', list));
  await refresh();
}
