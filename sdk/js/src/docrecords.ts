// A document's permanent records over the socket (README "Records in the
// client protocol"), as the Go client (client/docdata.go): with the
// document open, an editor reads its comment threads, comments and
// suggestions and changes its own (DocumentData frames, answered by
// DocumentDataAnswer with the request id echoed); onRecordChange opens the
// document's "docrecords" source and receives each durable change, by
// anyone, in journal order. The server acts as the connection's user: the
// author of what it creates, refused (FORBIDDEN) on another user's record.
//
// A request whose connection ends unanswered is rejected (NOT_CONNECTED):
// the change may have been made or not, so it is not sent again (a create
// sent twice would be a second record); read the record to know.

import { create, fromBinary } from "@bufbuild/protobuf";
import {
  DocAction,
  DocCommentSchema,
  DocKind,
  DocSuggestionSchema,
  DocThreadSchema,
  type DocComment,
  type DocRecord,
  type DocRevision,
  type DocSuggestion,
  type DocThread,
  type DocUser,
} from "./gen/opsync/v1/docdata_pb.js";
import { DocumentDataEventSchema, type DocumentData, type DocumentDataAnswer } from "./gen/opsync/v1/docwire_pb.js";
import type { StateUpdate } from "./gen/opsync/v1/wire_pb.js";
import { DocumentError, type DocumentErrorCode, type DocumentsHost } from "./documents.js";
import { callback } from "./callback.js";

export const RECORDS_KIND = "docrecords";

/** The kinds of record an editor reads and changes (users and revisions are the backend's). */
export type RecordKind = "thread" | "comment" | "suggestion";

interface RecordTypes {
  thread: DocThread;
  comment: DocComment;
  suggestion: DocSuggestion;
  user: DocUser;
  revision: DocRevision;
}

/** Any record a change can carry. */
export type AnyRecord = RecordTypes[keyof RecordTypes];

const kindNumber: Record<RecordKind, DocKind> = { thread: DocKind.THREAD, comment: DocKind.COMMENT, suggestion: DocKind.SUGGESTION };
const kindName: Partial<Record<DocKind, keyof RecordTypes>> = {
  [DocKind.USER]: "user",
  [DocKind.THREAD]: "thread",
  [DocKind.COMMENT]: "comment",
  [DocKind.SUGGESTION]: "suggestion",
  [DocKind.REVISION]: "revision",
};

// The fields an editor sets. context, attributes and data are JSON texts
// ("" none); an id left out is the server's to choose.
export interface ThreadInit {
  id?: string;
  context?: string;
  attributes?: string;
}
export interface CommentInit {
  id?: string;
  threadId: string;
  content: string;
  attributes?: string;
}
export interface SuggestionInit {
  id?: string;
  type: string;
  data: string;
  attributes?: string;
}

export interface ListOptions {
  /** Comments: of this thread only. */
  threadId?: string;
  /** At most this many (0 or none: 1000, the most). */
  limit?: number;
  /** The nextCursor of the page before. */
  cursor?: string;
  includeDeleted?: boolean;
}

/** A page of records in creation order; nextCursor "" when it is the last. */
export interface RecordsPage<T> {
  records: T[];
  nextCursor: string;
}

/**
 * One change of a document's records, in journal order: "put" is a record
 * as the change left it (created, updated, deleted softly — deletedAt
 * set —, restored, resolved, accepted…), "removed" one removed for good
 * (id only), "documentRemoved" everything of the document. The records of
 * one journaled change share its version (the journal seq).
 */
export interface RecordChange {
  documentId: string;
  version: bigint;
  action: "put" | "removed" | "documentRemoved";
  /** "" for documentRemoved. */
  kind: keyof RecordTypes | "";
  id: string;
  record?: AnyRecord;
}

/**
 * A document's records (DocumentHandle.records). Each method resolves with
 * the record as the change left it (list: a page; get: the record), or
 * rejects with a DocumentError whose code is the server's: FORBIDDEN (the
 * role does not allow it, or the record is another user's), NOT_FOUND,
 * NOT_OPEN, INVALID, CONFLICT, TOO_MANY_RECORDS, SYSTEM_ERROR; or
 * NOT_CONNECTED (no connection, or it was lost before the answer: the
 * change may have been made), CLOSED (the document was closed).
 */
export interface DocumentRecords {
  createThread(t?: ThreadInit): Promise<DocThread>;
  /** Sets the context and attributes given (those left out keep theirs). */
  updateThread(id: string, t: Omit<ThreadInit, "id">): Promise<DocThread>;
  deleteThread(id: string): Promise<DocThread>;
  restoreThread(id: string): Promise<DocThread>;
  /** To the comment archive. */
  resolveThread(id: string): Promise<DocThread>;
  reopenThread(id: string): Promise<DocThread>;
  createComment(c: CommentInit): Promise<DocComment>;
  updateComment(id: string, c: { content?: string; attributes?: string }): Promise<DocComment>;
  deleteComment(id: string): Promise<DocComment>;
  restoreComment(id: string): Promise<DocComment>;
  createSuggestion(s: SuggestionInit): Promise<DocSuggestion>;
  updateSuggestion(id: string, s: { type?: string; data?: string; attributes?: string }): Promise<DocSuggestion>;
  deleteSuggestion(id: string): Promise<DocSuggestion>;
  /** A deleted, accepted or rejected suggestion is open again. */
  restoreSuggestion(id: string): Promise<DocSuggestion>;
  /** Writers only; the suggestion is marked deleted. */
  acceptSuggestion(id: string): Promise<DocSuggestion>;
  rejectSuggestion(id: string): Promise<DocSuggestion>;
  get<K extends RecordKind>(kind: K, id: string, options?: { includeDeleted?: boolean }): Promise<RecordTypes[K]>;
  list<K extends RecordKind>(kind: K, options?: ListOptions): Promise<RecordsPage<RecordTypes[K]>>;
}

interface Pending {
  documentId: string;
  resolve: (a: DocumentDataAnswer) => void;
  reject: (e: DocumentError) => void;
}

type Request = Omit<DocumentData, "$typeName" | "$unknown" | "requestId" | "documentId" | "record"> & { record?: DocRecord["kind"] };

const valueOf = (r: DocRecord): AnyRecord | undefined => r.kind.value;

/** Watch is what a watched document's changes go to: each change, and the live mark. */
interface Watch {
  change: (c: RecordChange) => void;
  live?: (version: bigint) => void;
}

/** Records keeps a client's record requests in flight and the documents whose changes it watches. */
export class Records {
  private nextReq = 0n;
  private readonly pending = new Map<bigint, Pending>();
  private readonly watching = new Map<string, Watch>();

  constructor(private readonly host: DocumentsHost) {}

  /** handle is the records API of document documentId; isClosed says whether it was closed. */
  handle(documentId: string, isClosed: () => boolean): DocumentRecords {
    const ask = (r: Request) => this.request(documentId, isClosed, r);
    const one = <T>(r: Request) => ask(r).then((a) => (a.records[0] ? valueOf(a.records[0]) : undefined) as T);
    const act =
      <T>(kind: RecordKind, action: DocAction) =>
      (id: string) =>
        one<T>({ action, kind: kindNumber[kind], recordId: id, includeDeleted: false, threadId: "", limit: 0, cursor: "" });
    const put = <T>(kind: RecordKind, action: DocAction, id: string, record: DocRecord["kind"]) =>
      one<T>({ action, kind: kindNumber[kind], recordId: id, record, includeDeleted: false, threadId: "", limit: 0, cursor: "" });
    const { CREATE, UPDATE, DELETE, RESTORE, RESOLVE, REOPEN, ACCEPT, REJECT, GET, LIST } = DocAction;
    return {
      createThread: (t = {}) => put("thread", CREATE, "", { case: "thread", value: create(DocThreadSchema, t) }),
      updateThread: (id, t) => put("thread", UPDATE, id, { case: "thread", value: create(DocThreadSchema, t) }),
      deleteThread: act("thread", DELETE),
      restoreThread: act("thread", RESTORE),
      resolveThread: act("thread", RESOLVE),
      reopenThread: act("thread", REOPEN),
      createComment: (c) => put("comment", CREATE, "", { case: "comment", value: create(DocCommentSchema, c) }),
      updateComment: (id, c) => put("comment", UPDATE, id, { case: "comment", value: create(DocCommentSchema, c) }),
      deleteComment: act("comment", DELETE),
      restoreComment: act("comment", RESTORE),
      createSuggestion: (s) => put("suggestion", CREATE, "", { case: "suggestion", value: create(DocSuggestionSchema, s) }),
      updateSuggestion: (id, s) => put("suggestion", UPDATE, id, { case: "suggestion", value: create(DocSuggestionSchema, s) }),
      deleteSuggestion: act("suggestion", DELETE),
      restoreSuggestion: act("suggestion", RESTORE),
      acceptSuggestion: act("suggestion", ACCEPT),
      rejectSuggestion: act("suggestion", REJECT),
      get: (kind, id, o = {}) =>
        one({ action: GET, kind: kindNumber[kind], recordId: id, includeDeleted: !!o.includeDeleted, threadId: "", limit: 0, cursor: "" }),
      list: (kind, o = {}) =>
        ask({
          action: LIST,
          kind: kindNumber[kind],
          recordId: "",
          includeDeleted: !!o.includeDeleted,
          threadId: o.threadId ?? "",
          limit: o.limit ?? 0,
          cursor: o.cursor ?? "",
        }).then((a) => ({ records: a.records.map(valueOf) as never[], nextCursor: a.nextCursor })),
    };
  }

  /** watch opens the document's record changes for fn (also after each reconnect); live hears each open take effect. */
  watch(documentId: string, fn: (c: RecordChange) => void, live?: (version: bigint) => void): void {
    this.watching.set(documentId, { change: fn, live });
    this.sendOpen(documentId, true);
  }

  /** watched are the documents whose changes are open, to open again on a new connection. */
  watched(): string[] {
    return [...this.watching.keys()];
  }

  get size(): number {
    return this.watching.size;
  }

  /** closed: the document was closed; its requests fail with err, its changes stop (sendClose: tell the server). */
  closed(documentId: string, err: DocumentError, sendClose: boolean): void {
    if (this.watching.delete(documentId) && sendClose) this.sendOpen(documentId, false);
    for (const [req, p] of this.pending) {
      if (p.documentId !== documentId) continue;
      this.pending.delete(req);
      p.reject(err);
    }
  }

  /** disconnected: answers of the lost connection will not come. */
  disconnected(): void {
    const lost = [...this.pending.values()];
    this.pending.clear();
    for (const p of lost) p.reject(new DocumentError(p.documentId, "NOT_CONNECTED", "the connection was lost before the answer: the change may have been made"));
  }

  answer(a: DocumentDataAnswer): void {
    if (a.requestId === 0n) {
      // An Open of the changes refused: the token gives no role on the
      // document (whose own Open is refused too, closing it).
      if (a.code) this.watching.delete(a.documentId);
      return;
    }
    const p = this.pending.get(a.requestId);
    if (!p) return;
    this.pending.delete(a.requestId);
    if (a.code) p.reject(new DocumentError(p.documentId, a.code as DocumentErrorCode, a.detail));
    else p.resolve(a);
  }

  state(u: StateUpdate): void {
    const w = this.watching.get(u.id);
    if (!w) return;
    const fn = w.change;
    if (u.data.length === 0) {
      // The live mark: the open reached the document; every change after
      // version u.version follows.
      const live = w.live;
      if (live) callback(() => live(u.version));
      return;
    }
    let e;
    try {
      e = fromBinary(DocumentDataEventSchema, u.data);
    } catch {
      return;
    }
    const base = { documentId: u.id, version: u.version };
    const changes: RecordChange[] = [];
    for (const r of e.put) {
      const record = valueOf(r);
      if (record) changes.push({ ...base, action: "put", kind: r.kind.case!, id: record.id, record });
    }
    for (const r of e.removed) changes.push({ ...base, action: "removed", kind: kindName[r.kind] ?? "", id: r.id });
    if (e.documentRemoved) changes.push({ ...base, action: "documentRemoved", kind: "", id: "" });
    for (const c of changes) callback(() => fn(c));
  }

  private request(documentId: string, isClosed: () => boolean, r: Request): Promise<DocumentDataAnswer> {
    if (isClosed()) return Promise.reject(new DocumentError(documentId, "CLOSED", "the document is closed"));
    const requestId = ++this.nextReq;
    const { record, ...rest } = r;
    const value: DocumentData = { $typeName: "opsync.v1.DocumentData", ...rest, documentId, requestId };
    if (record) value.record = { $typeName: "opsync.v1.DocRecord", kind: record };
    if (!this.host.send({ case: "documentData", value })) {
      return Promise.reject(new DocumentError(documentId, "NOT_CONNECTED", "not connected"));
    }
    return new Promise((resolve, reject) => this.pending.set(requestId, { documentId, resolve, reject }));
  }

  private sendOpen(id: string, open: boolean): void {
    this.host.send(
      open
        ? { case: "open", value: { $typeName: "opsync.v1.Open", kind: RECORDS_KIND, id } }
        : { case: "close", value: { $typeName: "opsync.v1.Close", kind: RECORDS_KIND, id } },
    );
  }
}
