// Documents against a fake WebSocket playing the session: versions in
// order, own operations known by their answer, rebase over the missed
// operations (every pending one, the default resending them unchanged),
// a lost answer not sent twice, refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { OpsyncClient, MemoryStore, DocumentError } from "../dist/index.js";
import { DocumentUpdateSchema } from "../dist/gen/opsync/v1/document_pb.js";
import { FakeWS, nextSocket, tick } from "../test-support/fakews.mjs";

const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);

async function editor(callbacks = {}) {
  const c = new OpsyncClient({ server: "http://h:1", instanceId: "ws_T", userId: "ann", WebSocket: FakeWS, minBackoffMs: 1, maxBackoffMs: 2, store: new MemoryStore() });
  const seen = [];
  const snaps = [];
  const doc = c.openDocument("doc-1", {
    onSnapshot: (s) => snaps.push(`${s.version}:${dec(s.data)}`),
    onOps: (ops) => seen.push(...ops.map((o) => `${o.version}:${dec(o.data)}:${o.userId}${o.mine ? ":mine" : ""}`)),
    ...callbacks,
  });
  const wsp = nextSocket();
  await c.connect();
  const s = await wsp;
  s.open();
  s.connected();
  return { c, s, doc, seen, snaps };
}

const op = (version, data, userId = "bob") => ({ version: BigInt(version), data: enc(data), userId });

function update(s, version, ops, snapshot) {
  const data = toBinary(DocumentUpdateSchema, create(DocumentUpdateSchema, { ops, snapshot }));
  s.serve({ case: "state", value: { kind: "document", id: "doc-1", version: BigInt(version), data } });
}

function answer(s, requestId, code, version, ops = []) {
  s.serve({ case: "documentAnswer", value: { documentId: "doc-1", requestId, code, version: BigInt(version), ops } });
}

// lastOps is the last DocumentOps frame sent, once it is there.
async function lastOps(s, n) {
  await s.until(() => s.frames("documentOps").length >= n);
  return s.frames("documentOps")[n - 1];
}

test("a joiner starts from the snapshot; its own batch is known by the answer, the broadcast of it ignored", async () => {
  const { c, s, doc, seen, snaps } = await editor();
  assert.deepEqual(s.frames("open").map((o) => [o.kind, o.id]), [["document", "doc-1"]]);
  update(s, 4, [op(3, "c"), op(4, "d")], { version: 2n, data: enc("ab") });
  assert.deepEqual(snaps, ["2:ab"]);
  assert.deepEqual(seen, ["3:c:bob", "4:d:bob"]);
  assert.equal(doc.version, 4n);

  const sent = doc.send(["e", enc("f")]);
  const f = await lastOps(s, 1);
  assert.equal(f.baseVersion, 4n);
  assert.deepEqual(f.ops.map(dec), ["e", "f"]);
  // The broadcast of the batch comes before its answer: held, then skipped.
  update(s, 6, [op(5, "e", "ann"), op(6, "f", "ann")]);
  assert.deepEqual(seen.length, 2, "nothing passed on while the batch is in flight");
  answer(s, f.requestId, "", 6);
  assert.equal(await sent, 6n);
  assert.deepEqual(seen.slice(2), ["5:e:ann:mine", "6:f:ann:mine"]);
  await c.disconnect();
});

test("REBASE: the missed operations first, then onRebase with every pending operation, resent at the new version", async () => {
  const calls = [];
  const { c, s, doc, seen } = await editor({
    onRebase: (missed, mine) => {
      calls.push([missed.map((o) => `${o.version}:${dec(o.data)}`), mine.map(dec)]);
      return mine.map((m) => enc(`${dec(m)}'`));
    },
  });
  update(s, 1, [op(1, "a")]);
  const first = doc.send(["x"]);
  const f1 = await lastOps(s, 1);
  const second = doc.send(["y"]); // made on x: waits, and is rebased with it
  await tick();
  assert.equal(s.frames("documentOps").length, 1, "one batch in flight");
  update(s, 3, [op(2, "b"), op(3, "c", "cid")]); // others' batches: held until the answer
  answer(s, f1.requestId, "REBASE", 2, [op(2, "b")]);
  const f2 = await lastOps(s, 2);
  assert.deepEqual(calls, [[["2:b", "3:c"], ["x", "y"]]], "rebased over the answer's and the held operations");
  assert.equal(f2.baseVersion, 3n);
  assert.deepEqual(f2.ops.map(dec), ["x'", "y'"]);
  assert.deepEqual(seen, ["1:a:bob", "2:b:bob", "3:c:cid"]);
  answer(s, f2.requestId, "", 5);
  assert.deepEqual([await first, await second], [5n, 5n]);
  assert.deepEqual(seen.slice(3), ["4:x':ann:mine", "5:y':ann:mine"]);
  assert.equal(doc.version, 5n);
  await c.disconnect();
});

test("the default rebase resends unchanged; an empty rebase resolves at the current version", async () => {
  const { c, s, doc } = await editor();
  const sent = doc.send(["x"]);
  const f1 = await lastOps(s, 1);
  answer(s, f1.requestId, "REBASE", 1, [op(1, "a")]);
  const f2 = await lastOps(s, 2);
  assert.deepEqual([f2.baseVersion, f2.ops.map(dec)], [1n, ["x"]]);
  answer(s, f2.requestId, "", 2);
  assert.equal(await sent, 2n);
  await c.disconnect();

  const e = await editor({ onRebase: async () => [] });
  const dropped = e.doc.send(["x"]);
  const g = await lastOps(e.s, 1);
  answer(e.s, g.requestId, "REBASE", 1, [op(1, "a")]);
  assert.equal(await dropped, 1n);
  await tick();
  assert.equal(e.s.frames("documentOps").length, 1, "nothing resent");
  await e.c.disconnect();
});

test("a batch whose answer was lost is sent again at the same base, and not applied twice", async () => {
  let rebased = 0;
  const { s, doc, seen, c } = await editor({ onRebase: (m, mine) => (rebased++, mine) });
  const sent = doc.send(["x"]);
  await lastOps(s, 1);
  const s2p = nextSocket();
  s.serverClose(1006);
  const s2 = await s2p;
  s2.open();
  s2.connected();
  assert.deepEqual(s2.frames("open").map((o) => o.id), ["doc-1"], "opened again");
  const again = await lastOps(s2, 1);
  assert.deepEqual([again.baseVersion, again.ops.map(dec)], [0n, ["x"]]);
  // The first sending was accepted at 1, then bob's at 2.
  update(s2, 2, [op(1, "x", "ann"), op(2, "b")]);
  answer(s2, again.requestId, "REBASE", 2, [op(1, "x", "ann"), op(2, "b")]);
  assert.equal(await sent, 1n);
  assert.equal(rebased, 0);
  assert.deepEqual(seen, ["1:x:ann:mine", "2:b:bob"]);
  await c.disconnect();
});

test("SYSTEM_ERROR is retried at the same base; refusals reject the send; a refused Open closes the document", async () => {
  const { s, doc, c } = await editor();
  const sent = doc.send(["x"]);
  const f1 = await lastOps(s, 1);
  answer(s, f1.requestId, "SYSTEM_ERROR", 0);
  const f2 = await lastOps(s, 2);
  assert.equal(f2.baseVersion, 0n);
  answer(s, f2.requestId, "", 1);
  assert.equal(await sent, 1n);

  const refused = doc.send(["y"]);
  const f3 = await lastOps(s, 3);
  answer(s, f3.requestId, "FORBIDDEN", 1);
  await assert.rejects(refused, (e) => e instanceof DocumentError && e.code === "FORBIDDEN");

  await assert.rejects(doc.send([new Uint8Array(40 << 10)]), (e) => e.code === "TOO_LARGE");
  assert.equal(s.frames("documentOps").length, 3, "an oversize operation is not sent");

  let closed;
  const other = c.openDocument("doc-2", { onClose: (e) => (closed = e) });
  s.serve({ case: "documentAnswer", value: { documentId: "doc-2", code: "FORBIDDEN", detail: "no role" } });
  assert.equal(closed?.code, "FORBIDDEN");
  await assert.rejects(other.send(["z"]), (e) => e.code === "CLOSED");
  await c.disconnect();
});

test("sendSnapshot answers the snapshot's version; operations ahead of a gap wait for it", async () => {
  const { s, doc, seen, c } = await editor();
  update(s, 3, [op(3, "c")]);
  assert.deepEqual(seen, []);
  update(s, 2, [op(1, "a"), op(2, "b")]);
  assert.deepEqual(seen, ["1:a:bob", "2:b:bob", "3:c:bob"]);
  const snap = doc.sendSnapshot(3n, "abc");
  await s.until(() => s.frames("documentSnapshot").length === 1);
  const [f] = s.frames("documentSnapshot");
  assert.deepEqual([f.version, dec(f.data)], [3n, "abc"]);
  answer(s, f.requestId, "", 3);
  assert.equal(await snap, 3n);
  await c.disconnect();
});

test("a refusal passes on what was held meanwhile; RESYNC opens the document again and the snapshot follows", async () => {
  const { s, doc, seen, snaps, c } = await editor();
  const refused = doc.send(["x"]);
  const f1 = await lastOps(s, 1);
  update(s, 1, [op(1, "a")]);
  assert.deepEqual(seen, [], "held while the batch is in flight");
  answer(s, f1.requestId, "INVALID", 1);
  await assert.rejects(refused, (e) => e.code === "INVALID");
  assert.deepEqual(seen, ["1:a:bob"], "passed on after the answer");

  const resynced = doc.send(["y"]);
  const f2 = await lastOps(s, 2);
  answer(s, f2.requestId, "RESYNC", 9);
  await assert.rejects(resynced, (e) => e.code === "RESYNC");
  assert.deepEqual(s.frames("close").map((o) => [o.kind, o.id]), [["document", "doc-1"]]);
  assert.equal(s.frames("open").length, 2, "opened again");
  update(s, 9, [op(9, "i")], { version: 8n, data: enc("snap") });
  assert.deepEqual(snaps, ["8:snap"]);
  assert.deepEqual(seen.slice(1), ["9:i:bob"]);
  assert.equal(doc.version, 9n);
  await c.disconnect();
});

test("a batch whose answer was lost and that was not accepted is rebased as any other", async () => {
  const calls = [];
  const { s, doc, seen, c } = await editor({ onRebase: (missed, mine) => (calls.push([missed.map((o) => o.version), mine.map(dec)]), mine) });
  const sent = doc.send(["x"]);
  const f1 = await lastOps(s, 1);
  answer(s, f1.requestId, "SYSTEM_ERROR", 0);
  const f2 = await lastOps(s, 2);
  // Same bytes, another user: not ours.
  answer(s, f2.requestId, "REBASE", 1, [op(1, "x", "bob")]);
  const f3 = await lastOps(s, 3);
  assert.deepEqual(calls, [[[1n], ["x"]]]);
  assert.equal(f3.baseVersion, 1n);
  answer(s, f3.requestId, "", 2);
  assert.equal(await sent, 2n);
  assert.deepEqual(seen, ["1:x:bob", "2:x:ann:mine"]);
  await c.disconnect();
});
