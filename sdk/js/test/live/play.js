// A test player: answers every snapshot with an input and writes down what happened.

/** A small seeded random (mulberry32), so a failing run can be replayed. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Play `session` (a MatchSession of the arena): one input per snapshot while it runs.
 * Returns a record that fills in as it goes: seqs sent, welcomes, drops, pods, ...
 */
export function autoplay(session, seed = 1) {
  const random = rng(seed);
  const record = {
    sent: [],
    welcomes: [],
    drops: [],
    reconnecting: [],
    reconnectNotices: 0,
    errors: [],
    snapshots: 0,
    lastAck: 0,
    lastTick: 0,
    podsByWelcome: [],
    resent: [],
    result: null,
  };
  session.on("welcome", (w) => {
    record.welcomes.push({ last_seq: w.last_seq, status: w.status, tick: w.tick });
    record.podsByWelcome.push(session.pod);
  });
  session.on("snapshot", (snap) => {
    record.snapshots++;
    record.lastAck = snap.ack;
    record.lastTick = snap.tick;
    if (session.status !== "running") return;
    const angle = random() * 2 * Math.PI;
    session.sendInput({
      dx: Math.round(Math.cos(angle) * 100) / 100,
      dy: Math.round(Math.sin(angle) * 100) / 100,
      aim: Math.round(angle * 100) / 100,
      fire: random() < 0.3,
    });
  });
  session.on("input", ({ seq }) => record.sent.push(seq));
  session.on("resent", (ev) => record.resent.push(ev));
  session.on("drop", (ev) => record.drops.push(ev));
  session.on("reconnecting", (ev) => record.reconnecting.push(ev));
  session.on("reconnect", () => record.reconnectNotices++);
  session.on("error", (err) => record.errors.push(err));
  session.on("result", (res) => (record.result = res));
  return record;
}

/** Resolve with `promise`, or reject after `ms` with `what` in the message. */
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
