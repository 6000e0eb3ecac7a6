// Cards (README "Cards"): a client of a signed-in user opens a card by
// its outTrackId and receives it as this user sees it, merged: the public
// data with the user's private data over it (the server merges those),
// and the dynamic data opsync pulls for this user, by source. onData is
// called with the whole merged card on each new version and each dynamic
// data frame. A card that does not exist, or that this user does not
// receive, answers once with version 0 and no data (refused), and nothing
// after it.

import { fromBinary } from "@bufbuild/protobuf";
import { CardViewSchema, type CardDynamicData } from "./gen/opsync/v1/card_pb.js";
import type { StateUpdate } from "./gen/opsync/v1/wire_pb.js";

export const CARD_KIND = "card";
/** The reserved bizType of card deliveries (payload: a CardDelivery). */
export const CARD_BIZ_TYPE = "OPSYNC_CARD";
export const MAX_OPEN_CARDS = 256;
const outTrackIdPattern = /^[A-Za-z0-9_.:@#=+-]{1,128}$/;

/** One dynamic data source's latest pull for this viewer. */
export interface DynamicData {
  /** The callback's data JSON text, verbatim. */
  data: string;
  /** STRING | ARRAY | OBJECT */
  valueType: string;
  /** Non-empty: this pull failed (the data is the previous one, if any). */
  error: string;
  /** unix ms */
  pulledAt: number;
}

/** A card as this user sees it. */
export interface CardData {
  outTrackId: string;
  cardTemplateId: string;
  version: bigint;
  /** The public data with this user's private data merged over it. */
  params: Record<string, string>;
  /** The keys of params whose value is this user's private data. */
  privateKeys: string[];
  /** The dynamic data by source id. */
  dynamic: Record<string, DynamicData>;
  /** The card does not exist or this user does not receive it. */
  refused: boolean;
}

export interface CardHandle {
  readonly outTrackId: string;
  close(): void;
}

interface OpenCard {
  onData: (card: CardData) => void;
  card: CardData;
}

/** Cards keeps a client's open cards. */
export class Cards {
  private readonly open = new Map<string, OpenCard>();

  constructor(private readonly send: (open: boolean, id: string) => void) {}

  add(outTrackId: string, onData: (card: CardData) => void): CardHandle {
    if (!outTrackIdPattern.test(outTrackId)) {
      throw new TypeError("opsync: an outTrackId is 1-128 characters of A-Z, a-z, 0-9 and _ . : @ # = + -");
    }
    if (this.open.has(outTrackId)) throw new Error(`opsync: card ${outTrackId} is open already`);
    if (this.open.size >= MAX_OPEN_CARDS) throw new Error(`opsync: at most ${MAX_OPEN_CARDS} cards open`);
    const oc: OpenCard = {
      onData,
      card: { outTrackId, cardTemplateId: "", version: 0n, params: {}, privateKeys: [], dynamic: {}, refused: false },
    };
    this.open.set(outTrackId, oc);
    this.send(true, outTrackId);
    return {
      outTrackId,
      close: () => {
        if (this.open.get(outTrackId) !== oc) return;
        this.open.delete(outTrackId);
        this.send(false, outTrackId);
      },
    };
  }

  /** ids are the cards to open again on a new connection (not the refused). */
  ids(): string[] {
    return [...this.open].filter(([, oc]) => !oc.card.refused).map(([id]) => id);
  }

  state(u: StateUpdate): void {
    const oc = this.open.get(u.id);
    if (!oc || oc.card.refused) return;
    if (u.version === 0n && u.deleted) {
      if (oc.card.version === 0n) {
        oc.card = { ...oc.card, refused: true };
        oc.onData(oc.card);
      }
      return;
    }
    if (u.version <= oc.card.version) return;
    const v = fromBinary(CardViewSchema, u.data);
    oc.card = {
      ...oc.card,
      cardTemplateId: v.cardTemplateId,
      version: u.version,
      params: { ...v.cardParamMap },
      privateKeys: [...v.privateKeys],
    };
    oc.onData(oc.card);
  }

  dynamic(d: CardDynamicData): void {
    const oc = this.open.get(d.outTrackId);
    if (!oc) return;
    const prev = oc.card.dynamic[d.sourceId];
    // A failed pull keeps the last good data beside its error.
    const entry: DynamicData = d.error
      ? { data: prev?.data ?? d.data, valueType: prev?.valueType ?? d.valueType, error: d.error, pulledAt: Number(d.pulledAt) }
      : { data: d.data, valueType: d.valueType, error: "", pulledAt: Number(d.pulledAt) };
    oc.card = { ...oc.card, dynamic: { ...oc.card.dynamic, [d.sourceId]: entry } };
    oc.onData(oc.card);
  }
}
