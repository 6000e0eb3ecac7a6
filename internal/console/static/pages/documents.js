// Documents: what the admin API shows of an instance's documents data,
// its REST API secret (the prefix only) and its webhooks with their
// delivery state (GET /api/v1/instances/{id}/doc and …/doc/webhooks),
// refreshed every two seconds while the page is open. A document's
// comments are not here: they are in the documents REST API
// (/api/v5/{environmentId}/…), signed with the environment's secret,
// which the admin token does not open, and the admin API has no view of
// them.

import { api, enc } from '../api.js';
import { h, errorBox, showError, table, time } from '../ui.js';
import { needInstance } from './need.js';

export default async function documents(root, ctx) {
  if (needInstance(root, ctx, 'Documents')) return;
  const id = ctx.instance;
  const err = errorBox('documents-error');
  const env = h('div', { id: 'documents-env' });
  const hooks = h('div', { id: 'documents-hooks' });
  const stamp = h('p', { class: 'muted', role: 'status' });
  root.append(h('h1', {}, `Documents of ${id}`), err, stamp, env, h('h2', {}, 'Webhooks'), hooks,
    h('h2', {}, 'Comments'),
    h('p', { class: 'muted', id: 'documents-comments' }, 'A document\'s comments are served by the documents REST API (/api/v5/', id,
      '/…, signed with the environment\'s API secret), not by the admin API: the console, which holds only the admin token, does not show them.'));

  async function load() {
    let e, w;
    try {
      [e, w] = await Promise.all([api('GET', `instances/${enc(id)}/doc`), api('GET', `instances/${enc(id)}/doc/webhooks`)]);
    } catch (x) { showError(err, x); return; }
    showError(err);
    env.replaceChildren(table(['', ''], [['API secret', e.secret_prefix ? `${e.secret_prefix}… (set ${time(e.secret_set_at)})` : 'none issued'],
      ['Data deleted', e.deleted ? 'yes' : 'no'], ['Events queued', w.queued]]
      .map(([k, v]) => h('tr', { 'data-field': k }, h('th', { scope: 'row' }, k), h('td', {}, v))), 'documents-table'));
    hooks.replaceChildren(w.webhooks.length
      ? table(['URL', 'Events', 'Pending', 'Delivered up to (outbox seq)', 'Attempts', 'Last error', 'Last attempt', 'Last success'],
        w.webhooks.map((k) => h('tr', { 'data-hook': k.url },
          h('td', {}, k.url), h('td', {}, k.events.length ? k.events.join(', ') : 'every event'), h('td', { 'data-col': 'pending' }, k.pending),
          h('td', {}, k.delivered_seq), h('td', { 'data-col': 'attempts' }, k.attempts), h('td', { 'data-col': 'error' }, k.last_error),
          h('td', {}, time(k.last_attempt_at)), h('td', { 'data-col': 'success' }, time(k.last_success_at)))), 'webhooks-table')
      : h('p', { class: 'muted' }, 'No webhooks.'));
    stamp.textContent = `Refreshed ${new Date().toLocaleTimeString()}`;
  }
  await load();
  const timer = setInterval(load, 2000);
  return () => clearInterval(timer);
}
