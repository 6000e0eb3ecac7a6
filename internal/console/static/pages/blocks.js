// Blocks: a block's current version and viewers, from the admin API's
// records view of a block (GET /api/v1/instances/{id}/blocks/{blockId}).

import { api, enc } from '../api.js';
import { h, errorBox, showError, field, table, time } from '../ui.js';
import { needInstance } from './need.js';

export default async function blocks(root, ctx) {
  if (needInstance(root, ctx, 'Blocks')) return;
  const id = ctx.instance;
  const err = errorBox('blocks-error');
  const out = h('div', { id: 'blocks-out' });
  const form = h('form', { id: 'blocks-form' },
    h('div', { class: 'row' }, field('Block id', h('input', { name: 'block', required: true })), h('button', { type: 'submit' }, 'Show')), err);
  root.append(h('h1', {}, `Blocks of ${id}`), form, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err);
    out.replaceChildren();
    try {
      const { block: b, viewers } = await api('GET', `instances/${enc(id)}/blocks/${enc(form.elements.block.value.trim())}`);
      out.replaceChildren(
        table(['', ''], [['Block id', b.blockId], ['Business id', b.businessId], ['Title', b.title], ['Type', b.blockTypeId], ['Current version', b.version],
          ['Created', time(b.createdAt)], ['Updated', time(b.updatedAt)], ['Viewers now', viewers.total]]
          .map(([k, v]) => h('tr', { 'data-field': k }, h('th', { scope: 'row' }, k), h('td', {}, v ?? ''))), 'block-table'),
        h('h2', {}, 'Viewers per node'),
        table(['Node', 'Viewers'], Object.entries(viewers.byNode || {}).map(([n, c]) => h('tr', { 'data-node': n }, h('td', {}, n), h('td', {}, c))), 'block-viewers'));
    } catch (e) { showError(err, e); }
  });
}
