// A fake of the outside world's WebSocket: records what the client sends
// and lets a test play the server.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ClientFrameSchema, ServerFrameSchema } from "../dist/gen/opsync/v1/wire_pb.js";

export class FakeWS {
  static sockets = [];
  constructor(url, protocol) {
    this.url = url;
    this.protocol = "";
    this.wanted = protocol;
    this.readyState = 0;
    this.sent = [];
    this.closed = null;
    this.waiters = [];
    FakeWS.sockets.push(this);
    FakeWS.onNew?.(this);
  }
  send(b) {
    const f = fromBinary(ClientFrameSchema, b);
    this.sent.push(f.frame);
    for (const w of this.waiters.splice(0)) w();
  }
  close(code, reason) {
    if (this.closed) return;
    this.closed = { code, reason };
    this.readyState = 3;
  }
  // test side
  open() {
    this.protocol = this.wanted;
    this.readyState = 1;
    this.onopen?.({});
  }
  serve(frame) {
    this.onmessage?.({ data: toBinary(ServerFrameSchema, create(ServerFrameSchema, { frame })).buffer });
  }
  connected(withheld = []) {
    this.serve({ case: "connected", value: { deviceId: "d", userId: "u", withheldBizTypes: withheld } });
  }
  deliver(...msgs) {
    this.serve({ case: "deliver", value: { messages: msgs.map(([bizType, id, payload]) => ({ bizType, oplogId: BigInt(id), thirdMsgId: `t${id}`, payload: payload ?? `p${id}` })) } });
  }
  serverClose(code, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  frames(kind) {
    return this.sent.filter((f) => f.case === kind).map((f) => f.value);
  }
  acked() {
    return this.frames("ack").flatMap((a) => a.received.map((r) => `${r.bizType}:${r.oplogId}`));
  }
  async until(pred) {
    while (!pred()) await new Promise((r) => this.waiters.push(r));
  }
}

export function nextSocket() {
  return new Promise((resolve) => {
    FakeWS.onNew = (ws) => {
      FakeWS.onNew = null;
      resolve(ws);
    };
  });
}

export const tick = () => new Promise((r) => setTimeout(r, 0));
