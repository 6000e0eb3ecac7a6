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
 *
 * A page can unload between handling a message and the end of the
 * IndexedDB transaction that saves it, and Chromium aborts a transaction
 * still running when its page goes: after a reload the message came
 * again. So where there is localStorage, each save is also written there
 * first, synchronously (it is kept across reloads from the moment the
 * call returns), and load takes the newer of the two records (rev).
 */
export class IndexedDBStore implements StateStore {
  private db?: IDBDatabase;
  private opening?: Promise<IDBDatabase>;
  private readonly revs = new Map<string, number>();

  constructor(
    private readonly dbName = "opsync-client",
    private readonly idb: IDBFactory = globalThis.indexedDB,
    private readonly mirror: Storage | undefined = typeof localStorage !== "undefined" ? localStorage : undefined,
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

  private mirrorKey(key: string): string {
    return `${this.dbName}:${key}`;
  }

  private readMirror(key: string): (SavedState & { rev: number }) | undefined {
    try {
      const raw = this.mirror?.getItem(this.mirrorKey(key));
      if (!raw) return undefined;
      const m = JSON.parse(raw) as { rev: number; deviceId?: string; userId?: string; syncPoints: Record<string, string> };
      const syncPoints: Record<string, bigint> = {};
      for (const [b, p] of Object.entries(m.syncPoints)) syncPoints[b] = BigInt(p);
      return { rev: m.rev, deviceId: m.deviceId, userId: m.userId, syncPoints };
    } catch {
      return undefined; // a damaged mirror: IndexedDB's record stands
    }
  }

  async load(key: string): Promise<SavedState | undefined> {
    const db = await this.open();
    const rec = await new Promise<(SavedState & { rev?: number }) | undefined>((resolve, reject) => {
      const req = db.transaction("state", "readonly").objectStore("state").get(key);
      req.onsuccess = () => resolve(req.result as (SavedState & { rev?: number }) | undefined);
      req.onerror = () => reject(req.error);
    });
    const m = this.readMirror(key);
    const best = m && (!rec || m.rev > (rec.rev ?? 0)) ? m : rec;
    this.revs.set(key, Math.max(m?.rev ?? 0, rec?.rev ?? 0));
    return best && copy(best);
  }

  save(key: string, state: SavedState): Promise<void> {
    const rev = (this.revs.get(key) ?? 0) + 1;
    this.revs.set(key, rev);
    if (this.mirror) {
      const syncPoints: Record<string, string> = {};
      for (const [b, p] of Object.entries(state.syncPoints)) syncPoints[b] = p.toString();
      try {
        this.mirror.setItem(this.mirrorKey(key), JSON.stringify({ rev, deviceId: state.deviceId, userId: state.userId, syncPoints }));
      } catch {
        // quota or privacy mode: IndexedDB alone
      }
    }
    const write = (db: IDBDatabase) =>
      new Promise<void>((resolve, reject) => {
        const tx = db.transaction("state", "readwrite", { durability: "strict" } as IDBTransactionOptions);
        tx.objectStore("state").put({ ...copy(state), rev }, key);
        tx.oncomplete = () => resolve();
        tx.onerror = tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
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
