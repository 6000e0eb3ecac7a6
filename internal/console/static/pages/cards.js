// Cards: a card's data and recipients, from the admin API's records view
// of a card (GET /api/v1/instances/{id}/cards/{outTrackId}): its public
// data, each recipient's private data, who it was delivered to and how
// many connections have it open.

import { api, enc } from '../api.js';
import { h, errorBox, showError, field, table, time } from '../ui.js';
import { needInstance } from './need.js';

// params lists a cardParamMap as rows of key and value.
function params(map, id) {
  const rows = Object.entries(map || {}).sort(([a], [b]) => a.localeCompare(b));
  return rows.length ? table(['Key', 'Value'], rows.map(([k, v]) => h('tr', { 'data-key': k }, h('td', {}, k), h('td', {}, v))), id)
    : h('p', { class: 'muted' }, 'None.');
}

export default async function cards(root, ctx) {
  if (needInstance(root, ctx, 'Cards')) return;
  const id = ctx.instance;
  const err = errorBox('cards-error');
  const out = h('div', { id: 'cards-out' });
  const form = h('form', { id: 'cards-form' },
    h('div', { class: 'row' }, field('Card (outTrackId)', h('input', { name: 'card', required: true })), h('button', { type: 'submit' }, 'Show')), err);
  root.append(h('h1', {}, `Cards of ${id}`), form, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err);
    out.replaceChildren();
    let c;
    try {
      ({ card: c } = await api('GET', `instances/${enc(id)}/cards/${enc(form.elements.card.value.trim())}`));
    } catch (e) { showError(err, e); return; }
    const delivered = new Set(c.delivered || []);
    const priv = c.privateData || {};
    out.replaceChildren(
      table(['', ''], [['outTrackId', c.outTrackId], ['Template', c.cardTemplateId], ['Owner', c.userId ? `${c.userId} (${c.userIdType})` : ''],
        ['Version', c.version], ['Viewers now', c.viewers], ['Callback route key', c.callbackRouteKey], ['Created', time(c.createdAt)], ['Updated', time(c.updatedAt)]]
        .map(([k, v]) => h('tr', { 'data-field': k }, h('th', { scope: 'row' }, k), h('td', {}, v ?? ''))), 'card-table'),
      h('h2', {}, 'Data'), params(c.cardData && c.cardData.cardParamMap, 'card-data'),
      h('h2', {}, `Recipients (${c.recipients.length})`),
      c.recipients.length ? table(['User', 'Delivered', 'Private data'], c.recipients.map((u) => h('tr', { 'data-user': u },
        h('td', {}, u), h('td', {}, delivered.has(u) ? 'yes' : 'no'),
        h('td', {}, Object.entries((priv[u] && priv[u].cardParamMap) || {}).map(([k, v]) => `${k}=${v}`).join(', ')))), 'card-recipients')
        : h('p', { class: 'muted' }, 'No recipients yet.'));
  });
}
