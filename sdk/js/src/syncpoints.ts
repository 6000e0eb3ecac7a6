// Sync points, as the Go client keeps them (client/syncpoints.go): per
// bizType, the sync point and the messages above it that were delivered
// (received from the server) but not yet handled, or handled ahead of an
// earlier one. The point only advances over handled messages: to the
// highest handled oplog id below every unhandled delivered one, so a
// handler finishing out of order never skips a message the application
// has not handled. Oplog ids are uint64: bigint.

interface BizPoints {
  point: bigint;
  // above point, not handled: on its way to the handler (true) or its
  // handler threw (false), waiting for the server's redelivery.
  delivered: Map<bigint, boolean>;
  handled: Set<bigint>; // above point, handled
}

export class SyncPoints {
  private readonly biz = new Map<string, BizPoints>();

  constructor(saved?: Record<string, bigint>) {
    for (const [b, p] of Object.entries(saved ?? {})) this.get(b).point = p;
  }

  private get(biz: string): BizPoints {
    let b = this.biz.get(biz);
    if (!b) {
      b = { point: 0n, delivered: new Map(), handled: new Set() };
      this.biz.set(biz, b);
    }
    return b;
  }

  /** point is biz's sync point (0 when none). */
  point(biz: string): bigint {
    return this.biz.get(biz)?.point ?? 0n;
  }

  /** points returns every non-zero sync point. */
  points(): Record<string, bigint> {
    const out: Record<string, bigint> = {};
    for (const [name, b] of this.biz) if (b.point > 0n) out[name] = b.point;
    return out;
  }

  /**
   * received records a message arriving from the server. It returns false
   * for one handled already (at or below the sync point, or handled out of
   * order) or on its way to the handler already: the client acknowledges
   * the first again and does not pass either on. A message whose handler
   * threw is passed on again.
   */
  received(biz: string, id: bigint): boolean {
    const b = this.get(biz);
    if (id <= b.point || b.handled.has(id) || b.delivered.get(id) === true) return false;
    b.delivered.set(id, true);
    return true;
  }

  /** isHandled tells whether the message needs only an ack again. */
  isHandled(biz: string, id: bigint): boolean {
    const b = this.biz.get(biz);
    return !!b && (id <= b.point || b.handled.has(id));
  }

  /**
   * handled records that the handler finished with a message; it returns
   * whether the sync point moved. A message not delivered is ignored.
   */
  handled(biz: string, id: bigint): boolean {
    const b = this.get(biz);
    if (!b.delivered.delete(id)) return false;
    b.handled.add(id);
    return this.advance(b);
  }

  /**
   * failed records that a message's handler threw: it stays
   * unacknowledged and holds the sync point below it until the server's
   * redelivery is handled.
   */
  failed(biz: string, id: bigint): void {
    const b = this.biz.get(biz);
    if (b?.delivered.has(id)) b.delivered.set(id, false);
  }

  private advance(b: BizPoints): boolean {
    let limit: bigint | undefined;
    for (const id of b.delivered.keys()) if (limit === undefined || id < limit) limit = id;
    const before = b.point;
    for (const id of b.handled) {
      if (limit === undefined || id < limit) {
        if (id > b.point) b.point = id;
        b.handled.delete(id);
      }
    }
    return b.point !== before;
  }
}
