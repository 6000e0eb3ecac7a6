// A document's records against a fake WebSocket playing the server:
// requests carry what the Go client's do and are matched to their answers
// by request id (in any order); refusals reject with the server's code;
// requests unanswered when the connection drops, or when the document
// closes, are rejected; onRecordChange opens the "docrecords" source,
// delivers each change in order, and is opened again after a reconnect.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { OpsyncClient, MemoryStore, DocumentError } from "../dist/index.js";
import { DocumentDataEventSchema } from "../dist/gen/opsync/v1/docwire_pb.js";
import { DocAction, DocKind } from "../dist/gen/opsync/v1/docdata_pb.js";
import { FakeWS, nextSocket, tick } from "../test-support/fakews.mjs";

async function editor(callbacks = {}) {
  const c = new OpsyncClient({ server: "http://h:1", instanceId: "ws_T", userId: "ann", WebSocket: FakeWS, minBackoffMs: 1, maxBackoffMs: 2, store: new MemoryStore() });
  const doc = c.openDocument("doc-1", callbacks);
  const wsp = nextSocket();
  await c.connect();
  const s = await wsp;
  s.open();
  s.connected();
  return { c, s, doc };
}

async function reconnect(s) {
  const s2p = nextSocket();
  s.serverClose(1006);
  const s2 = await s2p;
  s2.open();
  s2.connected();
  return s2;
}

// request is the n-th DocumentData frame sent, once it is there.
async function request(s, n) {
  await s.until(() => s.frames("documentData").length >= n);
  return s.frames("documentData")[n - 1];
}

const comment = (id, content, extra = {}) => ({ case: "comment", value: { id, documentId: "doc-1", threadId: "t1", userId: "ann", content, ...extra } });

function answer(s, requestId, records = [], code = "", detail = "", nextCursor = "") {
  s.serve({ case: "documentDataAnswer", value: { requestId, documentId: "doc-1", code, detail, records: records.map((kind) => ({ kind })), nextCursor } });
}

function change(s, version, put = [], removed = [], documentRemoved = false, id = "doc-1") {
  const data = toBinary(DocumentDataEventSchema, create(DocumentDataEventSchema, { put: put.map((kind) => ({ kind })), removed, documentRemoved }));
  s.serve({ case: "state", value: { kind: "docrecords", id, version: BigInt(version), data } });
}

test("each request is the Go client's frame, answered by its request id, in any order", async () => {
  const { c, s, doc } = await editor();
  const created = doc.records.createComment({ threadId: "t1", content: "hi", attributes: '{"a":1}' });
  const f1 = await request(s, 1);
  assert.equal(f1.documentId, "doc-1");
  assert.equal(f1.action, DocAction.CREATE);
  assert.equal(f1.kind, DocKind.COMMENT);
  assert.equal(f1.recordId, "");
  assert.equal(f1.record.kind.case, "comment");
  assert.deepEqual([f1.record.kind.value.id, f1.record.kind.value.threadId, f1.record.kind.value.content, f1.record.kind.value.attributes], ["", "t1", "hi", '{"a":1}']);

  const deleted = doc.records.deleteComment("c0");
  const resolved = doc.records.resolveThread("t1");
  const accepted = doc.records.acceptSuggestion("s1");
  const f2 = await request(s, 2);
  const f3 = await request(s, 3);
  const f4 = await request(s, 4);
  assert.deepEqual([f2.action, f2.kind, f2.recordId, f2.record], [DocAction.DELETE, DocKind.COMMENT, "c0", undefined]);
  assert.deepEqual([f3.action, f3.kind, f3.recordId], [DocAction.RESOLVE, DocKind.THREAD, "t1"]);
  assert.deepEqual([f4.action, f4.kind, f4.recordId], [DocAction.ACCEPT, DocKind.SUGGESTION, "s1"]);
  assert.equal(new Set([f1, f2, f3, f4].map((f) => f.requestId)).size, 4, "each request its own id");

  // Answered out of order: each promise gets its own answer.
  answer(s, f3.requestId, [{ case: "thread", value: { id: "t1", resolvedAt: 5n, resolvedBy: "ann" } }]);
  answer(s, f2.requestId, [comment("c0", "old", { deletedAt: 9n })]);
  answer(s, f1.requestId, [comment("c-new", "hi")]);
  answer(s, f4.requestId, [{ case: "suggestion", value: { id: "s1", state: "accepted", deletedAt: 7n } }]);
  const c1 = await created;
  assert.deepEqual([c1.id, c1.content, c1.userId], ["c-new", "hi", "ann"]);
  assert.equal((await deleted).deletedAt, 9n);
  assert.equal((await resolved).resolvedBy, "ann");
  assert.equal((await accepted).state, "accepted");

  const updated = doc.records.updateThread("t1", { attributes: '{"x":1}' });
  const f5 = await request(s, 5);
  assert.deepEqual([f5.action, f5.kind, f5.recordId, f5.record.kind.case, f5.record.kind.value.attributes, f5.record.kind.value.context], [DocAction.UPDATE, DocKind.THREAD, "t1", "thread", '{"x":1}', ""]);
  answer(s, f5.requestId, [{ case: "thread", value: { id: "t1", attributes: '{"x":1}' } }]);
  assert.equal((await updated).attributes, '{"x":1}');
  await c.disconnect();
});

test("list and get carry their options; a page answers its records and next cursor", async () => {
  const { c, s, doc } = await editor();
  const page = doc.records.list("comment", { threadId: "t1", limit: 2, cursor: "k1", includeDeleted: true });
  const f1 = await request(s, 1);
  assert.deepEqual(
    [f1.action, f1.kind, f1.threadId, f1.limit, f1.cursor, f1.includeDeleted],
    [DocAction.LIST, DocKind.COMMENT, "t1", 2, "k1", true],
  );
  answer(s, f1.requestId, [comment("c1", "a"), comment("c2", "b")], "", "", "k2");
  const p = await page;
  assert.deepEqual([p.records.map((r) => r.id), p.nextCursor], [["c1", "c2"], "k2"]);

  const threads = doc.records.list("thread");
  const f2 = await request(s, 2);
  assert.deepEqual([f2.kind, f2.threadId, f2.limit, f2.cursor, f2.includeDeleted], [DocKind.THREAD, "", 0, "", false]);
  answer(s, f2.requestId, []);
  assert.deepEqual(await threads, { records: [], nextCursor: "" });

  const got = doc.records.get("suggestion", "s1", { includeDeleted: true });
  const f3 = await request(s, 3);
  assert.deepEqual([f3.action, f3.kind, f3.recordId, f3.includeDeleted], [DocAction.GET, DocKind.SUGGESTION, "s1", true]);
  answer(s, f3.requestId, [{ case: "suggestion", value: { id: "s1", type: "insertion" } }]);
  assert.equal((await got).type, "insertion");
  await c.disconnect();
});

test("a refusal rejects with the server's code and detail; nothing else is touched", async () => {
  const { c, s, doc } = await editor();
  const refused = doc.records.deleteComment("c-bob");
  const other = doc.records.get("comment", "c1");
  const f1 = await request(s, 1);
  const f2 = await request(s, 2);
  answer(s, f1.requestId, [], "FORBIDDEN", "only its author may change or delete it");
  await assert.rejects(refused, (e) => e instanceof DocumentError && e.code === "FORBIDDEN" && e.documentId === "doc-1" && /only its author/.test(e.detail));
  answer(s, f2.requestId, [], "NOT_FOUND", "no such record");
  await assert.rejects(other, (e) => e.code === "NOT_FOUND");
  // A repeat of an answered request is dropped.
  answer(s, f1.requestId, [comment("c-bob", "x")]);
  await c.disconnect();
});

test("requests unanswered when the connection drops are rejected, not sent again; without a connection nothing is sent; a closed document refuses", async () => {
  const { c, s, doc } = await editor();
  const lost = doc.records.createComment({ threadId: "t1", content: "x" });
  lost.catch(() => {}); // rejected as the connection drops, before the assertion below
  await request(s, 1);
  const s2 = await reconnect(s);
  await assert.rejects(lost, (e) => e instanceof DocumentError && e.code === "NOT_CONNECTED");
  await tick();
  assert.equal(s2.frames("documentData").length, 0, "not sent again: it may have been made");

  // Answered on the new connection as usual.
  const listed = doc.records.list("thread");
  const f = await request(s2, 1);
  answer(s2, f.requestId, [{ case: "thread", value: { id: "t1" } }]);
  assert.equal((await listed).records[0].id, "t1");

  const pending = doc.records.get("thread", "t1");
  pending.catch(() => {}); // rejected as the document closes
  await request(s2, 2);
  doc.close();
  await assert.rejects(pending, (e) => e.code === "CLOSED");
  await assert.rejects(doc.records.list("comment"), (e) => e.code === "CLOSED");
  assert.equal(s2.frames("documentData").length, 2);

  await c.disconnect();
  const d2 = c.openDocument("doc-2", {});
  await assert.rejects(d2.records.list("comment"), (e) => e.code === "NOT_CONNECTED");
});

test("onRecordChange: the docrecords source is opened after the document, each change delivered in order as kind, action, record", async () => {
  const seen = [];
  const { c, s, doc } = await editor({ onRecordChange: (ch) => seen.push(ch) });
  assert.deepEqual(s.frames("open").map((o) => [o.kind, o.id]), [["document", "doc-1"], ["docrecords", "doc-1"]]);
  change(s, 3, [{ case: "thread", value: { id: "t1" } }, comment("c1", "hi")]);
  change(s, 4, [comment("c1", "hi", { deletedAt: 10n })]);
  change(s, 5, [], [{ kind: DocKind.COMMENT, id: "c1" }]);
  change(s, 6, [{ case: "thread", value: { id: "t9" } }], [], false, "doc-other"); // not watched: ignored
  change(s, 7, [], [], true);
  assert.deepEqual(
    seen.map((ch) => [ch.version, ch.action, ch.kind, ch.id, ch.documentId]),
    [
      [3n, "put", "thread", "t1", "doc-1"],
      [3n, "put", "comment", "c1", "doc-1"],
      [4n, "put", "comment", "c1", "doc-1"],
      [5n, "removed", "comment", "c1", "doc-1"],
      [7n, "documentRemoved", "", "", "doc-1"],
    ],
  );
  assert.equal(seen[1].record.content, "hi");
  assert.equal(seen[2].record.deletedAt, 10n);
  assert.equal(seen[3].record, undefined);

  // Opened again after a reconnect, and delivering there.
  const s2 = await reconnect(s);
  assert.deepEqual(s2.frames("open").map((o) => [o.kind, o.id]), [["document", "doc-1"], ["docrecords", "doc-1"]]);
  change(s2, 8, [comment("c2", "after")]);
  assert.deepEqual(seen.at(-1).id, "c2");

  // Closing the document closes its changes too.
  doc.close();
  assert.deepEqual(s2.frames("close").map((o) => [o.kind, o.id]), [["docrecords", "doc-1"], ["document", "doc-1"]]);
  change(s2, 9, [comment("c3", "late")]);
  assert.equal(seen.at(-1).id, "c2");
  await c.disconnect();
});

test("onRecordsLive hears the live mark (a state without data) of each open, which is no change", async () => {
  const seen = [];
  const live = [];
  const { c, s } = await editor({ onRecordChange: (ch) => seen.push(ch.id), onRecordsLive: (v) => live.push(v) });
  s.serve({ case: "state", value: { kind: "docrecords", id: "doc-1", version: 0n, data: new Uint8Array() } });
  change(s, 1, [comment("c1", "a")]);
  assert.deepEqual(live, [0n]);
  assert.deepEqual(seen, ["c1"]);
  const s2 = await reconnect(s);
  s2.serve({ case: "state", value: { kind: "docrecords", id: "doc-1", version: 4n, data: new Uint8Array() } });
  assert.deepEqual(live, [0n, 4n]);
  assert.deepEqual(seen, ["c1"]);
  await c.disconnect();
});

test("a refused docrecords Open stops the changes and is not opened again", async () => {
  const seen = [];
  const { c, s } = await editor({ onRecordChange: (ch) => seen.push(ch.id) });
  change(s, 1, [comment("c1", "a"), comment("c2", "b")]);
  assert.deepEqual(seen, ["c1", "c2"]);
  s.serve({ case: "documentDataAnswer", value: { requestId: 0n, documentId: "doc-1", code: "FORBIDDEN", detail: "the token gives no role on this document" } });
  change(s, 2, [comment("c3", "c")]);
  assert.deepEqual(seen, ["c1", "c2"], "not watched after the refusal");
  const s2 = await reconnect(s);
  assert.deepEqual(s2.frames("open").map((o) => o.kind), ["document"]);
  await c.disconnect();
});

test("a document's record changes count as one more source of the connection's 256", () => {
  const c = new OpsyncClient({ server: "http://h:1", instanceId: "ws_T", userId: "ann", WebSocket: FakeWS, store: new MemoryStore() });
  for (let i = 0; i < 128; i++) c.openDocument(`d${i}`, { onRecordChange: () => {} });
  assert.throws(() => c.openDocument("one-more", {}), /at most 256/);
  assert.throws(() => c.openDocument("one-more", { onRecordChange: () => {} }), /at most 256/);
});
