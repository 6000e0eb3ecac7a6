export { OpsyncClient, type ClientOptions, type ClientEvents, type Handler, type Message, type WebSocketConstructor } from "./client.js";
export { OpsyncError, CloseCode, errorOfClose, type ErrorKind } from "./errors.js";
export { MemoryStore, IndexedDBStore, defaultStore, type StateStore, type SavedState } from "./store.js";
export type { Block, BlockTypedMessage, BlockCallbacks, BlockHandle } from "./blocks.js";
export { CARD_BIZ_TYPE, type CardData, type DynamicData, type CardHandle } from "./cards.js";
export {
  DocumentError,
  MAX_BATCH_OPS,
  MAX_OP_BYTES,
  MAX_BATCH_BYTES,
  MAX_SNAPSHOT_BYTES,
  type DocOp,
  type DocSnapshot,
  type DocumentCallbacks,
  type DocumentHandle,
  type DocumentErrorCode,
} from "./documents.js";
export type {
  DocumentRecords,
  RecordChange,
  RecordKind,
  RecordsPage,
  ListOptions,
  ThreadInit,
  CommentInit,
  SuggestionInit,
  AnyRecord,
} from "./docrecords.js";
export type { DocThread, DocComment, DocSuggestion, DocUser, DocRevision } from "./gen/opsync/v1/docdata_pb.js";
export { SUBPROTOCOL, WS_PATH } from "./frames.js";
