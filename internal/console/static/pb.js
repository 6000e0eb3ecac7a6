// A tiny protobuf codec for the few frames of the client protocol the Live
// view uses (proto/opsync/v1/wire.proto). The protocol is protobuf only,
// with no JSON mode, and the console has no build step to run a protobuf
// code generator for JavaScript: these frames need only varints,
// strings, bytes and nested messages, which fit in a page. Numbers are
// JavaScript numbers: oplog ids and times stay far below 2^53.

const te = new TextEncoder();
const td = new TextDecoder();

class Writer {
  constructor() { this.bytes = []; }
  varint(n) {
    n = Number(n);
    while (n >= 0x80) { this.bytes.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80); }
    this.bytes.push(n);
  }
  tag(field, wire) { this.varint(field * 8 + wire); }
  uint(field, n) { if (n) { this.tag(field, 0); this.varint(n); } }
  raw(field, bytes) { this.tag(field, 2); this.varint(bytes.length); for (const b of bytes) this.bytes.push(b); }
  string(field, s) { if (s) this.raw(field, te.encode(s)); }
  message(field, w) { this.raw(field, w.finish()); }
  finish() { return Uint8Array.from(this.bytes); }
}

function syncPoint(bizType, oplogId) {
  const w = new Writer();
  w.string(1, bizType);
  w.uint(2, oplogId);
  return w;
}

// encodeConnect is ClientFrame{connect: Connect{…}}.
export function encodeConnect({ instanceId, userId, deviceId, sessionId, token, syncPoints }) {
  const c = new Writer();
  c.string(1, instanceId);
  c.string(2, userId);
  c.string(3, deviceId);
  c.string(4, sessionId);
  c.string(5, 'web');
  for (const [biz, id] of Object.entries(syncPoints)) c.message(7, syncPoint(biz, id));
  c.string(9, token);
  const f = new Writer();
  f.message(1, c);
  return f.finish();
}

// encodeAck is ClientFrame{ack: Ack{received}}.
export function encodeAck(received) {
  const a = new Writer();
  for (const m of received) a.message(1, syncPoint(m.bizType, m.oplogId));
  const f = new Writer();
  f.message(4, a);
  return f.finish();
}

// encodePing is ClientFrame{ping: Ping{nonce}}.
export function encodePing(nonce) {
  const p = new Writer();
  p.uint(1, nonce);
  const f = new Writer();
  f.message(5, p);
  return f.finish();
}

// fields reads a message into {field: [values]}: varints as numbers,
// length-delimited fields as Uint8Array; other wire types are skipped.
function fields(buf) {
  const out = {};
  let i = 0;
  const varint = () => {
    let n = 0, mul = 1, b;
    do {
      if (i >= buf.length) throw new Error('truncated frame');
      b = buf[i++];
      n += (b & 0x7f) * mul;
      mul *= 0x80;
    } while (b & 0x80);
    return n;
  };
  while (i < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8), wire = key % 8;
    let v;
    if (wire === 0) v = varint();
    else if (wire === 2) { const len = varint(); v = buf.subarray(i, i + len); i += len; }
    else if (wire === 1) { i += 8; continue; }
    else if (wire === 5) { i += 4; continue; }
    else throw new Error('unsupported wire type ' + wire);
    (out[field] ||= []).push(v);
  }
  return out;
}

const str = (f, n) => (f[n] ? td.decode(f[n][0]) : '');
const num = (f, n) => (f[n] ? f[n][0] : 0);
const bool = (f, n) => !!num(f, n);

function syncMessage(buf) {
  const f = fields(buf);
  return {
    bizType: str(f, 1), oplogId: num(f, 2), thirdMsgId: str(f, 3), payload: str(f, 4),
    binaryPayload: f[5] ? f[5][0] : new Uint8Array(), isBinary: bool(f, 6), pushTime: num(f, 7),
  };
}

// decodeServerFrame answers {type, …} for the frames the Live view shows,
// {type: 'other', field} for the rest (block and card frames).
export function decodeServerFrame(data) {
  const f = fields(new Uint8Array(data));
  if (f[1]) {
    const c = fields(f[1][0]);
    return { type: 'connected', deviceId: str(c, 1), userId: str(c, 2), serverTime: num(c, 3), withheld: (c[4] || []).map((b) => td.decode(b)) };
  }
  if (f[2]) return { type: 'deliver', messages: (fields(f[2][0])[1] || []).map(syncMessage) };
  if (f[3]) return { type: 'pong', nonce: num(fields(f[3][0]), 1) };
  if (f[4]) { const e = fields(f[4][0]); return { type: 'error', code: num(e, 1), reason: str(e, 2) }; }
  return { type: 'other', field: Number(Object.keys(f)[0]) };
}
