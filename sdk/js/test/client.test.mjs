// The client against a fake WebSocket (the outside world), playing the
// server's side of the protocol.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OpsyncClient, MemoryStore } from "../dist/index.js";
import { FileStore } from "../dist/filestore.js";
import { FakeWS, nextSocket, tick } from "../test-support/fakews.mjs";

function client(extra = {}) {
  return new OpsyncClient({ server: "http://h:1", instanceId: "ws_T", userId: "ann", WebSocket: FakeWS, minBackoffMs: 1, maxBackoffMs: 2, store: new MemoryStore(), ...extra });
}

async function connected(c) {
  const ws = nextSocket();
  await c.connect();
  const s = await ws;
  s.open();
  s.connected();
  return s;
}

test("Connect carries identity and sync points; a handled message is acked, a throw is not", async () => {
  const store = new MemoryStore();
  await store.save("ws_T", { deviceId: "dev1", userId: "ann", syncPoints: { CHAT: 4n } });
  const c = client({ store, token: "tok", osType: "web", appVersion: "1.2" });
  const got = [];
  c.register("CHAT", (m) => {
    if (m.oplogId === 6n && !got.includes("fail6")) {
      got.push("fail6");
      throw new Error("not now");
    }
    got.push(`${m.oplogId}:${m.payload}`);
  });
  const errors = [];
  c.on("error", (e) => errors.push(e.kind));
  const s = await connected(c);
  const [conn] = s.frames("connect");
  assert.equal(s.url, "ws://h:1/webapi/sync/ws");
  assert.equal(s.wanted, "opsync.v1");
  assert.deepEqual(
    { i: conn.instanceId, u: conn.userId, d: conn.deviceId, t: conn.token, o: conn.osType, a: conn.appVersion },
    { i: "ws_T", u: "ann", d: "dev1", t: "tok", o: "web", a: "1.2" },
  );
  assert.deepEqual(conn.bizTypes.map((b) => [b.bizType, b.oplogId]), [["CHAT", 4n]]);

  s.deliver(["CHAT", 4], ["CHAT", 5], ["CHAT", 6], ["CHAT", 7]);
  await tick();
  assert.deepEqual(got, ["5:p5", "fail6", "7:p7"]);
  assert.deepEqual(s.acked(), ["CHAT:4", "CHAT:5", "CHAT:7"], "4 (below the point) acked again, 6 not at all");
  assert.deepEqual(errors, ["handler"]);
  assert.equal(c.syncPoint("CHAT"), 5n, "6 holds the point");
  const saved = await store.load("ws_T");
  assert.equal(saved.syncPoints.CHAT, 5n, "the point is saved");

  s.deliver(["CHAT", 6], ["CHAT", 7]);
  await tick();
  assert.deepEqual(got.slice(3), ["6:p6"], "6 redelivered and handled, 7 not passed on again");
  assert.deepEqual(s.acked().slice(3), ["CHAT:6", "CHAT:7"]);
  assert.equal(c.syncPoint("CHAT"), 7n);
  await c.disconnect();
  assert.equal(s.closed.code, 1000);
});

test("async handlers run one at a time in order; the ack waits for the promise", async () => {
  const c = client();
  const order = [];
  let release;
  const gate = new Promise((r) => (release = r));
  c.register("A", async (m) => {
    order.push(`start${m.oplogId}`);
    if (m.oplogId === 1n) await gate;
    order.push(`end${m.oplogId}`);
  });
  const s = await connected(c);
  s.deliver(["A", 1], ["A", 2]);
  await tick();
  assert.deepEqual(order, ["start1"]);
  assert.deepEqual(s.acked(), []);
  release();
  await tick();
  assert.deepEqual(order, ["start1", "end1", "start2", "end2"]);
  assert.deepEqual(s.acked(), ["A:1", "A:2"]);
  await c.disconnect();
});

test("register and unregister on a live connection send their frames", async () => {
  const c = client();
  const s = await connected(c);
  c.register("A", () => {});
  c.unregister("A");
  assert.deepEqual(s.sent.slice(1).map((f) => f.case), ["registerBiz", "unregisterBiz"]);
  assert.throws(() => c.register("bad type!", () => {}), TypeError);
  await c.disconnect();
});

test("a lost connection reconnects with the sync points reached; 4401 is fatal and named", async () => {
  const c = client();
  c.register("A", () => {});
  const events = [];
  c.on("connected", () => events.push("connected"));
  c.on("disconnected", () => events.push("disconnected"));
  c.on("error", (e) => events.push(`error:${e.kind}:${e.fatal}`));
  const s1 = await connected(c);
  s1.deliver(["A", 1], ["A", 2]);
  await tick();
  const next = nextSocket();
  s1.serverClose(1006);
  const s2 = await next;
  s2.open();
  assert.deepEqual(s2.frames("connect")[0].bizTypes.map((b) => [b.bizType, b.oplogId]), [["A", 2n]]);
  s2.connected();
  const third = nextSocket();
  s2.serve({ case: "error", value: { code: 4431, reason: "shed" } });
  s2.serverClose(4431, "shed");
  const s3 = await third;
  s3.open();
  s3.serve({ case: "error", value: { code: 4401, reason: "bad token" } });
  s3.serverClose(4401, "bad token");
  await tick();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(FakeWS.sockets.at(-1), s3, "no reconnection after a fatal error");
  assert.deepEqual(events, ["connected", "disconnected", "error:connectionLost:false", "connected", "disconnected", "error:shed:false", "error:unauthorized:true"]);
});

test("servers are tried in turn", async () => {
  const c = client({ server: undefined, servers: ["http://a:1", "http://b:2"] });
  const s1p = nextSocket();
  await c.connect();
  const s1 = await s1p;
  const s2p = nextSocket();
  s1.serverClose(1006);
  const s2 = await s2p;
  assert.deepEqual([s1.url, s2.url], ["ws://a:1/webapi/sync/ws", "ws://b:2/webapi/sync/ws"]);
  await c.disconnect();
});

test("a tokenProvider is asked before each connection and gets one more try after 4401", async () => {
  let n = 0;
  const c = client({ tokenProvider: async () => `t${++n}` });
  const errors = [];
  c.on("error", (e) => errors.push(e.kind));
  const s1 = await connected(c).catch(() => null);
  assert.equal(s1.frames("connect")[0].token, "t1");
  const s2p = nextSocket();
  s1.serverClose(4401, "expired");
  const s2 = await s2p;
  s2.open();
  assert.equal(s2.frames("connect")[0].token, "t2");
  s2.serverClose(4401, "still bad");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(FakeWS.sockets.at(-1), s2);
  assert.deepEqual(errors, ["unauthorized", "unauthorized"]);
});

test("blocks: versions in order, older ones and older typed versions dropped, reopened on reconnect", async () => {
  const { create, toBinary } = await import("@bufbuild/protobuf");
  const { BlockEntitySchema } = await import("../dist/gen/opsync/v1/block_pb.js");
  const c = client();
  const seen = [];
  const typed = [];
  const h = c.openBlock("blk1", { onResourceChange: (b) => seen.push(`${b.version}:${b.sourceData}`), onTypedMessage: (m) => typed.push(m.version) });
  const s = await connected(c);
  assert.deepEqual(s.frames("open").map((o) => [o.kind, o.id]), [["block", "blk1"]]);
  const state = (v, d) => s.serve({ case: "state", value: { kind: "block", id: "blk1", version: BigInt(v), data: toBinary(BlockEntitySchema, create(BlockEntitySchema, { sourceData: d })) } });
  state(1, "a");
  state(3, "c");
  state(2, "b");
  for (const v of [5n, 4n, 5n, 6n]) s.serve({ case: "typedMessage", value: { kind: "block", id: "blk1", type: "t", version: v } });
  assert.deepEqual(seen, ["1:a", "3:c"]);
  assert.deepEqual(typed, [5n, 5n, 6n]);
  assert.equal(h.version, 3n);
  const s2p = nextSocket();
  s.serverClose(1001);
  const s2 = await s2p;
  s2.open();
  s2.connected();
  assert.deepEqual(s2.frames("open").map((o) => o.id), ["blk1"]);
  h.close();
  assert.deepEqual(s2.frames("close").map((o) => o.id), ["blk1"]);
  await c.disconnect();
});

test("cards: the view and dynamic data arrive merged", async () => {
  const { create, toBinary } = await import("@bufbuild/protobuf");
  const { CardViewSchema } = await import("../dist/gen/opsync/v1/card_pb.js");
  const c = client();
  const got = [];
  c.openCard("card-1", (d) => got.push(d));
  const s = await connected(c);
  s.serve({ case: "state", value: { kind: "card", id: "card-1", version: 2n, data: toBinary(CardViewSchema, create(CardViewSchema, { outTrackId: "card-1", cardParamMap: { a: "1", me: "x" }, privateKeys: ["me"] })) } });
  s.serve({ case: "dynamic", value: { outTrackId: "card-1", sourceId: "src", data: '"v1"', valueType: "STRING", pulledAt: 5n } });
  s.serve({ case: "dynamic", value: { outTrackId: "card-1", sourceId: "src", error: "timeout", pulledAt: 6n } });
  assert.equal(got.length, 3);
  assert.deepEqual(got[1].params, { a: "1", me: "x" });
  assert.deepEqual(got[1].privateKeys, ["me"]);
  assert.deepEqual(got[2].dynamic.src, { data: '"v1"', valueType: "STRING", error: "timeout", pulledAt: 6 });
  await c.disconnect();
});

test("the device id is generated once and kept; a file store survives a restart", async () => {
  const dir = await mkdtemp(join(tmpdir(), "opsync-js-"));
  const path = join(dir, "state.json");
  const c1 = client({ store: new FileStore(path) });
  c1.register("A", () => {});
  const s = await connected(c1);
  s.deliver(["A", 1], ["A", 2]);
  await tick();
  await c1.disconnect();
  const raw = JSON.parse(await readFile(path, "utf8"));
  assert.equal(raw.ws_T.syncPoints.A, "2");
  const c2 = client({ store: new FileStore(path) });
  await c2.whenReady();
  assert.equal(c2.deviceId, c1.deviceId);
  assert.match(c1.deviceId, /^[0-9a-f]{32}$/);
  assert.equal(c2.syncPoint("A"), 2n);
  const c3 = client({ store: new FileStore(path), userId: "bob" });
  await c3.whenReady();
  assert.equal(c3.syncPoint("A"), 0n, "another user's points are not used");
});
