// Errors a developer can act on. The server ends a connection it refuses
// with an Error frame and the same WebSocket close code (4000-4999, see
// wire.proto); the SDK names each code, and says whether it stopped
// reconnecting (fatal: the server refused this client, not the moment).

/** The close codes of the client protocol, by name. */
export const CloseCode = {
  badFrame: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  unknownInstance: 4404,
  connectTimeout: 4408,
  protocolError: 4409,
  tooSlow: 4429,
  rateLimited: 4430,
  shed: 4431,
  internal: 4500,
} as const;

/**
 * What went wrong, as one word:
 * - `unauthorized`: the token is missing, bad, expired or for another user,
 *   instance or device (4401); fatal: fix the token, then connect() again.
 * - `forbidden`, `unknownInstance`, `badFrame`, `protocolError`: the server
 *   refused this client for good; fatal.
 * - `rateLimited`, `tooSlow`, `shed`, `connectTimeout`, `internal`: the
 *   server closed this connection for now; the client reconnects after its
 *   backoff.
 * - `connectionLost`: the network or the server went away (the server was
 *   stopped or crashed, a proxy cut the connection, pings went unanswered),
 *   or it closed with a code this SDK does not know (closeCode says which);
 *   the client reconnects, as the protocol asks of every code but the
 *   final ones.
 * - `tokenProvider`: the tokenProvider callback threw; the client retries.
 * - `store`: the sync-point store failed to load or save.
 * - `handler`: a handler threw; its message stays unacknowledged.
 */
export type ErrorKind =
  | "badFrame"
  | "unauthorized"
  | "forbidden"
  | "unknownInstance"
  | "connectTimeout"
  | "protocolError"
  | "tooSlow"
  | "rateLimited"
  | "shed"
  | "internal"
  | "connectionLost"
  | "tokenProvider"
  | "store"
  | "handler";

const kindOfCode = new Map<number, ErrorKind>(
  Object.entries(CloseCode).map(([k, v]) => [v, k as ErrorKind]),
);

const fatalKinds = new Set<ErrorKind>(["badFrame", "unauthorized", "forbidden", "unknownInstance", "protocolError"]);

/** An error of the client, passed to the `error` event. */
export class OpsyncError extends Error {
  override readonly name = "OpsyncError";
  /** The close code (4000-4999) when the server sent one, else 0. */
  readonly closeCode: number;
  /** The client stopped reconnecting because of it (see ErrorKind). */
  readonly fatal: boolean;

  constructor(
    readonly kind: ErrorKind,
    message: string,
    closeCode = 0,
  ) {
    super(`opsync: ${kind}: ${message}`);
    this.closeCode = closeCode;
    this.fatal = fatalKinds.has(kind);
  }
}

/**
 * errorOfClose maps how a connection ended to an OpsyncError: a close code
 * of the protocol names its kind; any other end is a lost connection.
 */
export function errorOfClose(code: number, reason: string): OpsyncError {
  const kind = kindOfCode.get(code);
  if (kind) return new OpsyncError(kind, reason || `server closed the connection (${code})`, code);
  if (code >= 4000 && code <= 4999) return new OpsyncError("connectionLost", reason || `close code ${code}`, code);
  return new OpsyncError("connectionLost", reason || `connection closed (${code})`, 0);
}
