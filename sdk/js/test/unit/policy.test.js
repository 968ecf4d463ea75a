// The reconnect policy's pure decisions: docs/protocol.md, "### Reconnecting".
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  FINAL_CODES,
  RECONNECT_CODES,
  ReconnectPolicy,
  backoffDelay,
  closeAction,
  silenceTimes,
} from "../../src/policy.js";

describe("close codes", () => {
  test("the document's table, exactly", () => {
    assert.deepEqual([...RECONNECT_CODES].sort(), [1001, 1006, 1011, 1012, 1013, 4008].sort());
    assert.deepEqual([...FINAL_CODES].sort(), [1000, 1008, 1009, 4003, 4004, 4009, 4010, 4029].sort());
    for (const code of [1001, 1006, 1011, 1012, 1013, 4008]) assert.equal(closeAction(code), "reconnect", code);
    assert.equal(closeAction(4001), "refresh");
    for (const code of [1000, 1008, 1009, 4003, 4004, 4009, 4010, 4029]) assert.equal(closeAction(code), "final", code);
  });

  test("codes the document does not list never reconnect", () => {
    for (const code of [1002, 1003, 1005, 1007, 1010, 1014, 3000, 4000, 4002, 4999, undefined, null]) {
      assert.equal(closeAction(code), "final", String(code));
    }
  });

  test("a refused handshake: no answer or a 5xx reconnects, a 4xx is final", () => {
    assert.equal(closeAction(1006, { httpStatus: null }), "reconnect");
    assert.equal(closeAction(1006, { httpStatus: 502 }), "reconnect");
    assert.equal(closeAction(1006, { httpStatus: 503 }), "reconnect");
    assert.equal(closeAction(1006, { httpStatus: 404 }), "final");
    assert.equal(closeAction(1006, { httpStatus: 403 }), "final");
  });
});

describe("back-off", () => {
  test("attempt n waits uniform(0.5, 1) × min(4 s, 250 ms × 2^n)", () => {
    for (let n = 0; n < 12; n++) {
      const ceiling = Math.min(4000, 250 * 2 ** n);
      assert.equal(backoffDelay(n, { random: () => 0 }), ceiling / 2, `n=${n} low`);
      assert.equal(backoffDelay(n, { random: () => 1 - Number.EPSILON }) <= ceiling, true);
      assert.ok(Math.abs(backoffDelay(n, { random: () => 0.999999 }) - ceiling) < 0.01, `n=${n} high`);
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(n);
        assert.ok(d >= ceiling / 2 && d <= ceiling, `n=${n}: ${d} outside [${ceiling / 2}, ${ceiling}]`);
      }
    }
  });

  test("the spread is real jitter, not a constant", () => {
    const seen = new Set(Array.from({ length: 50 }, () => Math.round(backoffDelay(3))));
    assert.ok(seen.size > 10);
  });

  test("the first attempt after a 1012 waits at most 250 ms, however many came before", () => {
    for (let n = 0; n < 10; n++) {
      for (const r of [0, 0.5, 0.9999]) {
        const d = backoffDelay(n, { random: () => r, afterRestart: true });
        assert.ok(d <= 250 && d >= 125, `n=${n} r=${r}: ${d}`);
      }
    }
  });
});

describe("silence", () => {
  test("ping after 500 ms, dead after 1 s", () => {
    assert.deepEqual(silenceTimes(30), { pingAfterMs: 500, deadAfterMs: 1000 });
    assert.deepEqual(silenceTimes(20), { pingAfterMs: 500, deadAfterMs: 1000 });
    assert.deepEqual(silenceTimes(3), { pingAfterMs: 500, deadAfterMs: 1000 });
    assert.deepEqual(silenceTimes(null), { pingAfterMs: 500, deadAfterMs: 1000 });
  });

  test("3 ticks for a mode slower than 3 Hz", () => {
    assert.deepEqual(silenceTimes(2), { pingAfterMs: 500, deadAfterMs: 1500 });
    assert.deepEqual(silenceTimes(1), { pingAfterMs: 500, deadAfterMs: 3000 });
    assert.deepEqual(silenceTimes(0.5), { pingAfterMs: 500, deadAfterMs: 6000 });
  });
});

describe("ReconnectPolicy", () => {
  test("counts attempts, a welcome resets them", () => {
    const p = new ReconnectPolicy({ random: () => 0 });
    p.started(0);
    const delays = [];
    for (let i = 0; i < 7; i++) delays.push(p.decide(1006, i * 10).delay);
    assert.deepEqual(delays, [125, 250, 500, 1000, 2000, 2000, 2000]);
    p.welcomed();
    assert.equal(p.deadline, null);
    const d = p.decide(1006, 100);
    assert.equal(d.attempt, 0);
    assert.equal(d.delay, 125);
  });

  test("1012 caps the attempt that follows it", () => {
    const p = new ReconnectPolicy({ random: () => 0.9999 });
    p.started(0);
    for (let i = 0; i < 5; i++) p.decide(1006, 0);
    const d = p.decide(1012, 0);
    assert.equal(d.attempt, 5);
    assert.ok(d.delay <= 250);
    assert.ok(p.decide(1006, 0).delay > 2000); // the next one backs off again
  });

  test("gives up 30 s after the last welcome was lost", () => {
    const p = new ReconnectPolicy();
    p.welcomed();
    assert.equal(p.decide(1006, 5000).action, "reconnect");
    assert.equal(p.deadline, 35000);
    assert.equal(p.decide(1006, 34999).action, "reconnect");
    assert.deepEqual(p.decide(1006, 35000), { action: "final", reason: "gave_up" });
  });

  test("4001 asks for a fresh token; final codes stop at once", () => {
    const p = new ReconnectPolicy();
    const d = p.decide(4001, 0);
    assert.equal(d.action, "reconnect");
    assert.equal(d.refresh, true);
    assert.deepEqual(new ReconnectPolicy().decide(4009, 0), { action: "final", reason: "close" });
  });
});
