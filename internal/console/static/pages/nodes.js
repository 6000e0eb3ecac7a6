// The node set as this node sees it, refreshed every two seconds while
// the page is open.

import { api } from '../api.js';
import { h, errorBox, showError, table } from '../ui.js';

export default async function nodes(root) {
  const err = errorBox('nodes-error');
  const out = h('div', { id: 'nodes-out' });
  const stamp = h('p', { class: 'muted', role: 'status' });
  root.append(h('h1', {}, 'Node set'), err, stamp, out);
  async function load() {
    try {
      const st = await api('GET', 'cluster');
      showError(err);
      const kv = [['This node', st.node], ['Journal', st.journal], ['Raft state', st.state || '—'], ['Leader', st.leader || '—'],
        ['Commit index', st.commitIndex ?? '—'], ['Applied index', st.appliedIndex ?? '—'], ['Last index', st.lastIndex ?? '—'], ['Replica index', st.replicaIndex ?? '—']];
      out.replaceChildren(
        table(['', ''], kv.map(([k, v]) => h('tr', { 'data-field': k }, h('th', { scope: 'row' }, k), h('td', {}, v))), 'nodes-status'),
        h('h2', {}, 'Members'),
        table(['Member'], (st.members || []).map((m) => h('tr', { 'data-member': m }, h('td', {}, m, m === st.node ? ' (this node)' : ''))), 'nodes-members'),
        h('h2', {}, 'Voters'),
        st.servers && st.servers.length ? table(['Id', 'Raft address', 'Suffrage', ''], st.servers.map((v) => h('tr', { 'data-voter': v.id }, h('td', {}, v.id), h('td', {}, v.raftAddress),
          h('td', {}, v.suffrage), h('td', {}, v.id === st.leader || v.raftAddress === st.leader ? 'leader' : (st.members || []).includes(v.id) ? '' : 'not a member now'))), 'nodes-voters')
          : h('p', { class: 'muted' }, 'A standalone node keeps a local journal: no voters.'));
      stamp.textContent = `Refreshed ${new Date().toLocaleTimeString()}`;
    } catch (e) { showError(err, e); }
  }
  await load();
  const timer = setInterval(load, 2000);
  return () => clearInterval(timer);
}
