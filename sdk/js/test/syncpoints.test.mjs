import { test } from "node:test";
import assert from "node:assert/strict";
import { SyncPoints } from "../dist/syncpoints.js";

test("the point advances over handled messages only, never past an unhandled one", () => {
  const s = new SyncPoints({ A: 10n });
  for (const id of [11n, 12n, 13n]) assert.ok(s.received("A", id));
  assert.equal(s.handled("A", 12n), false, "12 ahead of 11: no move");
  assert.equal(s.point("A"), 10n);
  assert.equal(s.handled("A", 11n), true);
  assert.equal(s.point("A"), 12n, "11 and 12 handled");
  assert.equal(s.handled("A", 13n), true);
  assert.equal(s.point("A"), 13n);
  assert.deepEqual(s.points(), { A: 13n });
});

test("a message at or below the point, handled, or on its way is not passed on again", () => {
  const s = new SyncPoints({ A: 5n });
  assert.equal(s.received("A", 5n), false);
  assert.equal(s.isHandled("A", 5n), true);
  assert.ok(s.received("A", 7n));
  assert.equal(s.received("A", 7n), false, "on its way to the handler");
  assert.equal(s.isHandled("A", 7n), false);
  assert.ok(s.received("A", 6n));
  s.handled("A", 7n);
  assert.equal(s.isHandled("A", 7n), true, "handled out of order");
  assert.equal(s.received("A", 7n), false);
  assert.equal(s.point("A"), 5n);
});

test("a failed message holds the point below it and is passed on when redelivered", () => {
  const s = new SyncPoints();
  s.received("A", 1n);
  s.received("A", 2n);
  s.failed("A", 1n);
  s.handled("A", 2n);
  assert.equal(s.point("A"), 0n, "1 failed: the point stays below it");
  assert.equal(s.received("A", 1n), true, "the redelivery goes to the handler");
  assert.equal(s.handled("A", 1n), true);
  assert.equal(s.point("A"), 2n);
});

test("handling a message never delivered changes nothing; bizTypes are separate", () => {
  const s = new SyncPoints({ B: 3n });
  assert.equal(s.handled("A", 4n), false);
  s.received("A", 1n);
  s.handled("A", 1n);
  assert.deepEqual(s.points(), { A: 1n, B: 3n });
});
