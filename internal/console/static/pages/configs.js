// bizType configs of the current instance: list with online state,
// create / edit with every option of the admin API, online / offline /
// delete with confirmation. Validation is the API's: its messages are
// shown as it answers them.

import { api, enc } from '../api.js';
import { h, errorBox, okBox, showError, field, check, table, time, confirmAction } from '../ui.js';
import { needInstance } from './need.js';

const select = (name, values, cur) => h('select', { name }, values.map((v) => h('option', { value: v, selected: v === cur }, v)));

function configForm(cfg, onSaved) {
  const c = cfg || { scope: 'specified', target: 'user', persistent: true, repushMode: 'queue', maxRetries: 6, retentionDays: 30 };
  const err = errorBox('config-error');
  const ok = okBox('config-ok');
  const form = h('form', { id: 'config-form' },
    h('h2', {}, cfg ? `Edit ${cfg.bizType}` : 'Create a bizType config'),
    h('div', {},
      field('bizType', h('input', { name: 'bizType', value: c.bizType || '', required: true, readonly: !!cfg })),
      field('Description', h('input', { name: 'description', value: c.description || '' })),
      field('Scope', select('scope', ['specified', 'global'], c.scope)),
      field('Target', select('target', ['user', 'device'], c.target)),
      field('Repush mode', select('repushMode', ['queue', 'threshold'], c.repushMode)),
      field('Threshold', h('input', { name: 'threshold', type: 'number', min: 0, value: c.threshold || 0 })),
      field('Max retries', h('input', { name: 'maxRetries', type: 'number', min: 0, value: c.maxRetries })),
      field('Retention days', h('input', { name: 'retentionDays', type: 'number', min: 0, value: c.retentionDays }))),
    h('div', {},
      check('Multi-device', 'multiDevice', c.multiDevice),
      check('Persistent', 'persistent', c.persistent),
      check('Consistency check', 'consistencyCheck', c.consistencyCheck),
      check('Push to online only (global)', 'pushToOnline', c.pushToOnline)),
    h('button', { type: 'submit' }, cfg ? 'Save' : 'Create'), err, ok);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err); ok.textContent = '';
    const f = form.elements;
    const body = {
      description: f.description.value, scope: f.scope.value, target: f.target.value, repushMode: f.repushMode.value,
      threshold: Number(f.threshold.value || 0), maxRetries: Number(f.maxRetries.value || 0), retentionDays: Number(f.retentionDays.value || 0),
      multiDevice: f.multiDevice.checked, persistent: f.persistent.checked, consistencyCheck: f.consistencyCheck.checked, pushToOnline: f.pushToOnline.checked,
    };
    try {
      const { config } = await api('PUT', `instances/${enc(onSaved.instance)}/biztypes/${enc(f.bizType.value.trim())}`, body);
      ok.textContent = `Saved ${config.bizType}.`;
      onSaved(config);
    } catch (e) { showError(err, e); }
  });
  return form;
}

export default async function configs(root, ctx) {
  if (needInstance(root, ctx, 'bizType configs')) return;
  const id = ctx.instance;
  const listErr = errorBox('configs-error');
  const list = h('div');
  const editor = h('div');
  const saved = () => load();
  saved.instance = id;
  root.append(h('h1', {}, `bizType configs of ${id}`), listErr, list,
    h('p', {}, h('button', { type: 'button', id: 'new-config', onclick: () => edit(null) }, 'New config')), editor);

  function edit(cfg) {
    editor.replaceChildren(configForm(cfg, saved));
    editor.querySelector(cfg ? '[name=description]' : '[name=bizType]').focus();
  }

  async function act(cfg, what) {
    const q = { online: `Take ${cfg.bizType} online? Pushes are accepted and stored entries delivered again.`,
      offline: `Take ${cfg.bizType} offline? Pushes are refused (BIZ_NOT_ONLINE) and stored entries are not delivered.`,
      delete: `Delete ${cfg.bizType}? Pushes are refused and its stored entries are deleted after the grace period.` }[what];
    if (!await confirmAction(q)) return;
    showError(listErr);
    try {
      if (what === 'delete') await api('DELETE', `instances/${enc(id)}/biztypes/${enc(cfg.bizType)}`);
      else await api('POST', `instances/${enc(id)}/biztypes/${enc(cfg.bizType)}/${what}`);
      load();
    } catch (e) { showError(listErr, e); }
  }

  async function load() {
    showError(listErr);
    try {
      const { configs: all } = await api('GET', `instances/${enc(id)}/biztypes`);
      list.replaceChildren(all.length ? table(['bizType', 'State', 'Scope', 'Target', 'Persistent', 'Repush', 'Retries', 'Retention', 'Updated', ''],
        all.map((c) => h('tr', { 'data-biz': c.bizType },
          h('td', {}, c.bizType, c.description ? h('div', { class: 'muted' }, c.description) : null),
          h('td', {}, h('span', { class: `badge ${c.online ? 'on' : 'off'}` }, c.online ? 'online' : 'offline')),
          h('td', {}, c.scope, c.pushToOnline ? ' (online only)' : ''), h('td', {}, c.target, c.multiDevice ? ' (multi-device)' : ''),
          h('td', {}, c.persistent ? 'yes' : 'no'), h('td', {}, c.repushMode, c.threshold ? ` ${c.threshold}` : ''),
          h('td', {}, c.maxRetries), h('td', {}, `${c.retentionDays} d`), h('td', {}, time(c.updatedAt)),
          h('td', {},
            h('button', { type: 'button', class: 'secondary', 'data-act': 'edit', onclick: () => edit(c) }, 'Edit'), ' ',
            c.online ? h('button', { type: 'button', class: 'danger', 'data-act': 'offline', onclick: () => act(c, 'offline') }, 'Offline')
              : h('button', { type: 'button', 'data-act': 'online', onclick: () => act(c, 'online') }, 'Online'), ' ',
            h('button', { type: 'button', class: 'danger', 'data-act': 'delete', onclick: () => act(c, 'delete') }, 'Delete')))), 'configs-table')
        : h('p', { class: 'muted' }, 'No bizType configs yet.'));
    } catch (e) { showError(listErr, e); }
  }
  await load();
}
