// Send: one push through the admin API's console push (logged in the
// operation log), single or global, text or a file.

import { api, enc } from '../api.js';
import { h, errorBox, showError, field } from '../ui.js';
import { needInstance } from './need.js';

function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export default async function send(root, ctx) {
  if (needInstance(root, ctx, 'Send')) return;
  const id = ctx.instance;
  const err = errorBox('send-error');
  const answer = h('div', { id: 'send-answer', role: 'status' });
  const bizList = h('datalist', { id: 'biz-list' });
  const form = h('form', { id: 'send-form' },
    h('fieldset', { class: 'inline' }, h('legend', {}, 'Kind'),
      h('label', { class: 'check' }, h('input', { type: 'radio', name: 'kind', value: 'single', checked: true }), 'Single (to a user or device)'),
      h('label', { class: 'check' }, h('input', { type: 'radio', name: 'kind', value: 'global' }), 'Global')),
    h('div', {},
      field('bizType', h('input', { name: 'bizType', list: 'biz-list', required: true })), bizList,
      field('Link token (userId or device id)', h('input', { name: 'linkToken' })),
      field('thirdMsgId', h('input', { name: 'thirdMsgId', required: true, value: `console-${Date.now()}` }))),
    field('Payload (text)', h('textarea', { name: 'payload' })),
    h('div', {},
      field('…or a file (binary payload, at most 4096 bytes)', h('input', { name: 'file', type: 'file' })),
      field('OS type', h('input', { name: 'osType', placeholder: 'any' })),
      field('App min version', h('input', { name: 'appMinVersion' })),
      field('App max version', h('input', { name: 'appMaxVersion' })),
      field('Valid until (ms since the epoch)', h('input', { name: 'validTimeEnd', inputmode: 'numeric' }))),
    h('button', { type: 'submit' }, 'Send'), err);
  root.append(h('h1', {}, `Send to ${id}`), form, answer);
  const linkToken = form.elements.linkToken;
  form.addEventListener('change', () => { linkToken.disabled = form.elements.kind.value === 'global'; });

  try {
    const { configs } = await api('GET', `instances/${enc(id)}/biztypes`);
    bizList.replaceChildren(...configs.map((c) => h('option', { value: c.bizType }, `${c.scope}, ${c.online ? 'online' : 'offline'}`)));
  } catch (e) { showError(err, e); }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err);
    answer.replaceChildren();
    const f = form.elements;
    const body = { bizType: f.bizType.value.trim(), thirdMsgId: f.thirdMsgId.value.trim() };
    if (f.kind.value === 'single') body.linkToken = f.linkToken.value.trim();
    for (const k of ['osType', 'appMinVersion', 'appMaxVersion', 'validTimeEnd']) if (f[k].value.trim()) body[k] = f[k].value.trim();
    const file = f.file.files[0];
    if (file) body.binaryPayload = base64(new Uint8Array(await file.arrayBuffer()));
    else body.payload = f.payload.value;
    let ans;
    try {
      ans = await api('POST', `instances/${enc(id)}/push`, body);
    } catch (e) { showError(err, e); return; }
    const good = ans.success;
    answer.replaceChildren(h('div', { class: 'panel' },
      h('p', { class: good ? 'ok' : 'error', id: 'send-result' }, good ? `${ans.msg}: oplog id ${ans.oplogId}` : `Refused: ${ans.msg}${ans.detail ? ' — ' + ans.detail : ''}`),
      h('pre', {}, JSON.stringify(ans, null, 2))));
    f.thirdMsgId.value = `console-${Date.now()}`;
  });
}
