// OpsyncClient: one device of one user, as the Go client (client/) and the
// source's mobile SDK: handlers by bizType, sync points kept in a store,
// reconnection with backoff over a node set, blocks, cards and documents.

import { backoffDelay } from "./backoff.js";
import { Blocks, BLOCK_KIND, type BlockCallbacks, type BlockHandle } from "./blocks.js";
import { Cards, CARD_KIND, type CardData, type CardHandle } from "./cards.js";
import { Documents, DOCUMENT_KIND, type DocumentCallbacks, type DocumentHandle, type DocumentsHost } from "./documents.js";
import { Records, RECORDS_KIND } from "./docrecords.js";
import { OpsyncError, errorOfClose } from "./errors.js";
import { AckBatcher, SUBPROTOCOL, decodeServerFrame, encodeClientFrame, endpoint, type ClientFrameCase } from "./frames.js";
import type { ServerFrame, SyncMessage } from "./gen/opsync/v1/wire_pb.js";
import { defaultStore, type SavedState, type StateStore } from "./store.js";
import { SyncPoints } from "./syncpoints.js";
import { callback } from "./callback.js";

/** A message delivered to a handler. */
export interface Message {
  bizType: string;
  oplogId: bigint;
  thirdMsgId: string;
  /** The text payload (absent when the message is binary). */
  payload?: string;
  /** The binary payload (present only when the message is binary). */
  binaryPayload?: Uint8Array;
  /** ms since the epoch */
  pushTime: number;
}

/**
 * A Handler handles a message. The message is acknowledged when it
 * returns, or when the promise it returns resolves; a throw (or a
 * rejection) leaves it unacknowledged: the server delivers it again.
 * Handlers run one at a time, in delivery order.
 */
export type Handler = (message: Message) => void | Promise<void>;

/** The WebSocket constructor the client uses (the global one by default). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

export interface ClientOptions {
  /** A node's base URL, http(s)://host:port. */
  server?: string;
  /** More nodes of the same set: the client tries them in turn. */
  servers?: string[];
  instanceId: string;
  /** The signed-in user; none: a device-only connection (see clearUserInfo). */
  userId?: string;
  sessionId?: string;
  /** This installation; none: the stored one, or a new random one (stored). */
  deviceId?: string;
  osType?: string;
  appVersion?: string;
  /** A client token (HS256 JWT signed with the instance's client secret). */
  token?: string;
  /**
   * Called for a token before each connection attempt (its answer
   * replaces `token`). When the server refuses a token, the client asks
   * once more before it gives up (error `unauthorized`, fatal).
   */
  tokenProvider?: () => string | Promise<string>;
  /** Where the device id and sync points are kept (default: IndexedDB in browsers, memory elsewhere). */
  store?: StateStore;
  /** The WebSocket implementation (default: globalThis.WebSocket; Node 20 needs e.g. the `ws` package's). */
  WebSocket?: WebSocketConstructor;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  pingIntervalMs?: number;
  /** A connection on which nothing arrives for this long is dead (default two ping intervals). */
  pongTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export interface ClientEvents {
  /** The server answered Connected; withheld are the registered bizTypes it does not deliver on this connection. */
  connected: (info: { deviceId: string; userId: string; withheld: string[] }) => void;
  disconnected: () => void;
  error: (err: OpsyncError) => void;
}

const bizTypePattern = /^[A-Za-z0-9_-]{1,30}$/;
const MAX_BIZ_TYPES = 256;
const MAX_ID_LEN = 100; // UTF-16 code units, as the server measures them

/** conn is one open WebSocket and what the client sent on it. */
interface Conn {
  ws: WebSocket;
  connected: boolean;
  registered: Set<string>; // the bizTypes the server knows on this connection
  acks: AckBatcher;
  end: (err: OpsyncError | null) => void;
}

interface Queued {
  m: Message;
  epoch: number;
}

function randomDeviceId(): string {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export class OpsyncClient {
  private readonly urls: string[];
  private readonly opts: Required<Pick<ClientOptions, "minBackoffMs" | "maxBackoffMs" | "pingIntervalMs" | "pongTimeoutMs" | "connectTimeoutMs">>;
  private readonly store: StateStore;
  private readonly WS: WebSocketConstructor;
  private readonly listeners: { [K in keyof ClientEvents]: Set<ClientEvents[K]> } = {
    connected: new Set(),
    disconnected: new Set(),
    error: new Set(),
  };

  private userId: string;
  private sessionId: string;
  private token: string;
  private deviceIdValue: string;
  private owner = ""; // the user the sync points belong to
  private points = new SyncPoints();
  private readonly handlers = new Map<string, Handler>();
  private readonly blocks: Blocks;
  private readonly cards: Cards;
  private readonly docs: Documents;
  private readonly records: Records;

  private readonly ready: Promise<void>;
  private loopGen = 0; // bumped to stop a connection loop
  private running = false;
  private conn: Conn | null = null;
  private wakeSleep: (() => void) | null = null;
  private queue: Queued[] = [];
  private draining = false;
  private epoch = 0; // bumped when the user changes: queued messages are dropped
  private saveScheduled = false;
  private lastSave: Promise<void> = Promise.resolve();

  constructor(private readonly options: ClientOptions) {
    if (!options.instanceId) throw new TypeError("opsync: instanceId is required");
    const servers = [options.server, ...(options.servers ?? [])].filter((s): s is string => !!s);
    if (servers.length === 0) throw new TypeError("opsync: server (or servers) is required");
    this.urls = servers.map(endpoint);
    const ping = options.pingIntervalMs ?? 20_000;
    this.opts = {
      minBackoffMs: options.minBackoffMs ?? 100,
      maxBackoffMs: Math.max(options.maxBackoffMs ?? 10_000, options.minBackoffMs ?? 100),
      pingIntervalMs: ping,
      pongTimeoutMs: options.pongTimeoutMs ?? 2 * ping,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    };
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new TypeError("opsync: no WebSocket here: pass options.WebSocket");
    this.WS = WS;
    this.store = options.store ?? defaultStore();
    if (options.userId !== undefined) checkId("userId", options.userId);
    this.userId = options.userId ?? "";
    this.sessionId = options.sessionId ?? "";
    this.token = options.token ?? "";
    this.deviceIdValue = options.deviceId ?? "";
    if (this.deviceIdValue) checkId("deviceId", this.deviceIdValue);
    this.blocks = new Blocks((open, id) => this.sendOpen(BLOCK_KIND, open, id));
    this.cards = new Cards((open, id) => this.sendOpen(CARD_KIND, open, id));
    const docHost: DocumentsHost = {
      send: (frame) => {
        const c = this.conn;
        if (!c?.connected || c.ws.readyState !== 1) return false;
        this.send(c, frame);
        return true;
      },
      userId: () => this.userId,
      later: (fn) => setTimeout(fn, backoffDelay(0, this.opts.minBackoffMs, this.opts.maxBackoffMs)),
    };
    this.records = new Records(docHost);
    this.docs = new Documents(docHost, this.records);
    this.ready = this.load();
    this.ready.catch(() => {}); // reported through connect()
  }

  /** The device id the client connects with (after ready()). */
  get deviceId(): string {
    return this.deviceIdValue;
  }

  /** Whether the server answered Connected on the open connection. */
  get isConnected(): boolean {
    return !!this.conn?.connected;
  }

  /** Resolves once the stored state (device id, sync points) is loaded. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** The current sync point of a bizType (0n when none). */
  syncPoint(bizType: string): bigint {
    return this.points.point(bizType);
  }

  on<K extends keyof ClientEvents>(event: K, fn: ClientEvents[K]): this {
    this.listeners[event].add(fn);
    return this;
  }

  off<K extends keyof ClientEvents>(event: K, fn: ClientEvents[K]): this {
    this.listeners[event].delete(fn);
    return this;
  }

  /** register sets the handler of a bizType (replacing one set before). */
  register(bizType: string, handler: Handler): void {
    if (!bizTypePattern.test(bizType)) {
      throw new TypeError("opsync: a bizType must be 1-30 characters of A-Z, a-z, 0-9, '-' and '_'");
    }
    if (typeof handler !== "function") throw new TypeError("opsync: register needs a handler");
    if (!this.handlers.has(bizType) && this.handlers.size >= MAX_BIZ_TYPES) {
      throw new Error(`opsync: at most ${MAX_BIZ_TYPES} bizTypes`);
    }
    this.handlers.set(bizType, handler);
    const c = this.conn;
    if (c?.connected && !c.registered.has(bizType)) {
      c.registered.add(bizType);
      this.send(c, { case: "registerBiz", value: { $typeName: "opsync.v1.RegisterBiz", bizType, syncPoint: this.points.point(bizType) } });
    }
  }

  /**
   * unregister removes a bizType's handler: its messages stay pending on
   * the server until it is registered again.
   */
  unregister(bizType: string): void {
    if (!this.handlers.delete(bizType)) return;
    const c = this.conn;
    if (c?.connected && c.registered.delete(bizType)) {
      this.send(c, { case: "unregisterBiz", value: { $typeName: "opsync.v1.UnregisterBiz", bizType } });
    }
  }

  /**
   * connect connects (foreground) and keeps reconnecting with backoff
   * until disconnect() or a fatal error. It resolves once the stored state
   * is loaded, not when connected: listen for `connected`.
   */
  async connect(): Promise<void> {
    await this.ready;
    this.start();
  }

  /** disconnect closes the connection and stops reconnecting (background). */
  async disconnect(): Promise<void> {
    this.stop();
    await this.lastSave.catch(() => {});
  }

  /** appToForeground is connect(), in the source SDK's words. */
  appToForeground(): Promise<void> {
    return this.connect();
  }

  /** appToBackground is disconnect(). */
  appToBackground(): Promise<void> {
    return this.disconnect();
  }

  /**
   * updateUserInfo sets the user (and session) the client connects as; a
   * running client reconnects with them. Sync points belong to a user: a
   * different user than the one they were kept for starts without any.
   */
  async updateUserInfo(userId: string, sessionId = ""): Promise<void> {
    checkId("userId", userId);
    if (!userId) throw new TypeError("opsync: userId must not be empty (clearUserInfo signs out)");
    await this.ready;
    if (userId === this.userId && sessionId === this.sessionId) return;
    const wasRunning = this.running;
    this.stop();
    this.userId = userId;
    this.sessionId = sessionId;
    if (this.owner !== userId) {
      if (this.owner !== "") {
        this.points = new SyncPoints();
        this.epoch++;
        this.queue = [];
      }
      this.owner = userId;
      this.saveSoon();
    }
    if (wasRunning) this.start();
  }

  /**
   * clearUserInfo signs the user out: queued messages are dropped, the
   * sync points kept (for the same user's return), and a running client
   * reconnects device-only.
   */
  async clearUserInfo(): Promise<void> {
    await this.ready;
    const wasRunning = this.running;
    this.stop();
    this.userId = "";
    this.sessionId = "";
    this.epoch++;
    this.queue = [];
    if (wasRunning) this.start();
  }

  /** setToken replaces the token sent at the next connection. */
  setToken(token: string): void {
    this.token = token;
  }

  /**
   * openBlock opens a block: onResourceChange receives its current
   * version, then every newer one, in order; onTypedMessage its typed
   * messages (older versions than the last passed on are dropped).
   */
  openBlock(blockId: string, callbacks: BlockCallbacks): BlockHandle {
    return this.blocks.add(blockId, callbacks);
  }

  /** openCard opens a card: onData receives it merged (public, private, dynamic), on every change. */
  openCard(outTrackId: string, onData: (card: CardData) => void): CardHandle {
    return this.cards.add(outTrackId, onData);
  }

  /**
   * openDocument opens a collaborative document: onSnapshot and onOps
   * receive its state, then every accepted operation, in version order;
   * the handle sends operations at the version it has and rebases them
   * through onRebase when others' were accepted first (see documents.ts).
   * Its records are its comments, threads and suggestions, whose changes
   * onRecordChange receives (docrecords.ts).
   */
  openDocument(documentId: string, callbacks: DocumentCallbacks): DocumentHandle {
    return this.docs.add(documentId, callbacks);
  }

  // ---- internals ----

  private async load(): Promise<void> {
    let st: SavedState | undefined;
    try {
      st = await this.store.load(this.options.instanceId);
    } catch (e) {
      throw new OpsyncError("store", `loading the state: ${(e as Error).message}`);
    }
    if (!this.deviceIdValue) this.deviceIdValue = st?.deviceId || randomDeviceId();
    this.owner = st?.userId ?? "";
    if (this.userId && this.owner !== this.userId) {
      // The stored points are another user's.
      this.owner = this.userId;
    } else {
      this.points = new SyncPoints(st?.syncPoints);
    }
    if (!st || st.deviceId !== this.deviceIdValue || st.userId !== this.owner) {
      this.saveSoon();
      await this.lastSave.catch(() => {});
    }
  }

  private emit<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void {
    // A listener's throw must not break the connection loop.
    for (const fn of this.listeners[event]) callback(() => (fn as (...a: Parameters<ClientEvents[K]>) => void)(...args));
  }

  // saveSoon saves the state at the end of the current task: a batch of
  // handled messages is one write, issued before the task ends (so before
  // a page can unload).
  private saveSoon(): void {
    if (this.saveScheduled) return;
    this.saveScheduled = true;
    queueMicrotask(() => {
      this.saveScheduled = false;
      const st: SavedState = { deviceId: this.deviceIdValue, userId: this.owner, syncPoints: this.points.points() };
      this.lastSave = this.store.save(this.options.instanceId, st).catch((e: Error) => {
        this.emit("error", new OpsyncError("store", `saving the state: ${e.message}`));
      });
    });
  }

  private start(): void {
    if (this.running) return;
    this.running = true;
    const gen = ++this.loopGen;
    void this.run(gen);
  }

  private stop(): void {
    if (!this.running) return;
    this.running = false;
    this.loopGen++;
    this.conn?.end(null);
    this.wakeSleep?.();
  }

  private async run(gen: number): Promise<void> {
    let attempt = 0;
    let current = 0;
    let tokenRetried = false;
    while (gen === this.loopGen) {
      const err = await this.connectOnce(this.urls[current]!, gen, () => {
        attempt = 0;
        tokenRetried = false;
      });
      if (gen !== this.loopGen || err === null) return;
      // With a tokenProvider, a refused token gets one fresh try.
      const retryToken = err.kind === "unauthorized" && !!this.options.tokenProvider && !tokenRetried;
      if (retryToken) tokenRetried = true;
      this.emit("error", err);
      if (err.fatal && !retryToken) {
        this.running = false;
        this.loopGen++;
        return;
      }
      current = (current + 1) % this.urls.length;
      const delay = backoffDelay(attempt++, this.opts.minBackoffMs, this.opts.maxBackoffMs);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wakeSleep = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeSleep = null;
    }
  }

  // connectOnce opens one connection and serves it until it ends; it
  // resolves with why it ended (null: the client closed it).
  private async connectOnce(url: string, gen: number, onConnected: () => void): Promise<OpsyncError | null> {
    if (this.options.tokenProvider) {
      try {
        this.token = await this.options.tokenProvider();
      } catch (e) {
        return new OpsyncError("tokenProvider", (e as Error)?.message ?? String(e));
      }
      if (gen !== this.loopGen) return null;
    }
    return new Promise<OpsyncError | null>((resolve) => {
      let ws: WebSocket;
      try {
        ws = new this.WS(url, SUBPROTOCOL);
      } catch (e) {
        resolve(new OpsyncError("connectionLost", (e as Error).message));
        return;
      }
      ws.binaryType = "arraybuffer";
      let lastRecv = Date.now();
      let ended = false;
      let protoErr: OpsyncError | null = null;
      const timers: ReturnType<typeof setTimeout>[] = [];
      const c: Conn = {
        ws,
        connected: false,
        registered: new Set(),
        acks: new AckBatcher((f) => this.send(c, f)),
        end: (err) => {
          if (ended) return;
          ended = true;
          timers.forEach((t) => clearTimeout(t));
          clearInterval(pinger);
          const was = c.connected;
          c.connected = false;
          if (this.conn === c) this.conn = null;
          ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
          try {
            if (err === null) ws.close(1000, "client disconnecting");
            else ws.close();
          } catch {
            // closing a socket still connecting may throw in some runtimes
          }
          if (was) {
            this.docs.disconnected();
            this.records.disconnected();
            this.emit("disconnected");
          }
          resolve(err);
        },
      };
      this.conn = c;
      timers.push(
        setTimeout(() => {
          if (!c.connected) c.end(new OpsyncError("connectionLost", `no Connected within ${this.opts.connectTimeoutMs} ms`));
        }, this.opts.connectTimeoutMs),
      );
      let nonce = 0n;
      const pinger = setInterval(() => {
        if (!c.connected) return;
        if (Date.now() - lastRecv > this.opts.pongTimeoutMs) {
          c.end(new OpsyncError("connectionLost", "connection dead: no answer to pings"));
          return;
        }
        this.send(c, { case: "ping", value: { $typeName: "opsync.v1.Ping", nonce: ++nonce } });
      }, this.opts.pingIntervalMs);

      ws.onopen = () => {
        if (ws.protocol !== SUBPROTOCOL) {
          c.end(new OpsyncError("protocolError", `the server does not speak ${SUBPROTOCOL}`));
          return;
        }
        const bizTypes = [...this.handlers.keys()].sort().map((bizType) => {
          c.registered.add(bizType);
          return { $typeName: "opsync.v1.SyncPoint" as const, bizType, oplogId: this.points.point(bizType) };
        });
        this.send(c, {
          case: "connect",
          value: {
            $typeName: "opsync.v1.Connect",
            instanceId: this.options.instanceId,
            userId: this.userId,
            deviceId: this.deviceIdValue,
            sessionId: this.sessionId,
            osType: this.options.osType ?? "",
            appVersion: this.options.appVersion ?? "",
            bizTypes,
            token: this.token,
          },
        });
      };
      ws.onmessage = (ev: MessageEvent) => {
        lastRecv = Date.now();
        if (typeof ev.data === "string") {
          c.end(new OpsyncError("protocolError", "the server sent a text frame"));
          return;
        }
        let f: ServerFrame;
        try {
          f = decodeServerFrame(ev.data as ArrayBuffer);
        } catch (e) {
          c.end(e as OpsyncError);
          return;
        }
        if (!c.connected) {
          if (f.frame.case === "connected") {
            c.connected = true;
            onConnected();
            this.afterConnected(c);
            this.emit("connected", {
              deviceId: f.frame.value.deviceId,
              userId: f.frame.value.userId,
              withheld: [...f.frame.value.withheldBizTypes],
            });
          } else if (f.frame.case === "error") {
            protoErr = errorOfClose(f.frame.value.code, f.frame.value.reason);
          } else {
            c.end(new OpsyncError("protocolError", "the server's first frame is not Connected"));
          }
          return;
        }
        this.onFrame(c, f, (e) => (protoErr = e));
      };
      ws.onclose = (ev: CloseEvent) => c.end(protoErr ?? errorOfClose(ev.code, ev.reason));
      ws.onerror = () => {
        // onclose follows with the code
      };
    });
  }

  // afterConnected brings the connection up to date with what changed
  // since Connect was sent, and opens the open blocks and cards again.
  private afterConnected(c: Conn): void {
    for (const bizType of this.handlers.keys()) {
      if (!c.registered.has(bizType)) {
        c.registered.add(bizType);
        this.send(c, { case: "registerBiz", value: { $typeName: "opsync.v1.RegisterBiz", bizType, syncPoint: this.points.point(bizType) } });
      }
    }
    for (const bizType of [...c.registered]) {
      if (!this.handlers.has(bizType)) {
        c.registered.delete(bizType);
        this.send(c, { case: "unregisterBiz", value: { $typeName: "opsync.v1.UnregisterBiz", bizType } });
      }
    }
    for (const id of this.blocks.ids()) this.sendOpenOn(c, BLOCK_KIND, true, id);
    for (const id of this.cards.ids()) this.sendOpenOn(c, CARD_KIND, true, id);
    for (const id of this.docs.ids()) this.sendOpenOn(c, DOCUMENT_KIND, true, id);
    for (const id of this.records.watched()) this.sendOpenOn(c, RECORDS_KIND, true, id);
    this.docs.connected();
  }

  private onFrame(c: Conn, f: ServerFrame, protocolError: (e: OpsyncError) => void): void {
    switch (f.frame.case) {
      case "deliver":
        for (const sm of f.frame.value.messages) this.received(c, sm);
        break;
      case "state":
        if (f.frame.value.kind === BLOCK_KIND) this.blocks.state(f.frame.value);
        else if (f.frame.value.kind === CARD_KIND) this.cards.state(f.frame.value);
        else if (f.frame.value.kind === DOCUMENT_KIND) this.docs.state(f.frame.value);
        else if (f.frame.value.kind === RECORDS_KIND) this.records.state(f.frame.value);
        break;
      case "typedMessage":
        if (f.frame.value.kind === BLOCK_KIND) this.blocks.typed(f.frame.value);
        break;
      case "dynamic":
        this.cards.dynamic(f.frame.value);
        break;
      case "documentAnswer":
        this.docs.answer(f.frame.value);
        break;
      case "documentDataAnswer":
        this.records.answer(f.frame.value);
        break;
      case "error":
        protocolError(errorOfClose(f.frame.value.code, f.frame.value.reason));
        break;
    }
  }

  // received passes a delivered message to its handler, in order, unless
  // it was handled before: that one is acknowledged again.
  private received(c: Conn, sm: SyncMessage): void {
    if (this.points.isHandled(sm.bizType, sm.oplogId)) {
      c.acks.ack(sm.bizType, sm.oplogId);
      return;
    }
    if (!this.points.received(sm.bizType, sm.oplogId)) return; // on its way to the handler already
    const m: Message = {
      bizType: sm.bizType,
      oplogId: sm.oplogId,
      thirdMsgId: sm.thirdMsgId,
      pushTime: Number(sm.pushTime),
    };
    if (sm.isBinary) m.binaryPayload = sm.binaryPayload;
    else m.payload = sm.payload;
    this.queue.push({ m, epoch: this.epoch });
    void this.drain();
  }

  // drain runs the handlers of the queued messages one at a time. Sync
  // handlers of a batch all run in the task that received it.
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const { m, epoch } = this.queue.shift()!;
        if (epoch !== this.epoch) continue;
        const h = this.handlers.get(m.bizType);
        if (!h) {
          // Unregistered while on its way: redelivered once registered again.
          this.points.failed(m.bizType, m.oplogId);
          continue;
        }
        let ok = true;
        try {
          const r = h(m);
          if (r && typeof (r as Promise<void>).then === "function") await r;
        } catch (e) {
          ok = false;
          this.emit("error", new OpsyncError("handler", `the ${m.bizType} handler threw on ${m.oplogId}: ${(e as Error)?.message ?? e}`));
        }
        if (epoch !== this.epoch) continue;
        if (!ok) {
          this.points.failed(m.bizType, m.oplogId);
          continue;
        }
        if (this.points.handled(m.bizType, m.oplogId)) this.saveSoon();
        const c = this.conn;
        if (c?.connected) c.acks.ack(m.bizType, m.oplogId);
      }
    } finally {
      this.draining = false;
    }
  }

  private send(c: Conn, frame: ClientFrameCase): void {
    if (c.ws.readyState !== 1 /* OPEN */) return;
    c.ws.send(encodeClientFrame(frame));
  }

  private sendOpen(kind: string, open: boolean, id: string): void {
    const c = this.conn;
    if (c?.connected) this.sendOpenOn(c, kind, open, id);
  }

  private sendOpenOn(c: Conn, kind: string, open: boolean, id: string): void {
    this.send(
      c,
      open ? { case: "open", value: { $typeName: "opsync.v1.Open", kind, id } } : { case: "close", value: { $typeName: "opsync.v1.Close", kind, id } },
    );
  }
}

function checkId(name: string, id: string): void {
  if (id.length > MAX_ID_LEN) throw new TypeError(`opsync: ${name} longer than ${MAX_ID_LEN} characters`);
}
