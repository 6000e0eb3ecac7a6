// Blocks (README "Block entities"): a client opens a block and receives
// its current version, then every newer one (onResourceChange), and the
// typed messages its backend sends to this user while it is open
// (onTypedMessage). Open blocks are opened again after a reconnect, and a
// version not newer than the last one passed on is dropped (a reconnect
// sends the current version again).

import { fromBinary } from "@bufbuild/protobuf";
import { BlockEntitySchema, type TypedMessage as TypedMessageFrame } from "./gen/opsync/v1/block_pb.js";
import type { StateUpdate } from "./gen/opsync/v1/wire_pb.js";

export const BLOCK_KIND = "block";
/** The server's bound of state sources per connection. */
export const MAX_OPEN_BLOCKS = 256;
const blockIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** A version of a block entity. */
export interface Block {
  blockId: string;
  version: bigint;
  title: string;
  blockTypeId: string;
  /** The block's data: a JSON text. */
  sourceData: string;
  sourceMeta: string;
  sourceLink: string;
  owner: string;
  extra: string;
  summary: string;
  preview: string;
  businessId: string;
  /** ms since the epoch */
  updatedAt: number;
  /** The backend deleted the block at this version (every data field empty). */
  deleted: boolean;
}

/** A message the backend sent to this user's devices that have the block open; never stored. */
export interface BlockTypedMessage {
  blockId: string;
  type: string;
  data: Uint8Array;
  version: bigint;
  resource: string;
}

export interface BlockCallbacks {
  onResourceChange?: (block: Block) => void;
  onTypedMessage?: (message: BlockTypedMessage) => void;
}

/** What openBlock answers. */
export interface BlockHandle {
  readonly blockId: string;
  /** The newest version passed to onResourceChange (0 before the first). */
  readonly version: bigint;
  close(): void;
}

interface OpenBlock extends BlockCallbacks {
  version: bigint; // the newest version passed to onResourceChange
  typed: bigint; // the highest typed message version passed on
}

/** Blocks keeps a client's open blocks. */
export class Blocks {
  private readonly open = new Map<string, OpenBlock>();

  constructor(private readonly send: (open: boolean, id: string) => void) {}

  add(blockId: string, cb: BlockCallbacks): BlockHandle {
    if (!blockIdPattern.test(blockId)) {
      throw new TypeError("opsync: a block id is 1-64 characters of A-Z, a-z, 0-9, '_' and '-'");
    }
    if (this.open.has(blockId)) throw new Error(`opsync: block ${blockId} is open already`);
    if (this.open.size >= MAX_OPEN_BLOCKS) throw new Error(`opsync: at most ${MAX_OPEN_BLOCKS} blocks open`);
    const b: OpenBlock = { ...cb, version: 0n, typed: 0n };
    this.open.set(blockId, b);
    this.send(true, blockId);
    return {
      blockId,
      get version() {
        return b.version;
      },
      close: () => {
        if (this.open.get(blockId) !== b) return;
        this.open.delete(blockId);
        this.send(false, blockId);
      },
    };
  }

  /** ids are the open blocks, to open again on a new connection. */
  ids(): string[] {
    return [...this.open.keys()];
  }

  state(u: StateUpdate): void {
    const b = this.open.get(u.id);
    if (!b || u.version <= b.version) return;
    const e = fromBinary(BlockEntitySchema, u.data);
    b.version = u.version;
    b.onResourceChange?.({
      blockId: u.id,
      version: u.version,
      title: e.title,
      blockTypeId: e.blockTypeId,
      sourceData: e.sourceData,
      sourceMeta: e.sourceMeta,
      sourceLink: e.sourceLink,
      owner: e.owner,
      extra: e.extra,
      summary: e.summary,
      preview: e.preview,
      businessId: e.businessId,
      updatedAt: Number(e.updatedAt),
      deleted: u.deleted || e.deleted,
    });
  }

  // typed passes a typed message on unless its version is lower than the
  // last one passed on for its block (the source's rule: a client drops a
  // message older than its local version).
  typed(m: TypedMessageFrame): void {
    const b = this.open.get(m.id);
    if (!b || m.version < b.typed) return;
    b.typed = m.version;
    b.onTypedMessage?.({ blockId: m.id, type: m.type, data: m.data, version: m.version, resource: m.resource });
  }
}
