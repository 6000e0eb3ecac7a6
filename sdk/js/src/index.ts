export { OpsyncClient, type ClientOptions, type ClientEvents, type Handler, type Message, type WebSocketConstructor } from "./client.js";
export { OpsyncError, CloseCode, errorOfClose, type ErrorKind } from "./errors.js";
export { MemoryStore, IndexedDBStore, defaultStore, type StateStore, type SavedState } from "./store.js";
export type { Block, BlockTypedMessage, BlockCallbacks, BlockHandle } from "./blocks.js";
export { CARD_BIZ_TYPE, type CardData, type DynamicData, type CardHandle } from "./cards.js";
export { SUBPROTOCOL, WS_PATH } from "./frames.js";
