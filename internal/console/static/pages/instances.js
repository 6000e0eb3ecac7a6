// Instances: list, create, keys shown once, rotation, settings.

import { api, enc } from '../api.js';
import { h, errorBox, okBox, showError, field, check, table, time, confirmAction, copyButton } from '../ui.js';

// keysPanel shows the keys of a creation or rotation: the only time the
// API ever answers them.
function keysPanel(inst) {
  return h('div', { class: 'panel', id: 'keys' },
    h('h2', {}, `Keys of ${inst.instanceId}`),
    h('p', { class: 'error' }, 'Shown once: copy them now. The node keeps only a hash of the API key and the client secret sealed; a lost key is replaced by a rotation.'),
    ...[['API key', inst.apiKey, 'api-key'], ['Client secret', inst.clientSecret, 'client-secret']].map(([label, v, id]) =>
      h('p', {}, h('span', { class: 'muted' }, label, ': '), h('code', { class: 'secret', id }, v), ' ', copyButton(v, `Copy ${label.toLowerCase()}`))));
}

function settingsForm(id, s, onSaved) {
  const err = errorBox('settings-error');
  const ok = okBox('settings-ok');
  const form = h('form', { id: 'settings-form' },
    h('h2', {}, `Settings of ${id}`),
    check('Require client tokens (requireToken)', 'requireToken', s.requireToken),
    check('Signature switch (signatureCheck)', 'signatureCheck', s.signatureCheck),
    check('Log API pushes (logApiPushes)', 'logApiPushes', s.logApiPushes),
    h('div', {},
      field('Validation URL', h('input', { name: 'validationUrl', type: 'url', value: s.validationUrl, placeholder: 'https://… or empty' })),
      field('Push auth', h('select', { name: 'pushAuth' }, ['apiKey', 'networks'].map((v) => h('option', { value: v, selected: s.pushAuth === v }, v)))),
      field('Push networks (comma separated)', h('input', { name: 'pushNetworks', value: (s.pushNetworks || []).join(', ') })),
      field('Device binding', h('select', { name: 'deviceBinding' }, ['token', 'any'].map((v) => h('option', { value: v, selected: s.deviceBinding === v }, v))))),
    h('button', { type: 'submit' }, 'Save settings'), err, ok);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err); ok.textContent = '';
    const f = form.elements;
    const body = {
      requireToken: f.requireToken.checked, signatureCheck: f.signatureCheck.checked, logApiPushes: f.logApiPushes.checked,
      validationUrl: f.validationUrl.value.trim(), pushAuth: f.pushAuth.value, deviceBinding: f.deviceBinding.value,
      pushNetworks: f.pushNetworks.value.split(',').map((x) => x.trim()).filter(Boolean),
    };
    try {
      await api('PATCH', `instances/${enc(id)}/settings`, body);
      ok.textContent = 'Settings saved.';
      onSaved();
    } catch (e) { showError(err, e); }
  });
  return form;
}

export default async function instances(root, ctx) {
  const listErr = errorBox('instances-error');
  const createErr = errorBox('create-error');
  const keys = h('div');
  const detail = h('div');
  const list = h('div');
  const createForm = h('form', { id: 'create-instance' },
    h('h2', {}, 'Create an instance'),
    h('div', { class: 'row' },
      field('Instance id (workspaceId_AppId)', h('input', { name: 'instanceId', required: true, maxlength: 64, pattern: '[A-Za-z0-9_.\\-]{1,64}' })),
      h('button', { type: 'submit' }, 'Create')),
    createErr);
  root.append(h('h1', {}, 'Instances'), listErr, list, createForm, keys, detail);

  async function load() {
    showError(listErr);
    try {
      const all = await ctx.refreshInstances();
      list.replaceChildren(table(['Instance', 'bizTypes', 'API key', 'Client secret', 'Created', 'Keys rotated', ''],
        all.map((i) => h('tr', { 'data-instance': i.instanceId },
          h('td', {}, i.instanceId), h('td', {}, i.bizTypes), h('td', {}, h('code', {}, (i.apiKeyPrefix || '') + '…')),
          h('td', {}, h('code', {}, (i.clientSecretPrefix || '') + '…')), h('td', {}, time(i.createdAt)), h('td', {}, time(i.keysRotatedAt)),
          h('td', {},
            h('button', { type: 'button', class: 'secondary', onclick: () => showSettings(i.instanceId) }, 'Settings'), ' ',
            h('button', { type: 'button', class: 'danger', onclick: () => rotate(i.instanceId) }, 'Rotate keys')))), 'instances-table'));
    } catch (e) { showError(listErr, e); }
  }

  async function showSettings(id) {
    ctx.instance = id;
    detail.replaceChildren();
    try {
      const { settings } = await api('GET', `instances/${enc(id)}/settings`);
      detail.replaceChildren(settingsForm(id, settings, load));
      detail.querySelector('input').focus();
    } catch (e) { detail.replaceChildren(errorBox()); showError(detail.firstChild, e); }
  }

  async function rotate(id) {
    if (!await confirmAction(`Rotate the keys of ${id}? The current API key and client secret stop working at once.`)) return;
    showError(listErr);
    try {
      const { instance } = await api('POST', `instances/${enc(id)}/keys/rotate`);
      keys.replaceChildren(keysPanel(instance));
      load();
    } catch (e) { showError(listErr, e); }
  }

  createForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(createErr);
    try {
      const { instance } = await api('POST', 'instances', { instanceId: createForm.elements.instanceId.value.trim() });
      createForm.reset();
      keys.replaceChildren(keysPanel(instance));
      ctx.instance = instance.instanceId;
      await load();
      ctx.instance = instance.instanceId;
    } catch (e) { showError(createErr, e); }
  });
  await load();
}
