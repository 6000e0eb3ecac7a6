/**
 * backoffDelay is the wait before reconnection attempt n (0-based): a
 * random time in [d/2, d] where d = min·2ⁿ capped at max. The jitter
 * spreads the reconnections of many clients after a server restart.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  let d = minMs;
  for (let i = 0; i < attempt && d < maxMs; i++) d *= 2;
  d = Math.min(d, maxMs);
  const half = d / 2;
  return Math.round(half + random() * (d - half));
}
