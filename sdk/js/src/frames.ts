// Framing of the client protocol: each WebSocket binary message is one
// ClientFrame (to the server) or one ServerFrame (from it), see
// proto/opsync/v1/wire.proto.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ClientFrameSchema,
  ServerFrameSchema,
  SyncPointSchema,
  type ClientFrame,
  type ServerFrame,
} from "./gen/opsync/v1/wire_pb.js";
import { OpsyncError } from "./errors.js";

/** The WebSocket subprotocol of the client protocol. */
export const SUBPROTOCOL = "opsync.v1";
/** The client endpoint's path on a node. */
export const WS_PATH = "/webapi/sync/ws";
/** The entries of one Ack frame, at most (as the Go client). */
export const MAX_ACKS_PER_FRAME = 256;

export type ClientFrameCase = ClientFrame["frame"];

/** encodeClientFrame serialises one frame to send. */
export function encodeClientFrame(frame: ClientFrameCase): Uint8Array {
  return toBinary(ClientFrameSchema, create(ClientFrameSchema, { frame }));
}

/** decodeServerFrame parses one binary message of the server. */
export function decodeServerFrame(data: ArrayBuffer | Uint8Array): ServerFrame {
  try {
    return fromBinary(ServerFrameSchema, data instanceof Uint8Array ? data : new Uint8Array(data));
  } catch (e) {
    throw new OpsyncError("protocolError", `undecodable server frame: ${(e as Error).message}`);
  }
}

/**
 * endpoint turns a node's base URL (http(s)://host:port, or ws(s)://) into
 * its WebSocket endpoint.
 */
export function endpoint(server: string): string {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new TypeError(`opsync: server URL ${JSON.stringify(server)}: want http(s)://host:port`);
  }
  switch (u.protocol) {
    case "http:":
    case "ws:":
      u.protocol = "ws:";
      break;
    case "https:":
    case "wss:":
      u.protocol = "wss:";
      break;
    default:
      throw new TypeError(`opsync: server URL ${JSON.stringify(server)}: want http(s)://host:port`);
  }
  u.pathname = u.pathname.replace(/\/+$/, "") + WS_PATH;
  return u.toString();
}

/**
 * AckBatcher collects acknowledgements and sends them together: every
 * ack made in one task goes out in as few Ack frames as the bound allows,
 * once the task's synchronous work is done.
 */
export class AckBatcher {
  private pending: { bizType: string; oplogId: bigint }[] = [];
  private scheduled = false;

  constructor(
    private readonly send: (frame: ClientFrameCase) => void,
    // A wrapper: queueMicrotask called as a method throws "Illegal invocation" in browsers.
    private readonly schedule: (fn: () => void) => void = (fn) => queueMicrotask(fn),
  ) {}

  ack(bizType: string, oplogId: bigint): void {
    this.pending.push({ bizType, oplogId });
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  /** flush sends what is pending now. */
  flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let i = 0; i < all.length; i += MAX_ACKS_PER_FRAME) {
      const received = all.slice(i, i + MAX_ACKS_PER_FRAME).map((p) => create(SyncPointSchema, p));
      this.send({ case: "ack", value: { $typeName: "opsync.v1.Ack", received } });
    }
  }
}
