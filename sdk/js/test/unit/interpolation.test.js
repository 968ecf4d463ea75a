// Snapshot interpolation: render a little in the past, between the two snapshots around it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { SnapshotBuffer, interpolateRows, lerpAngle, snapWhen } from "../../src/interpolation.js";

const near = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

// arena rows: [slot, x, y, aim, hp, score, alive]
const snap = (tick, players) => ({ type: "snapshot", tick, ack: 0, online: [0, 1], players });

describe("interpolateRows", () => {
  const a = [[0, 100, 100, 0, 100, 0, 1], [1, 500, 500, 3.1, 100, 0, 1], [2, 0, 0, 0, 100, 0, 1]];
  const b = [[1, 520, 480, -3.1, 90, 0, 1], [0, 110, 100, 0.2, 100, 1, 1], [3, 9, 9, 0, 100, 0, 1]];

  test("numeric fields of rows keyed by id, in b's order, b's other fields", () => {
    const rows = interpolateRows(a, b, 0.5, { key: 0, fields: [1, 2], angles: [3] });
    assert.equal(rows.length, 3);
    assert.deepEqual(rows[0].slice(0, 3), [1, 510, 490]);
    assert.equal(rows[0][4], 90); // hp is not interpolated: b's
    assert.deepEqual(rows[1].slice(0, 3), [0, 105, 100]);
    near(rows[1][3], 0.1);
    assert.deepEqual(rows[2], [3, 9, 9, 0, 100, 0, 1]); // new in b: as it is
    assert.deepEqual(b[0], [1, 520, 480, -3.1, 90, 0, 1], "inputs untouched");
  });

  test("angles the short way round", () => {
    const rows = interpolateRows(a, b, 0.5, { fields: [1, 2], angles: [3] });
    // 3.1 → -3.1 crosses ±π: the midpoint is near π, not 0
    near(Math.abs(rows[0][3]), Math.PI, 0.01);
    near(lerpAngle(0, Math.PI / 2, 0.5), Math.PI / 4);
    near(Math.abs(lerpAngle(-3, 3, 0.5)), Math.PI, 1e-9); // ±π: the same angle
  });

  test("t = 0 is a, t = 1 is b", () => {
    assert.deepEqual(interpolateRows(a, b, 0, { fields: [1, 2] })[1].slice(0, 3), [0, 100, 100]);
    assert.deepEqual(interpolateRows(a, b, 1, { fields: [1, 2] }), b);
    assert.deepEqual(interpolateRows(null, b, 0.5, { fields: [1, 2] }), b);
  });

  test("snap: a respawn or a teleport is not blended", () => {
    const died = [[0, 100, 100, 0, 0, 0, 0]];
    const respawned = [[0, 900, 900, 0, 100, 0, 1]];
    const spec = { fields: [1, 2], snap: snapWhen({ maxDistance: 50, flags: [6] }) };
    assert.deepEqual(interpolateRows(died, respawned, 0.5, spec), respawned);
    const far = [[0, 100, 100, 0, 100, 0, 1]];
    const jumped = [[0, 300, 100, 0, 100, 0, 1]];
    assert.deepEqual(interpolateRows(far, jumped, 0.5, spec), jumped);
    const step = [[0, 110, 100, 0, 100, 0, 1]];
    assert.deepEqual(interpolateRows(far, step, 0.5, spec)[0].slice(1, 3), [105, 100]);
  });

  test("object rows keyed by a property", () => {
    const rows = interpolateRows([{ id: "a", x: 0, hp: 1 }], [{ id: "a", x: 10, hp: 2 }], 0.25, {
      key: "id",
      fields: ["x"],
    });
    assert.deepEqual(rows, [{ id: "a", x: 2.5, hp: 2 }]);
  });
});

describe("SnapshotBuffer", () => {
  const tickMs = 1000 / 30;

  test("renders delayMs in the past, between the two snapshots around it", () => {
    const buf = new SnapshotBuffer({ tickRate: 30, delayMs: 2 * tickMs });
    assert.equal(buf.sample(0), null);
    const t0 = 5000;
    for (let tick = 1; tick <= 10; tick++) {
      buf.push(snap(tick, [[0, tick * 10, 0, 0, 100, 0, 1]]), t0 + tick * tickMs);
    }
    // at the arrival of tick 10, we draw tick 8
    let s = buf.sample(t0 + 10 * tickMs);
    near(s.tick, 8, 1e-6);
    // half a tick later: halfway between 8 and 9
    s = buf.sample(t0 + 10.5 * tickMs);
    assert.equal(s.a.tick, 8);
    assert.equal(s.b.tick, 9);
    near(s.t, 0.5, 1e-6);
    near(s.tick, 8.5, 1e-6);
    const x = buf.view(t0 + 10.5 * tickMs, (a, b, t) => interpolateRows(a.players, b.players, t, { fields: [1] })[0][1]);
    near(x, 85, 1e-6);
  });

  test("never extrapolates: holds the newest past its time, the oldest before", () => {
    const buf = new SnapshotBuffer({ tickRate: 30 });
    buf.push(snap(1, []), 1000);
    buf.push(snap(2, []), 1000 + tickMs);
    let s = buf.sample(100000);
    assert.equal(s.a.tick, 2);
    assert.equal(s.b.tick, 2);
    assert.equal(s.t, 0);
    s = buf.sample(0);
    assert.equal(s.a.tick, 1);
    assert.equal(buf.latest.tick, 2);
  });

  test("jitter: a late frame does not drag the clock; the earliest arrival sets it", () => {
    const buf = new SnapshotBuffer({ tickRate: 30, delayMs: 50 });
    const t0 = 1000;
    const lateness = [0, 30, 5, 40, 0, 25, 10, 0, 35, 2];
    lateness.forEach((late, i) => buf.push(snap(i + 1, []), t0 + (i + 1) * tickMs + late));
    near(buf.offset, t0, 1);
    // each frame arrives in time for its tick to be drawn between neighbours
    const s = buf.sample(t0 + 9 * tickMs + 50);
    near(s.tick, 9, 0.05);
  });

  test("a pause (a reconnect, a match moving pods) restarts the clock", () => {
    const buf = new SnapshotBuffer({ tickRate: 30 });
    for (let tick = 1; tick <= 5; tick++) buf.push(snap(tick, []), 1000 + tick * tickMs);
    const before = buf.offset;
    // ticks resume 2 s later from where they were
    for (let tick = 6; tick <= 8; tick++) buf.push(snap(tick, []), 3000 + tick * tickMs);
    assert.ok(buf.offset - before > 1900);
    const s = buf.sample(3000 + 8 * tickMs);
    near(s.tick, 6, 1e-6);
  });

  test("a tick going back (an older checkpoint) starts over; the same tick replaces", () => {
    const buf = new SnapshotBuffer({ tickRate: 30 });
    for (let tick = 10; tick <= 12; tick++) buf.push(snap(tick, []), tick * tickMs);
    buf.push(snap(12, [[0]]), 12 * tickMs);
    assert.equal(buf.size, 3);
    assert.deepEqual(buf.latest.players, [[0]]);
    buf.push(snap(7, []), 20 * tickMs);
    assert.equal(buf.size, 1);
    assert.equal(buf.latest.tick, 7);
  });

  test("bounded; the default delay is 2 ticks of the current rate", () => {
    const buf = new SnapshotBuffer({ capacity: 4, tickRate: 20 });
    assert.equal(buf.delayMs, 100);
    buf.setTickRate(30);
    near(buf.delayMs, 2 * tickMs);
    for (let tick = 1; tick <= 10; tick++) buf.push(snap(tick, []), tick * tickMs);
    assert.equal(buf.size, 4);
    assert.equal(buf.entries[0].tick, 7);
  });
});
