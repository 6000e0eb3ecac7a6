// Live view: connect to the node's client WebSocket as a client of the
// current instance (a user, a device, bizTypes) and show deliveries as
// they arrive. It acknowledges what it shows, as a client does, and keeps
// its sync points in the tab's session storage. "Reset sync points" sets
// them to the point typed (0: the start) and connects again: the node
// delivers from the sync points a client sends, so every retained entry
// above the point comes again, except single-device entries, which the
// node keeps acknowledged for the user once any device acknowledged them
// (they go to one device, once).

import { api, enc } from '../api.js';
import { h, errorBox, showError, field, time } from '../ui.js';
import { encodeConnect, encodeAck, encodePing, decodeServerFrame } from '../pb.js';
import { needInstance } from './need.js';

const SUBPROTOCOL = 'opsync.v1';

function pointsKey(inst, user, device) { return `opsync.sync.${inst}.${user}.${device}`; }
function loadPoints(key) { try { return JSON.parse(sessionStorage.getItem(key)) || {}; } catch { return {}; } }

export default async function live(root, ctx) {
  if (needInstance(root, ctx, 'Live view')) return;
  const id = ctx.instance;
  const err = errorBox('live-error');
  const status = h('p', { id: 'live-status', role: 'status', class: 'muted' }, 'Not connected.');
  const points = h('p', { id: 'live-points', class: 'muted' });
  const rows = h('tbody', { id: 'live-rows' });
  const bizBox = h('div', { id: 'live-biz' });
  const form = h('form', { id: 'live-form' },
    h('div', {},
      field('User id', h('input', { name: 'user', placeholder: 'empty: device-only' })),
      field('Device id', h('input', { name: 'device', value: 'console-live' })),
      field('Session id', h('input', { name: 'session', value: 'console' })),
      field('Client token (JWT, when the instance requires one)', h('input', { name: 'token', autocomplete: 'off' }))),
    h('fieldset', {}, h('legend', {}, 'bizTypes'), bizBox),
    h('div', { class: 'row' },
      h('button', { type: 'submit', id: 'live-connect' }, 'Connect'),
      h('button', { type: 'button', class: 'secondary', id: 'live-disconnect' }, 'Disconnect'),
      field('Reset to sync point', h('input', { name: 'resetTo', type: 'number', min: 0, step: 1, value: 0,
        title: 'The oplog id to receive again after (0: every retained entry)' })),
      h('button', { type: 'button', class: 'danger', id: 'live-reset' }, 'Reset sync points')),
    h('p', { class: 'muted' }, 'A reset receives again every retained entry above the point, except those of single-device bizTypes that a device of the user acknowledged.'),
    err);
  root.append(h('h1', {}, `Live view of ${id}`), form, status, points,
    h('div', { class: 'table-wrap' }, h('table', { id: 'live-table' },
      h('thead', {}, h('tr', {}, ['Arrived', 'bizType', 'oplog id', 'thirdMsgId', 'Pushed', 'Payload'].map((x) => h('th', { scope: 'col' }, x)))), rows)));

  try {
    const { configs } = await api('GET', `instances/${enc(id)}/biztypes`);
    bizBox.replaceChildren(...(configs.length ? configs.map((c) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'biz', value: c.bizType, checked: true }), `${c.bizType} (${c.target}${c.scope === 'global' ? ', global' : ''})`))
      : [h('span', { class: 'muted' }, 'No bizType configs yet.')]));
  } catch (e) { showError(err, e); }

  let ws = null, ping = null, key = '', sync = {};
  const showPoints = () => { points.textContent = 'Sync points: ' + (Object.entries(sync).map(([b, n]) => `${b}=${n}`).join(', ') || 'none'); };

  function close() {
    if (ping) clearInterval(ping);
    ping = null;
    if (ws) { ws.onclose = null; ws.close(1000); ws = null; }
  }

  function connect() {
    close();
    showError(err);
    const f = form.elements;
    const bizTypes = [...form.querySelectorAll('input[name=biz]:checked')].map((x) => x.value);
    if (!bizTypes.length) { showError(err, 'Pick at least one bizType.'); return; }
    key = pointsKey(id, f.user.value.trim(), f.device.value.trim());
    const saved = loadPoints(key);
    sync = Object.fromEntries(bizTypes.map((b) => [b, saved[b] || 0]));
    showPoints();
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/webapi/sync/ws`;
    ws = new WebSocket(url, SUBPROTOCOL);
    ws.binaryType = 'arraybuffer';
    status.textContent = 'Connecting…';
    status.dataset.state = 'connecting';
    ws.onopen = () => {
      ws.send(encodeConnect({ instanceId: id, userId: f.user.value.trim(), deviceId: f.device.value.trim(), sessionId: f.session.value.trim(), token: f.token.value.trim(), syncPoints: sync }));
    };
    ws.onmessage = (ev) => {
      let fr;
      try { fr = decodeServerFrame(ev.data); } catch (e) { showError(err, `bad frame: ${e.message}`); return; }
      if (fr.type === 'connected') {
        status.textContent = `Connected as user ${fr.userId || '(none)'}, device ${fr.deviceId} (server time ${time(fr.serverTime)})` +
          (fr.withheld.length ? `; withheld: ${fr.withheld.join(', ')}` : '');
        status.dataset.state = 'connected';
        ping = setInterval(() => ws && ws.readyState === 1 && ws.send(encodePing(Date.now())), 30000);
      } else if (fr.type === 'deliver') {
        for (const m of fr.messages) {
          const payload = m.isBinary ? `binary, ${m.binaryPayload.length} bytes` : m.payload;
          rows.prepend(h('tr', { 'data-msg': m.thirdMsgId }, h('td', {}, time(Date.now())), h('td', {}, m.bizType), h('td', {}, m.oplogId),
            h('td', {}, m.thirdMsgId), h('td', {}, time(m.pushTime)), h('td', {}, payload)));
          if (m.oplogId > (sync[m.bizType] || 0)) sync[m.bizType] = m.oplogId;
        }
        if (rows.children.length > 500) for (const tr of [...rows.children].slice(500)) tr.remove();
        ws.send(encodeAck(fr.messages));
        sessionStorage.setItem(key, JSON.stringify(sync));
        showPoints();
      } else if (fr.type === 'error') {
        showError(err, `The node closed the connection: ${fr.code} ${fr.reason}`);
      }
    };
    ws.onclose = (ev) => {
      status.textContent = `Disconnected (${ev.code}${ev.reason ? ' ' + ev.reason : ''}).`;
      status.dataset.state = 'closed';
      if (ping) clearInterval(ping);
      ping = null; ws = null;
    };
  }

  form.addEventListener('submit', (ev) => { ev.preventDefault(); connect(); });
  document.getElementById('live-disconnect').addEventListener('click', () => { close(); status.textContent = 'Not connected.'; status.dataset.state = 'closed'; });
  document.getElementById('live-reset').addEventListener('click', () => {
    const f = form.elements;
    const point = Number(f.resetTo.value);
    if (!Number.isSafeInteger(point) || point < 0) { showError(err, 'The sync point is an oplog id: a whole number, 0 or more.'); return; }
    const bizTypes = [...form.querySelectorAll('input[name=biz]:checked')].map((x) => x.value);
    sessionStorage.setItem(pointsKey(id, f.user.value.trim(), f.device.value.trim()), JSON.stringify(Object.fromEntries(bizTypes.map((b) => [b, point]))));
    rows.replaceChildren();
    if (ws) connect(); else { sync = Object.fromEntries(bizTypes.map((b) => [b, point])); showPoints(); }
  });
  return close;
}
