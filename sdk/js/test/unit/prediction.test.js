// Prediction over unacknowledged inputs, reconciled with each authoritative state.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Emitter } from "../../src/emitter.js";
import { Predictor } from "../../src/prediction.js";

// the arena's movement, as mode-arena.js predicts it
const CONFIG = { speed: 300, player_radius: 20, width: 1000, height: 1000, tick_rate: 30 };
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
function predict(state, input, cfg) {
  const step = cfg.speed / cfg.tick_rate;
  return {
    x: clamp(state.x + input.dx * step, cfg.player_radius, cfg.width - cfg.player_radius),
    y: clamp(state.y + input.dy * step, cfg.player_radius, cfg.height - cfg.player_radius),
  };
}

test("unacked inputs are applied on top of the last authoritative state", () => {
  const p = new Predictor({ predict, config: CONFIG });
  assert.equal(p.state, null);
  p.reconcile({ x: 100, y: 100 }, 0);
  p.add(1, { dx: 1, dy: 0 });
  p.add(2, { dx: 1, dy: 0 });
  p.add(3, { dx: 0, dy: 1 });
  assert.deepEqual(p.state, { x: 120, y: 110 });
  // the server applied 1 and 2 and says where we are: 3 stays predicted
  assert.deepEqual(p.reconcile({ x: 120, y: 100 }, 2), { x: 120, y: 110 });
  assert.deepEqual(p.pending.map((i) => i.seq), [3]);
  assert.deepEqual(p.previous, { x: 120, y: 110 });
});

test("a correction: the server disagrees, the prediction follows it", () => {
  const p = new Predictor({ predict, config: CONFIG, state: { x: 100, y: 100 } });
  for (let seq = 1; seq <= 4; seq++) p.add(seq, { dx: 1, dy: 0 });
  assert.deepEqual(p.state, { x: 140, y: 100 });
  // blocked: the server says we did not move for 1 and 2
  assert.deepEqual(p.reconcile({ x: 100, y: 100 }, 2), { x: 120, y: 100 });
  assert.deepEqual(p.previous, { x: 140, y: 100 });
});

test("walls clamp; resends and stale inputs are not counted twice; drops are removed", () => {
  const p = new Predictor({ predict, config: CONFIG, state: { x: 975, y: 500 } });
  p.add(1, { dx: 1, dy: 0 });
  p.add(1, { dx: 1, dy: 0 });
  p.add(2, { dx: 1, dy: 0 });
  assert.deepEqual(p.state, { x: 980, y: 500 });
  p.reconcile({ x: 980, y: 500 }, 1);
  p.add(1, { dx: -1, dy: 0 }); // at or below the ack: ignored
  assert.deepEqual(p.pending.map((i) => i.seq), [2]);
  p.drop(2);
  assert.deepEqual(p.state, { x: 980, y: 500 });
});

test("nothing to predict from (dead): null", () => {
  const p = new Predictor({ predict, config: CONFIG });
  p.add(1, { dx: 1, dy: 0 });
  assert.equal(p.reconcile(null, 0), null);
});

test("attach follows a session's welcome, inputs, snapshots and dropped inputs", () => {
  const session = new Emitter();
  session.welcome = null;
  session.slot = 0;
  const p = new Predictor({ predict });
  const detach = p.attach(session, (snap, s) => {
    const row = snap.players.find((r) => r[0] === s.slot);
    return row && row[6] ? { x: row[1], y: row[2] } : null;
  });
  session.emit("welcome", { config: CONFIG });
  session.emit("snapshot", { tick: 1, ack: 0, players: [[0, 500, 500, 0, 100, 0, 1]] });
  session.emit("input", { seq: 1, fields: { dx: 0, dy: -1 } });
  session.emit("input", { seq: 2, fields: { dx: 0, dy: -1 } });
  session.emit("input", { seq: 3, fields: { dx: 0, dy: -1 } });
  assert.deepEqual(p.state, { x: 500, y: 470 });
  session.emit("error", { code: "input_dropped", seq: 3 });
  session.emit("snapshot", { tick: 2, ack: 1, players: [[0, 500, 490, 0, 100, 0, 1]] });
  assert.deepEqual(p.state, { x: 500, y: 480 });
  detach();
  session.emit("input", { seq: 4, fields: { dx: 0, dy: -1 } });
  assert.deepEqual(p.pending.map((i) => i.seq), [2]);
});
