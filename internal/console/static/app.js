// The console's shell: sign in and out, the current instance, and the
// hash router that renders one page at a time into #page.

import { api, session, ApiError } from './api.js';
import { h } from './ui.js';
import instances from './pages/instances.js';
import configs from './pages/configs.js';
import send from './pages/send.js';
import live from './pages/live.js';
import records from './pages/records.js';
import operations from './pages/operations.js';
import nodes from './pages/nodes.js';
import blocks from './pages/blocks.js';
import cards from './pages/cards.js';
import documents from './pages/documents.js';

const pages = { instances, configs, send, live, records, operations, nodes, blocks, cards, documents };
const INSTANCE = 'opsync.instance';

// ctx is what pages share: the current instance and a way to refresh the
// instance list after a change.
export const ctx = {
  get instance() { return sessionStorage.getItem(INSTANCE) || ''; },
  set instance(id) { sessionStorage.setItem(INSTANCE, id); document.getElementById('instance-select').value = id; },
  refreshInstances,
};

let leave = null; // the current page's cleanup (timers, sockets)

async function refreshInstances() {
  const { instances: list } = await api('GET', 'instances');
  const sel = document.getElementById('instance-select');
  sel.replaceChildren(h('option', { value: '' }, list.length ? '— pick one —' : '— none yet —'),
    ...list.map((i) => h('option', { value: i.instanceId }, i.instanceId)));
  if (!list.some((i) => i.instanceId === ctx.instance)) sessionStorage.removeItem(INSTANCE);
  sel.value = ctx.instance;
  return list;
}

function showSignedIn(on) {
  document.getElementById('signin').hidden = on;
  document.getElementById('nav').hidden = !on;
  document.getElementById('session').hidden = !on;
  document.getElementById('operator-name').textContent = on ? `as ${session.operator}` : '';
  if (!on) document.getElementById('page').replaceChildren();
}

async function route() {
  if (leave) { leave(); leave = null; }
  if (!session.token) { showSignedIn(false); document.getElementById('token').focus(); return; }
  showSignedIn(true);
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1] || 'instances';
  const page = pages[name] || instances;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const root = h('section', { id: `page-${name}`, 'aria-live': 'polite' });
  document.getElementById('page').replaceChildren(root);
  leave = (await page(root, ctx)) || null;
}

async function signIn(ev) {
  ev.preventDefault();
  const form = ev.target;
  const err = document.getElementById('signin-error');
  err.textContent = '';
  const token = form.token.value.trim();
  try {
    // The token is kept only once the admin API took it.
    await api('GET', 'instances', undefined, token);
  } catch (e) {
    err.textContent = e instanceof ApiError && e.status === 401 ? 'That is not the admin token of this node.' : String(e);
    return;
  }
  session.signIn(token, form.operator.value.trim());
  form.reset();
  await refreshInstances();
  await route();
  document.getElementById('main').focus();
}

function signOut() {
  if (leave) { leave(); leave = null; }
  session.signOut();
  document.getElementById('instance-select').replaceChildren();
  showSignedIn(false);
  document.getElementById('token').focus();
}

document.getElementById('signin-form').addEventListener('submit', signIn);
document.getElementById('sign-out').addEventListener('click', signOut);
document.getElementById('instance-select').addEventListener('change', (e) => { ctx.instance = e.target.value; route(); });
window.addEventListener('hashchange', route);

(async () => {
  if (session.token) {
    try { await refreshInstances(); } catch (e) {
      if (e instanceof ApiError && e.status === 401) { signOut(); document.getElementById('signin-error').textContent = 'The admin token was refused: sign in again.'; return; }
    }
  }
  route();
})();
