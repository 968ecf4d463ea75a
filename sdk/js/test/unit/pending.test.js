// Pending inputs: kept until acked, resent above welcome.last_seq, dropped on input_dropped.
import assert from "node:assert/strict";
import { test } from "node:test";

import { PendingInputs } from "../../src/pending.js";

const input = (seq) => ({ type: "input", seq, dx: 0, dy: 0, aim: 0, fire: false });

test("an input is kept until a snapshot's ack reaches its seq", () => {
  const p = new PendingInputs();
  for (let s = 1; s <= 5; s++) p.add(s, input(s));
  assert.equal(p.ack(0), 0);
  assert.deepEqual(p.seqs(), [1, 2, 3, 4, 5]);
  assert.equal(p.ack(2), 2);
  assert.deepEqual(p.seqs(), [3, 4, 5]);
  assert.equal(p.ack(1), 0); // an older ack changes nothing
  assert.deepEqual(p.seqs(), [3, 4, 5]);
  p.ack(5);
  assert.equal(p.size, 0);
});

test("after a welcome: those above last_seq, in seq order", () => {
  const p = new PendingInputs();
  for (const s of [3, 4, 7, 8, 9]) p.add(s, input(s));
  assert.deepEqual(p.resendAfter(7).map((i) => i.seq), [8, 9]);
  assert.deepEqual(p.resendAfter(0).map((i) => i.seq), [3, 4, 7, 8, 9]);
  assert.deepEqual(p.resendAfter(9), []);
  assert.deepEqual(p.resendAfter(7)[0].message, input(8));
  // a resend keeps them: only an ack (or a drop) lets them go
  assert.deepEqual(p.seqs(), [3, 4, 7, 8, 9]);
});

test("input_dropped removes that input only", () => {
  const p = new PendingInputs();
  for (let s = 1; s <= 4; s++) p.add(s, input(s));
  assert.equal(p.drop(2), true);
  assert.equal(p.drop(2), false);
  assert.equal(p.drop(99), false);
  assert.deepEqual(p.seqs(), [1, 3, 4]);
});

test("seqs only grow; the store is bounded", () => {
  const p = new PendingInputs({ max: 3 });
  p.add(1, input(1));
  assert.throws(() => p.add(1, input(1)), RangeError);
  for (let s = 2; s <= 6; s++) p.add(s, input(s));
  assert.deepEqual(p.seqs(), [4, 5, 6]);
});
