import { test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AckBatcher, MAX_ACKS_PER_FRAME, decodeServerFrame, encodeClientFrame, endpoint } from "../dist/frames.js";
import { ClientFrameSchema, ServerFrameSchema } from "../dist/gen/opsync/v1/wire_pb.js";
import { errorOfClose } from "../dist/errors.js";
import { backoffDelay } from "../dist/backoff.js";

test("a client frame encodes as the protocol's ClientFrame (uint64 oplog ids intact)", () => {
  const b = encodeClientFrame({ case: "registerBiz", value: { bizType: "CHAT", syncPoint: 18446744073709551615n } });
  const f = fromBinary(ClientFrameSchema, b);
  assert.equal(f.frame.case, "registerBiz");
  assert.equal(f.frame.value.bizType, "CHAT");
  assert.equal(f.frame.value.syncPoint, 18446744073709551615n);
});

test("a server frame decodes; garbage is a protocolError", () => {
  const b = toBinary(ServerFrameSchema, create(ServerFrameSchema, { frame: { case: "deliver", value: { messages: [{ bizType: "X", oplogId: 7n, payload: "hi", pushTime: 12n }] } } }));
  const f = decodeServerFrame(b.buffer);
  assert.equal(f.frame.case, "deliver");
  assert.equal(f.frame.value.messages[0].oplogId, 7n);
  assert.throws(() => decodeServerFrame(new Uint8Array([0xff, 0xff, 0xff])), (e) => e.kind === "protocolError");
});

test("endpoint maps base URLs to the WebSocket endpoint", () => {
  assert.equal(endpoint("http://127.0.0.1:8080"), "ws://127.0.0.1:8080/webapi/sync/ws");
  assert.equal(endpoint("https://sync.example.com/"), "wss://sync.example.com/webapi/sync/ws");
  assert.equal(endpoint("wss://h:1/base"), "wss://h:1/base/webapi/sync/ws");
  assert.throws(() => endpoint("ftp://h"), TypeError);
  assert.throws(() => endpoint("not a url"), TypeError);
});

test("acks made in one task go out together, at most 256 to a frame", async () => {
  const sent = [];
  const a = new AckBatcher((f) => sent.push(f));
  for (let i = 1; i <= 600; i++) a.ack("B", BigInt(i));
  assert.equal(sent.length, 0, "nothing is sent before the task's end");
  await Promise.resolve();
  assert.deepEqual(sent.map((f) => f.value.received.length), [MAX_ACKS_PER_FRAME, MAX_ACKS_PER_FRAME, 600 - 2 * MAX_ACKS_PER_FRAME]);
  assert.equal(sent.flatMap((f) => f.value.received).map((r) => Number(r.oplogId)).join(), Array.from({ length: 600 }, (_, i) => i + 1).join());
  a.ack("B", 601n);
  await Promise.resolve();
  assert.equal(sent.length, 4);
});

test("close codes map to kinds a developer can act on", () => {
  const cases = [
    [4401, "unauthorized", true],
    [4403, "forbidden", true],
    [4404, "unknownInstance", true],
    [4400, "badFrame", true],
    [4409, "protocolError", true],
    [4430, "rateLimited", false],
    [4431, "shed", false],
    [4500, "internal", false],
    [4408, "connectTimeout", false],
    [1006, "connectionLost", false],
    [1001, "connectionLost", false],
    [4429, "tooSlow", false],
    [4999, "connectionLost", false], // unknown: not final (wire.proto's contract)
  ];
  for (const [code, kind, fatal] of cases) {
    const e = errorOfClose(code, "r");
    assert.equal(e.kind, kind, `code ${code}`);
    assert.equal(e.fatal, fatal, `code ${code} fatal`);
  }
});

test("backoff doubles from min to max with jitter in [d/2, d]", () => {
  assert.equal(backoffDelay(0, 100, 10000, () => 0), 50);
  assert.equal(backoffDelay(0, 100, 10000, () => 1), 100);
  assert.equal(backoffDelay(3, 100, 10000, () => 1), 800);
  assert.equal(backoffDelay(30, 100, 10000, () => 1), 10000);
  assert.equal(backoffDelay(30, 100, 10000, () => 0), 5000);
});
