// Where a client keeps its device id and sync points between runs: a
// page reload, a new tab or a restarted app resumes exactly where the
// last one stopped. Browsers: IndexedDB (the default there); Node: a
// file (./filestore.js) or memory.

/** What a client keeps, per instance. */
export interface SavedState {
  deviceId?: string;
  /** The user the sync points belong to. */
  userId?: string;
  syncPoints: Record<string, bigint>;
}

/**
 * A StateStore keeps one SavedState per key (the instance id). save must
 * start writing before it returns (not in a later task), so that the
 * write is under way even if the page unloads right after; saves complete
 * in the order they were made.
 */
export interface StateStore {
  load(key: string): Promise<SavedState | undefined>;
  save(key: string, state: SavedState): Promise<void>;
}

function copy(s: SavedState): SavedState {
  return { deviceId: s.deviceId, userId: s.userId, syncPoints: { ...s.syncPoints } };
}

/** MemoryStore keeps the state for the life of the process (or page). */
export class MemoryStore implements StateStore {
  private readonly states = new Map<string, SavedState>();
  async load(key: string): Promise<SavedState | undefined> {
    const s = this.states.get(key);
    return s && copy(s);
  }
  async save(key: string, state: SavedState): Promise<void> {
    this.states.set(key, copy(state));
  }
}

/**
 * IndexedDBStore keeps the state in the browser's IndexedDB (database
 * `opsync-client`, one record per key; bigints are stored as they are).
 */
export class IndexedDBStore implements StateStore {
  private db?: IDBDatabase;
  private opening?: Promise<IDBDatabase>;

  constructor(
    private readonly dbName = "opsync-client",
    private readonly idb: IDBFactory = globalThis.indexedDB,
  ) {}

  private open(): Promise<IDBDatabase> {
    this.opening ??= new Promise((resolve, reject) => {
      const req = this.idb.open(this.dbName, 1);
      req.onupgradeneeded = () => req.result.createObjectStore("state");
      req.onsuccess = () => {
        this.db = req.result;
        resolve(req.result);
      };
      req.onerror = () => reject(req.error);
    });
    return this.opening;
  }

  async load(key: string): Promise<SavedState | undefined> {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const req = db.transaction("state", "readonly").objectStore("state").get(key);
      req.onsuccess = () => resolve(req.result as SavedState | undefined);
      req.onerror = () => reject(req.error);
    });
  }

  save(key: string, state: SavedState): Promise<void> {
    const write = (db: IDBDatabase) =>
      new Promise<void>((resolve, reject) => {
        const tx = db.transaction("state", "readwrite", { durability: "strict" } as IDBTransactionOptions);
        tx.objectStore("state").put(copy(state), key);
        tx.oncomplete = () => resolve();
        tx.onerror = tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
        // Commit now rather than when the task ends: the request is on
        // its way to the database before the page can unload.
        (tx as IDBTransaction & { commit?: () => void }).commit?.();
      });
    // Once open (load opens it), the write starts synchronously.
    return this.db ? write(this.db) : this.open().then(write);
  }
}

/** defaultStore: IndexedDB where there is one, else memory. */
export function defaultStore(): StateStore {
  return typeof globalThis.indexedDB !== "undefined" ? new IndexedDBStore() : new MemoryStore();
}
