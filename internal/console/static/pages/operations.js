// The operation log of the current instance with the API's filters; paging
// goes to older rows by asking again with `to` just before the oldest row
// shown (the API answers the newest first and says `truncated`).

import { api, enc } from '../api.js';
import { h, errorBox, showError, field, table, time } from '../ui.js';
import { needInstance } from './need.js';

const ACTIONS = ['', 'CREATE_CONFIG', 'MODIFY_CONFIG', 'DELETE_CONFIG', 'ONLINE_CONFIG', 'OFFLINE_CONFIG', 'CREATE_PUSH',
  'SIGNATURE_ON', 'SIGNATURE_OFF', 'CREATE_INSTANCE', 'ROTATE_KEYS', 'MODIFY_SETTINGS'];

function describe(op) {
  const parts = [];
  for (const [k, v] of Object.entries(op.details || {})) parts.push(`${k}=${v}`);
  for (const [k, v] of Object.entries(op.changes || {})) parts.push(`${k}: ${v.old} → ${v.new}`);
  return parts.join('; ');
}

export default async function operations(root, ctx) {
  if (needInstance(root, ctx, 'Operation log')) return;
  const id = ctx.instance;
  const err = errorBox('operations-error');
  const out = h('div', { id: 'operations-out' });
  const pager = h('div', { class: 'row' });
  const form = h('form', { id: 'operations-form' },
    h('div', { class: 'row' },
      field('From', h('input', { name: 'from', placeholder: '2024-04-03, RFC 3339 or ms' })),
      field('To', h('input', { name: 'to', placeholder: 'default now' })),
      field('Operator', h('input', { name: 'operator' })),
      field('bizType', h('input', { name: 'bizType', maxlength: 30 })),
      field('Action', h('select', { name: 'action' }, ACTIONS.map((a) => h('option', { value: a }, a || 'any')))),
      field('Rows per page', h('input', { name: 'limit', type: 'number', min: 1, max: 1000, value: 50 })),
      h('button', { type: 'submit' }, 'Filter')), err);
  root.append(h('h1', {}, `Operation log of ${id}`), form, out, pager);

  // pages holds the `to` of each page shown, to go back to newer ones.
  let pages = [];
  async function show(to) {
    showError(err);
    const f = form.elements;
    const q = new URLSearchParams();
    for (const k of ['from', 'operator', 'bizType', 'action', 'limit']) if (f[k].value.trim()) q.set(k, f[k].value.trim());
    if (to) q.set('to', to);
    let ans;
    try { ans = await api('GET', `instances/${enc(id)}/operations?${q}`); } catch (e) { showError(err, e); out.replaceChildren(); pager.replaceChildren(); return; }
    const ops = ans.operations || [];
    out.replaceChildren(ops.length ? table(['Time', 'Operator', 'Action', 'Target', 'Details'],
      ops.map((op) => h('tr', { 'data-action': op.action }, h('td', {}, time(op.time)), h('td', {}, op.operator), h('td', {}, op.action),
        h('td', {}, op.target || ''), h('td', {}, describe(op)))), 'operations-table')
      : h('p', { class: 'muted' }, 'No operations match.'));
    pager.replaceChildren(
      h('span', { class: 'muted' }, `Page ${pages.length}; ${time(ans.from)} – ${time(ans.to)}`),
      pages.length > 1 ? h('button', { type: 'button', class: 'secondary', onclick: () => { pages.pop(); show(pages.pop()); } }, 'Newer') : null,
      ans.truncated && ops.length ? h('button', { type: 'button', class: 'secondary', id: 'operations-older', onclick: () => show(String(ops[ops.length - 1].time - 1)) }, 'Older') : null);
    pages.push(to);
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); pages = []; show(form.elements.to.value.trim()); });
  pages = [];
  await show('');
}
