// Documents: what the admin API shows of an instance's documents data,
// its REST API secret (the prefix only) and its webhooks with their
// delivery state (GET /api/v1/instances/{id}/doc and …/doc/webhooks),
// refreshed every two seconds while the page is open; and one document by
// its id (GET /api/v1/instances/{id}/documents/{documentId}): its threads
// with their comments, its suggestions with their state, revisions, users
// and live session, read only, as the backend reads them through the
// signed REST API.

import { api, enc } from '../api.js';
import { h, errorBox, showError, field, check, table, time } from '../ui.js';
import { needInstance } from './need.js';

export default async function documents(root, ctx) {
  if (needInstance(root, ctx, 'Documents')) return;
  const id = ctx.instance;
  const err = errorBox('documents-error');
  const env = h('div', { id: 'documents-env' });
  const hooks = h('div', { id: 'documents-hooks' });
  const stamp = h('p', { class: 'muted', role: 'status' });
  root.append(h('h1', {}, `Documents of ${id}`), err, stamp, env, h('h2', {}, 'Webhooks'), hooks,
    h('h2', {}, 'A document'), documentView(id));

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

// when is a record's ISO 8601 time as the rest of the console shows times.
function when(iso) {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

// deletedMark marks a record shown only because "show deleted" is ticked.
function deletedMark(r) {
  return r.deleted ? h('span', { class: 'badge off', 'data-deleted': '' }, `deleted ${when(r.deleted_at)}`) : null;
}

// documentView is the form asking for a document by its id and what it
// shows of it; a failed call is shown by the form.
function documentView(id) {
  const err = errorBox('doc-error');
  const out = h('div', { id: 'doc-out' });
  const form = h('form', { id: 'doc-form' },
    h('div', { class: 'row' }, field('Document id', h('input', { name: 'document', required: true, autocomplete: 'off' })),
      check('Show deleted', 'deleted', false), h('button', { type: 'submit' }, 'Show')), err);
  async function show() {
    const doc = form.elements.document.value.trim();
    if (!doc) return;
    showError(err);
    out.replaceChildren(h('p', { class: 'muted', role: 'status' }, 'Loading…'));
    let d;
    try {
      d = await api('GET', `instances/${enc(id)}/documents/${enc(doc)}${form.elements.deleted.checked ? '?include_deleted=true' : ''}`);
    } catch (e) { out.replaceChildren(); showError(err, e); return; }
    out.replaceChildren(...renderDocument(d));
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); show(); });
  form.elements.deleted.addEventListener('change', show);
  return h('div', {}, form, out);
}

function renderDocument(d) {
  const truncated = Object.entries(d.truncated || {}).filter(([, v]) => v).map(([k]) => k);
  const s = d.session;
  const parts = [
    h('h3', {}, 'Live session'),
    s ? table(['', ''], [['Version', s.version], ['Connected users', s.connected_users.map((u) => u.id).join(', ') || 'none'],
      ['Operations after the snapshot', s.operations], ['Snapshot', s.snapshot ? `version ${s.snapshot.version}, ${s.snapshot.bytes} bytes` : 'none'],
      ['Updated', when(s.updated_at)]]
      .map(([k, v]) => h('tr', { 'data-field': k }, h('th', { scope: 'row' }, k), h('td', {}, v ?? ''))), 'doc-session')
      : h('p', { class: 'muted', id: 'doc-session' }, 'No live session.'),
  ];
  if (truncated.length) {
    parts.push(h('p', { class: 'muted', id: 'doc-truncated' }, `Only the first 1000 ${truncated.join(', ')} are shown (the documents REST API pages through the rest).`));
  }

  // Threads, each with its comments (in creation order); comments of a
  // thread not listed (deleted while "show deleted" is off) after them.
  const byThread = new Map();
  for (const c of d.comments) {
    if (!byThread.has(c.thread_id)) byThread.set(c.thread_id, []);
    byThread.get(c.thread_id).push(c);
  }
  const comments = (list) => (list.length
    ? table(['User', 'Comment', 'Created', 'Updated', ''], list.map((c) => h('tr', { 'data-comment': c.id },
      h('td', {}, c.user && c.user.id), h('td', { 'data-col': 'content' }, c.content), h('td', {}, when(c.created_at)),
      h('td', {}, when(c.updated_at)), h('td', {}, deletedMark(c)))))
    : h('p', { class: 'muted' }, 'No comments.'));
  const threads = d.threads.map((t) => {
    const list = byThread.get(t.id) || [];
    byThread.delete(t.id);
    const st = t.resolved ? `resolved${t.resolved_by ? ` by ${t.resolved_by}` : ''} ${when(t.resolved_at)}` : 'open';
    return h('section', { class: 'panel', 'data-thread': t.id },
      h('h4', {}, `Thread ${t.id} `, h('span', { class: `badge ${t.resolved ? 'plain' : 'on'}`, 'data-col': 'state' }, st), ' ', deletedMark(t)),
      h('p', { class: 'muted' }, `by ${t.author_id || 'the backend'}, ${when(t.created_at)}`), comments(list));
  });
  for (const [tid, list] of byThread) {
    threads.push(h('section', { class: 'panel', 'data-thread': tid },
      h('h4', {}, `Thread ${tid} `, h('span', { class: 'muted' }, '(not listed: deleted)')), comments(list)));
  }
  parts.push(h('h3', {}, `Threads (${d.threads.length})`), h('div', { id: 'doc-threads' },
    threads.length ? threads : h('p', { class: 'muted' }, 'No threads.')));

  parts.push(h('h3', {}, `Suggestions (${d.suggestions.length})`),
    d.suggestions.length ? table(['Id', 'Author', 'Type', 'State', 'Created', ''], d.suggestions.map((x) => h('tr', { 'data-suggestion': x.id },
      h('td', {}, x.id), h('td', {}, x.author_id), h('td', {}, x.type), h('td', { 'data-col': 'state' }, x.state),
      h('td', {}, when(x.created_at)), h('td', {}, deletedMark(x)))), 'doc-suggestions')
      : h('p', { class: 'muted', id: 'doc-suggestions' }, 'No suggestions (accepted and rejected ones are shown with "Show deleted").'));

  parts.push(h('h3', {}, `Revisions (${d.revisions.length})`),
    d.revisions.length ? table(['Id', 'Name', 'Versions', 'Authors', 'Created', ''], d.revisions.map((v) => h('tr', { 'data-revision': v.id },
      h('td', {}, v.id), h('td', {}, v.name), h('td', {}, `${v.from_version}–${v.to_version}`), h('td', {}, (v.authors_ids || []).join(', ')),
      h('td', {}, when(v.created_at)), h('td', {}, deletedMark(v)))), 'doc-revisions')
      : h('p', { class: 'muted' }, 'No revisions.'));

  parts.push(h('h3', {}, `Users (${d.users.length})`),
    d.users.length ? table(['Id', 'Name', ''], d.users.map((u) => h('tr', { 'data-user': u.id }, h('td', {}, u.id), h('td', {}, u.name),
      h('td', {}, deletedMark(u)))), 'doc-users')
      : h('p', { class: 'muted' }, 'No users.'));
  return parts;
}
