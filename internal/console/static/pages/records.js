// Records and statistics of a user or device: connected clients, pushes
// and arrivals over the last 30 days (a chart), retained entries with
// their state (acknowledged, delivered, retried), dropped entries counted.

import { api, enc } from '../api.js';
import { h, errorBox, showError, field, table, time } from '../ui.js';
import { needInstance } from './need.js';

const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// chart draws pushes and arrivals per UTC day (the API's series) as
// paired bars.
function chart(days) {
  const W = 640, H = 200, pad = 28, bw = (W - pad - 8) / days.length;
  const max = Math.max(1, ...days.map((d) => Math.max(d.pushes, d.arrivals)));
  const svg = s('svg', { class: 'chart', id: 'records-chart', viewBox: `0 0 ${W} ${H + 34}`, role: 'img', 'aria-label': 'Pushes and arrivals per day, last 30 days' });
  svg.append(s('title', {}, 'Pushes and arrivals per day (UTC), last 30 days'));
  svg.append(s('line', { x1: pad, y1: H, x2: W - 4, y2: H, stroke: '#d5d9e2' }));
  svg.append(s('text', { x: 2, y: 12, 'font-size': 10, fill: '#5b6475' }, String(max)));
  svg.append(s('text', { x: 2, y: H, 'font-size': 10, fill: '#5b6475' }, '0'));
  days.forEach((d, i) => {
    const x = pad + i * bw;
    const ph = (d.pushes / max) * (H - 10), ah = (d.arrivals / max) * (H - 10);
    const bar = (dx, hgt, color, kind, n) => {
      const r = s('rect', { x: x + dx, y: H - hgt, width: Math.max(1, bw / 2 - 1), height: hgt, fill: color, 'data-day': d.day, 'data-kind': kind, 'data-count': n });
      r.append(s('title', {}, `${d.day}: ${n} ${kind}`));
      return r;
    };
    svg.append(bar(0, ph, '#2456c7', 'pushes', d.pushes), bar(bw / 2, ah, '#1b7a3a', 'arrivals', d.arrivals));
    if (i % 5 === 0 || i === days.length - 1) svg.append(s('text', { x, y: H + 14, 'font-size': 10, fill: '#5b6475' }, d.day.slice(5)));
  });
  svg.append(s('rect', { x: pad, y: H + 22, width: 10, height: 10, fill: '#2456c7' }), s('text', { x: pad + 14, y: H + 31, 'font-size': 11 }, 'pushes'),
    s('rect', { x: pad + 70, y: H + 22, width: 10, height: 10, fill: '#1b7a3a' }), s('text', { x: pad + 84, y: H + 31, 'font-size': 11 }, 'arrivals'));
  return svg;
}

// STATES label each state of the API (state.status) with its badge.
const STATES = {
  acknowledged: ['acknowledged', 'on'],
  retried: ['retried', 'off'],
  delivered: ['delivered', 'plain'],
  undelivered: ['not delivered', 'plain'],
};

// stateDetail completes an entry's state: who acknowledged it ("" is the
// user, who acknowledges a single-device entry once whatever the device),
// how many deliveries were counted against its retries.
function stateDetail(st) {
  const n = st.deliveries;
  switch (st.status) {
    case 'acknowledged':
      return `by ${st.acknowledgedBy.map((d) => (d === '' ? 'the user' : d)).join(', ')}` +
        (n > 0 ? `; ${n} ${n === 1 ? 'delivery' : 'deliveries'} to a device that has not` : '');
    case 'retried': return `(${n} deliveries)`;
    case 'delivered': return '(once)';
    default: return '';
  }
}

function stateCell(e, now) {
  const st = e.state;
  const [label, badge] = st ? (STATES[st.status] || [st.status, 'plain']) : ['retained', 'plain'];
  const expired = e.validTimeEnd && e.validTimeEnd < now;
  return h('td', { class: 'entry-state', 'data-state': st ? st.status : 'retained' },
    h('span', { class: `badge ${badge}` }, label), st ? ` ${stateDetail(st)}` : '',
    expired ? h('span', { class: 'muted' }, ' · expired (deleted at the next sweep)') : null);
}

export default async function records(root, ctx) {
  if (needInstance(root, ctx, 'Records')) return;
  const id = ctx.instance;
  const err = errorBox('records-error');
  const out = h('div', { id: 'records-out' });
  const form = h('form', { id: 'records-form' },
    h('div', { class: 'row' },
      field('Of a', h('select', { name: 'kind' }, h('option', { value: 'users' }, 'user'), h('option', { value: 'devices' }, 'device'))),
      field('User or device id', h('input', { name: 'who', required: true })),
      field('Entries shown', h('input', { name: 'limit', type: 'number', min: 1, max: 1000, value: 100 })),
      h('button', { type: 'submit' }, 'Show')), err);
  root.append(h('h1', {}, `Records of ${id}`), form, out);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError(err);
    const f = form.elements;
    const path = `instances/${enc(id)}/${f.kind.value}/${enc(f.who.value.trim())}/records`;
    let rec;
    try {
      // days=31: the API's per-UTC-day series, today and the 30 before.
      rec = await api('GET', `${path}?limit=${Number(f.limit.value) || 100}&days=31`);
    } catch (e) { showError(err, e); out.replaceChildren(); return; }
    const days = rec.days;
    const now = Date.now();
    out.replaceChildren(
      h('div', { class: 'stats' },
        h('div', {}, 'Connected', h('b', { id: 'rec-connected' }, rec.connected ? 'yes' : 'no'), h('span', { class: 'muted' }, (rec.connectedDevices || []).join(', '))),
        h('div', {}, 'Pushes (30 d)', h('b', { id: 'rec-pushes' }, rec.pushes), h('span', { class: 'muted' }, `${rec.globalPushes} global`)),
        h('div', {}, 'Arrivals (30 d)', h('b', { id: 'rec-arrivals' }, rec.arrivals)),
        h('div', {}, 'Dropped (ever)', h('b', { id: 'rec-dropped' }, rec.dropped))),
      h('h2', {}, 'Last 30 days'), chart(days),
      h('h2', {}, `Retained entries (${rec.entries.length})`),
      rec.entries.length ? table(['oplog id', 'bizType', 'thirdMsgId', 'Pushed', 'Valid until', 'State'],
        rec.entries.map((e) => h('tr', { 'data-msg': e.thirdMsgId }, h('td', {}, e.oplogId), h('td', {}, e.bizType), h('td', {}, e.thirdMsgId),
          h('td', {}, time(e.pushTime)), h('td', {}, time(e.validTimeEnd)),
          stateCell(e, now))), 'records-table')
        : h('p', { class: 'muted' }, 'No retained entries.'),
      h('p', { class: 'muted', id: 'records-state-note' }, 'Acknowledged: a device\'s sync point reached the entry (the user, for a single-device bizType). Delivered and retried count the deliveries to a device that has not acknowledged it; after its last retry an entry is dropped: gone, and only counted above.'));
  });
}
