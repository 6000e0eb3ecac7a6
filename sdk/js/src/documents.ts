// Collaborative documents (README "Collaborative documents"): an editor
// opens a document and receives its latest snapshot and every accepted
// operation after it, in version order; it sends operations made at the
// version it has, and the session accepts them only at its current
// version, else answers REBASE with the operations the editor missed.
// Operations are opaque bytes: transforming the editor's own operations
// over the missed ones is the application's (onRebase), as in the Go
// client (client/document.go). The document's permanent records
// (comments, threads, suggestions) are its handle's records, and their
// changes onRecordChange (docrecords.ts).
//
// The rules that keep every editor on the same version sequence:
// - one batch is in flight per document; while it is (and while onRebase
//   runs) the updates that arrive are held, so that when the answer comes
//   the editor knows which versions are its own and which it missed;
// - onRebase gets every operation of the editor not yet accepted (the one
//   in flight and those sent after it), since all of them were made on the
//   state that the missed operations change;
// - a batch whose answer was lost (connection lost, SYSTEM_ERROR) is sent
//   again at the same base: a REBASE whose missed operations start with
//   it, by this user, means the first sending was accepted.

import { fromBinary } from "@bufbuild/protobuf";
import { DocumentUpdateSchema, type DocumentAnswer, type DocumentUpdate } from "./gen/opsync/v1/document_pb.js";
import type { StateUpdate } from "./gen/opsync/v1/wire_pb.js";
import type { ClientFrameCase } from "./frames.js";
import type { DocumentRecords, RecordChange, Records } from "./docrecords.js";
import { callback } from "./callback.js";

export const DOCUMENT_KIND = "document";
const documentIdPattern = /^[A-Za-z0-9_.-]{1,128}$/;
/** The session's limits (internal/document): a batch, one operation, a snapshot. */
export const MAX_BATCH_OPS = 256;
export const MAX_OP_BYTES = 32 << 10;
export const MAX_BATCH_BYTES = 48 << 10;
export const MAX_SNAPSHOT_BYTES = 60 << 10;
/** The server's bound of state sources per connection. */
export const MAX_OPEN_DOCUMENTS = 256;
// Operations held (while a batch is in flight, or ahead of a gap) at most:
// past it the document is opened again, which sends it whole.
const MAX_HELD_OPS = 4096;

/** An accepted operation at its version. */
export interface DocOp {
  version: bigint;
  data: Uint8Array;
  /** The user who sent it ("" for a connection without a user). */
  userId: string;
  /** Sent by this handle. */
  mine: boolean;
}

/** An editor's content of the document at version. */
export interface DocSnapshot {
  version: bigint;
  data: Uint8Array;
}

/**
 * The session's refusals (DocumentAnswer.code) and the records' ones
 * (DocumentDataAnswer.code: NOT_FOUND, NOT_OPEN, CONFLICT,
 * TOO_MANY_RECORDS…); CLOSED: the document was closed (by close(), or
 * because the token gives no role on it); NOT_CONNECTED: no connection,
 * or it was lost before the answer.
 */
export type DocumentErrorCode =
  | "FORBIDDEN"
  | "INVALID"
  | "TOO_LARGE"
  | "RESYNC"
  | "SYSTEM_ERROR"
  | "NOT_FOUND"
  | "NOT_OPEN"
  | "CONFLICT"
  | "TOO_MANY_RECORDS"
  | "CLOSED"
  | "NOT_CONNECTED";

/** Why a send or sendSnapshot failed. */
export class DocumentError extends Error {
  override readonly name = "DocumentError";
  constructor(
    readonly documentId: string,
    readonly code: DocumentErrorCode,
    readonly detail: string,
  ) {
    super(`opsync: document ${documentId}: ${code}${detail ? `: ${detail}` : ""}`);
  }
}

export interface DocumentCallbacks {
  /** The editor starts (again) from this snapshot: the operations after it follow. */
  onSnapshot?: (snapshot: DocSnapshot) => void;
  /** Accepted operations, in version order, each version once, this handle's own included (mine). */
  onOps?: (ops: DocOp[]) => void;
  /**
   * The session accepted others' operations first: missed are those
   * (already passed to onOps), mine this handle's operations not yet
   * accepted. Answer the operations to send instead (transformed over
   * missed); [] sends nothing. Default: send mine unchanged.
   */
  onRebase?: (missed: DocOp[], mine: Uint8Array[]) => Uint8Array[] | Promise<Uint8Array[]>;
  /** The document was closed by the server (the token gives no role on it). */
  onClose?: (err: DocumentError) => void;
  /**
   * Each change of the document's comments, threads and suggestions made
   * from now on, by anyone (this editor included), in the order they were
   * made; opened again after a reconnect. Changes made while disconnected
   * are not replayed: list the records after a reconnect.
   */
  onRecordChange?: (change: RecordChange) => void;
  /**
   * The changes are live: the open of onRecordChange reached the document
   * (again after each reconnect), whose last change then was version;
   * every change after it reaches onRecordChange.
   */
  onRecordsLive?: (version: bigint) => void;
}

/** What openDocument answers. */
export interface DocumentHandle {
  readonly documentId: string;
  /** The version of the last operation passed on (0 before any). */
  readonly version: bigint;
  /**
   * send sends operations made at the version the editor has (with those
   * sent before and not yet accepted). It resolves with the version of
   * the last one once accepted (rebased as onRebase says), or rejects
   * with a DocumentError.
   */
  send(ops: (Uint8Array | string)[]): Promise<bigint>;
  /** sendSnapshot stores the editor's content at version (one it has) as the document's snapshot. */
  sendSnapshot(version: bigint, data: Uint8Array | string): Promise<bigint>;
  /** The document's comments, threads and suggestions (docrecords.ts). */
  readonly records: DocumentRecords;
  close(): void;
}

/** What Documents needs of the client. */
export interface DocumentsHost {
  /** Sends a frame on the connection; false when there is none. */
  send(frame: ClientFrameCase): boolean;
  /** The user the client is connected as. */
  userId(): string;
  /** Runs fn after a retry delay. */
  later(fn: () => void): void;
}

interface Waiter {
  left: number; // of the pending operations, how many must be accepted first
  resolve: (v: bigint) => void;
  reject: (e: DocumentError) => void;
}

interface Flight {
  req: bigint;
  base: bigint;
  count: number; // the first count pending operations
  uncertain: boolean; // sent before, answer lost: may have been accepted
}

class Doc {
  version = 0n;
  pending: Uint8Array[] = [];
  waiters: Waiter[] = [];
  flight: Flight | null = null;
  rebasing = false;
  held: DocumentUpdate[] = [];
  heldOps = 0;
  ahead = new Map<bigint, DocOp>();
  snapshotReqs = new Map<bigint, Waiter>();
  closed = false;
  constructor(
    readonly id: string,
    readonly cb: DocumentCallbacks,
  ) {}
  get busy(): boolean {
    return this.flight !== null || this.rebasing;
  }
}

const encoder = new TextEncoder();
const bytes = (x: Uint8Array | string): Uint8Array => (typeof x === "string" ? encoder.encode(x) : x);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** checkOps answers what the session would refuse in ops, or null. */
function checkOps(ops: Uint8Array[]): [DocumentErrorCode, string] | null {
  for (const [i, op] of ops.entries()) {
    if (op.length > MAX_OP_BYTES) return ["TOO_LARGE", `operation ${i} is ${op.length} bytes: at most ${MAX_OP_BYTES}`];
  }
  return null;
}

/** Documents keeps a client's open documents and their requests. */
export class Documents {
  private readonly open = new Map<string, Doc>();
  private nextReq = 0n;
  private readonly byReq = new Map<bigint, Doc>();

  constructor(
    private readonly host: DocumentsHost,
    private readonly records: Records,
  ) {}

  add(documentId: string, cb: DocumentCallbacks): DocumentHandle {
    if (!documentIdPattern.test(documentId)) {
      throw new TypeError("opsync: a document id is 1-128 characters of A-Z, a-z, 0-9, '_', '.' and '-'");
    }
    if (this.open.has(documentId)) throw new Error(`opsync: document ${documentId} is open already`);
    // A document's record changes are one more source on the connection.
    if (this.open.size + this.records.size + (cb.onRecordChange ? 1 : 0) >= MAX_OPEN_DOCUMENTS) {
      throw new Error(`opsync: at most ${MAX_OPEN_DOCUMENTS} documents (and their record changes) open`);
    }
    const d = new Doc(documentId, cb);
    this.open.set(documentId, d);
    this.sendOpen(d, true);
    if (cb.onRecordChange) this.records.watch(documentId, cb.onRecordChange, cb.onRecordsLive);
    return {
      records: this.records.handle(documentId, () => d.closed),
      documentId,
      get version() {
        return d.version;
      },
      send: (ops) => this.sendOps(d, ops),
      sendSnapshot: (version, data) => this.sendSnapshot(d, version, data),
      close: () => this.close(d, new DocumentError(documentId, "CLOSED", "closed by the application"), true),
    };
  }

  get size(): number {
    return this.open.size;
  }

  /** ids are the open documents, to open again on a new connection. */
  ids(): string[] {
    return [...this.open.keys()];
  }

  /** connected: the documents were opened again on a new connection; resend what is unanswered. */
  connected(): void {
    for (const d of this.open.values()) this.pump(d);
  }

  /** disconnected: answers of the lost connection will not come. */
  disconnected(): void {
    for (const d of this.open.values()) {
      if (d.flight) {
        this.byReq.delete(d.flight.req);
        d.flight = { ...d.flight, req: 0n, uncertain: true };
      }
      for (const [req, w] of d.snapshotReqs) {
        this.byReq.delete(req);
        w.reject(new DocumentError(d.id, "NOT_CONNECTED", "the connection was lost before the answer"));
      }
      d.snapshotReqs.clear();
    }
  }

  state(u: StateUpdate): void {
    const d = this.open.get(u.id);
    if (!d) return;
    let m: DocumentUpdate;
    try {
      m = fromBinary(DocumentUpdateSchema, u.data);
    } catch {
      return;
    }
    if (d.busy) {
      d.held.push(m);
      d.heldOps += m.ops.length;
      if (d.heldOps > MAX_HELD_OPS) this.dropHeld(d);
      return;
    }
    this.apply(d, m);
  }

  answer(a: DocumentAnswer): void {
    const d = a.requestId === 0n ? this.open.get(a.documentId) : this.byReq.get(a.requestId);
    if (!d) return;
    if (a.requestId === 0n) {
      // An Open refused: the token gives no role on the document.
      if (a.code) this.close(d, new DocumentError(d.id, a.code as DocumentErrorCode, a.detail), false);
      return;
    }
    this.byReq.delete(a.requestId);
    const sw = d.snapshotReqs.get(a.requestId);
    if (sw) {
      d.snapshotReqs.delete(a.requestId);
      if (a.code) sw.reject(new DocumentError(d.id, a.code as DocumentErrorCode, a.detail));
      else sw.resolve(a.version);
      return;
    }
    const f = d.flight;
    if (!f || f.req !== a.requestId) return;
    d.flight = null;
    switch (a.code) {
      case "":
        this.accepted(d, f, a.version - BigInt(f.count) + 1n);
        break;
      case "REBASE":
        this.rebase(d, f, a);
        break;
      case "SYSTEM_ERROR":
        // The session did not answer: it may have accepted the batch.
        d.flight = { ...f, req: 0n, uncertain: true };
        this.host.later(() => this.pump(d));
        break;
      case "RESYNC":
        // The operations after the base were replaced by a snapshot:
        // opened again, the document starts from it.
        this.fail(d, new DocumentError(d.id, "RESYNC", a.detail));
        this.dropHeld(d);
        break;
      default:
        this.fail(d, new DocumentError(d.id, a.code as DocumentErrorCode, a.detail));
        this.release(d);
    }
  }

  // ---- internals ----

  private sendOpen(d: Doc, open: boolean): void {
    this.host.send(
      open
        ? { case: "open", value: { $typeName: "opsync.v1.Open", kind: DOCUMENT_KIND, id: d.id } }
        : { case: "close", value: { $typeName: "opsync.v1.Close", kind: DOCUMENT_KIND, id: d.id } },
    );
  }

  private sendOps(d: Doc, input: (Uint8Array | string)[]): Promise<bigint> {
    if (d.closed) return Promise.reject(new DocumentError(d.id, "CLOSED", "the document is closed"));
    const ops = input.map(bytes);
    if (ops.length === 0) return Promise.reject(new DocumentError(d.id, "INVALID", "no operations"));
    const bad = checkOps(ops);
    if (bad) return Promise.reject(new DocumentError(d.id, bad[0], bad[1]));
    return new Promise<bigint>((resolve, reject) => {
      d.pending.push(...ops);
      d.waiters.push({ left: d.pending.length, resolve, reject });
      this.pump(d);
    });
  }

  private sendSnapshot(d: Doc, version: bigint, input: Uint8Array | string): Promise<bigint> {
    if (d.closed) return Promise.reject(new DocumentError(d.id, "CLOSED", "the document is closed"));
    const data = bytes(input);
    if (data.length > MAX_SNAPSHOT_BYTES) {
      return Promise.reject(new DocumentError(d.id, "TOO_LARGE", `a snapshot is at most ${MAX_SNAPSHOT_BYTES} bytes`));
    }
    const req = ++this.nextReq;
    const sent = this.host.send({
      case: "documentSnapshot",
      value: { $typeName: "opsync.v1.DocumentSnapshotFrame", documentId: d.id, requestId: req, version, data },
    });
    if (!sent) return Promise.reject(new DocumentError(d.id, "NOT_CONNECTED", "not connected"));
    return new Promise<bigint>((resolve, reject) => {
      d.snapshotReqs.set(req, { left: 0, resolve, reject });
      this.byReq.set(req, d);
    });
  }

  // pump sends the next batch when none is in flight: the one whose
  // answer was lost again as it was, else what is pending.
  private pump(d: Doc): void {
    if (d.closed || d.rebasing) return;
    if (d.flight && d.flight.req !== 0n) return;
    let f = d.flight;
    if (!f) {
      if (d.pending.length === 0) return;
      let n = 0;
      let size = 0;
      while (n < d.pending.length && n < MAX_BATCH_OPS && size + d.pending[n]!.length <= MAX_BATCH_BYTES) size += d.pending[n++]!.length;
      f = { req: 0n, base: d.version, count: n, uncertain: false };
    }
    const req = ++this.nextReq;
    const sent = this.host.send({
      case: "documentOps",
      value: { $typeName: "opsync.v1.DocumentOps", documentId: d.id, requestId: req, baseVersion: f.base, ops: d.pending.slice(0, f.count) },
    });
    if (!sent) {
      // Sent once connected (connected()); a batch held for its answer stays uncertain.
      d.flight = f.uncertain ? f : null;
      return;
    }
    d.flight = { ...f, req };
    this.byReq.set(req, d);
  }

  // accepted: the batch in flight is at versions first…; rest are
  // operations after it (a lost answer's REBASE).
  private accepted(d: Doc, f: Flight, first: bigint, rest: DocOp[] = []): void {
    const me = this.host.userId();
    const mine = d.pending.splice(0, f.count).map((data, i): DocOp => ({ version: first + BigInt(i), data, userId: me, mine: true }));
    this.pass(d, [...mine, ...rest]);
    this.settle(d, f.count, first + BigInt(f.count) - 1n);
    this.release(d);
  }

  private rebase(d: Doc, f: Flight, a: DocumentAnswer): void {
    const me = this.host.userId();
    const ours = d.pending.slice(0, f.count);
    if (
      f.uncertain &&
      a.ops[0]?.version === f.base + 1n &&
      a.ops.length >= f.count &&
      ours.every((op, i) => a.ops[i]!.userId === me && sameBytes(a.ops[i]!.data, op))
    ) {
      // The first sending was accepted; its answer was lost.
      this.accepted(d, f, f.base + 1n, this.docOps(a.ops.slice(f.count), false));
      return;
    }
    // The held updates may carry more missed operations: all of them are
    // what the pending operations are rebased over.
    const missed = this.pass(d, this.docOps(a.ops, false));
    const held = d.held;
    d.held = [];
    d.heldOps = 0;
    for (const m of held) missed.push(...this.apply(d, m));
    d.rebasing = true;
    const mine = d.pending.slice();
    let out: Uint8Array[] | Promise<Uint8Array[]>;
    try {
      out = d.cb.onRebase ? d.cb.onRebase(missed, mine) : mine;
    } catch (e) {
      out = Promise.reject(e);
    }
    Promise.resolve(out).then(
      (ops) => {
        d.rebasing = false;
        if (d.closed) return;
        const next = ops.map(bytes);
        const bad = checkOps(next);
        if (bad) {
          this.fail(d, new DocumentError(d.id, bad[0], `onRebase: ${bad[1]}`));
        } else {
          // The operations it answers stand for all that were pending:
          // every send resolves when they are accepted.
          d.pending = next;
          for (const w of d.waiters) w.left = next.length;
          this.settle(d, 0, d.version);
        }
        this.release(d);
      },
      (e) => {
        d.rebasing = false;
        this.fail(d, new DocumentError(d.id, "INVALID", `onRebase threw: ${(e as Error)?.message ?? e}`));
        this.release(d);
      },
    );
  }

  // settle counts n more operations accepted (the last at version) and
  // resolves the sends all of whose operations are.
  private settle(d: Doc, n: number, version: bigint): void {
    for (const w of d.waiters) w.left -= n;
    while (d.waiters.length > 0 && d.waiters[0]!.left <= 0) d.waiters.shift()!.resolve(version);
  }

  // release applies what was held while busy, then sends what is pending.
  private release(d: Doc): void {
    if (d.busy) return;
    const held = d.held;
    d.held = [];
    d.heldOps = 0;
    for (const m of held) this.apply(d, m);
    this.pump(d);
  }

  private fail(d: Doc, err: DocumentError): void {
    d.pending = [];
    d.flight = null;
    for (const w of d.waiters.splice(0)) w.reject(err);
  }

  private close(d: Doc, err: DocumentError, sendClose: boolean): void {
    if (this.open.get(d.id) !== d) return;
    this.open.delete(d.id);
    d.closed = true;
    if (d.flight) this.byReq.delete(d.flight.req);
    this.fail(d, err);
    for (const [req, w] of d.snapshotReqs) {
      this.byReq.delete(req);
      w.reject(err);
    }
    d.snapshotReqs.clear();
    this.records.closed(d.id, err, sendClose);
    if (sendClose) this.sendOpen(d, false);
    else callback(() => d.cb.onClose?.(err));
  }

  // dropHeld forgets what was held and opens the document again: the
  // session sends its snapshot and every operation after it.
  private dropHeld(d: Doc): void {
    d.held = [];
    d.heldOps = 0;
    d.ahead.clear();
    this.sendOpen(d, false);
    this.sendOpen(d, true);
  }

  private docOps(ops: DocumentUpdate["ops"], mine: boolean): DocOp[] {
    return ops.map((o) => ({ version: o.version, data: o.data, userId: o.userId, mine }));
  }

  // apply applies an update; it answers the operations passed on.
  private apply(d: Doc, m: DocumentUpdate): DocOp[] {
    const s = m.snapshot;
    if (s && s.version > d.version) {
      // The editor is behind the snapshot: it starts from it.
      d.version = s.version;
      for (const v of d.ahead.keys()) if (v <= d.version) d.ahead.delete(v);
      const snap = { version: s.version, data: s.data };
      callback(() => d.cb.onSnapshot?.(snap));
    }
    return this.pass(d, this.docOps(m.ops, false));
  }

  // pass passes on the operations that are next in version order (and the
  // ones kept ahead of a gap that they fill); keeps the others ahead. It
  // answers what it passed on.
  private pass(d: Doc, ops: DocOp[]): DocOp[] {
    const out: DocOp[] = [];
    for (const op of ops) {
      if (op.version <= d.version) continue;
      if (op.version > d.version + 1n) {
        if (d.ahead.size >= MAX_HELD_OPS) {
          this.dropHeld(d);
          break;
        }
        d.ahead.set(op.version, op);
        continue;
      }
      out.push(op);
      d.version = op.version;
      for (let next = d.ahead.get(d.version + 1n); next; next = d.ahead.get(d.version + 1n)) {
        d.ahead.delete(next.version);
        out.push(next);
        d.version = next.version;
      }
    }
    if (out.length > 0) callback(() => d.cb.onOps?.(out));
    return out;
  }
}
