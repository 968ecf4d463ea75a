// Snapshot interpolation: draw the world a little in the past, between the two snapshots
// around that moment, so that it moves smoothly whatever the network's jitter. Generic
// over the mode: give it a function that blends two views, or blend the numeric fields of
// row arrays keyed by id (the arena's players, ctf's players) with `interpolateRows`.
//
// Time: each snapshot's tick is a point on the server's clock (tick × 1000 / tick_rate);
// the buffer keeps the offset between that clock and ours (the earliest arrival seen, so
// late frames do not drag it; resynced after a pause such as a reconnect) and renders at
// `now - offset - delay`.

export const DEFAULT_DELAY_TICKS = 2;
export const DEFAULT_CAPACITY = 32;

export const lerp = (a, b, t) => a + (b - a) * t;

/** Between two angles (radians) the short way round. */
export function lerpAngle(a, b, t) {
  let d = (b - a) % (2 * Math.PI);
  if (d > Math.PI) d -= 2 * Math.PI;
  else if (d < -Math.PI) d += 2 * Math.PI;
  return a + d * t;
}

/**
 * Blend two lists of rows (arrays or objects) keyed by `key` (an index or a property):
 * the rows of `b`, in `b`'s order, with `fields` interpolated linearly and `angles` the
 * short way round from the row of `a` with the same key. A row without a partner in `a`,
 * or for which `snap(rowA, rowB)` is true (a respawn, a teleport), is `b`'s as it is.
 * @template R
 * @param {R[] | null | undefined} rowsA
 * @param {R[]} rowsB
 * @param {number} t 0 → a, 1 → b
 * @param {{key?: number | string, fields?: (number | string)[], angles?: (number | string)[],
 *   snap?: (a: R, b: R) => boolean}} [spec]
 * @returns {R[]}
 */
export function interpolateRows(rowsA, rowsB, t, spec = {}) {
  const { key = 0, fields = [], angles = [], snap } = spec;
  if (!rowsB) return [];
  if (!rowsA || t >= 1) return rowsB.slice();
  const before = new Map();
  for (const row of rowsA) before.set(row[key], row);
  return rowsB.map((rowB) => {
    const rowA = before.get(rowB[key]);
    if (rowA === undefined || (snap && snap(rowA, rowB))) return rowB;
    const out = Array.isArray(rowB) ? rowB.slice() : { ...rowB };
    for (const f of fields) {
      const x = rowA[f];
      const y = rowB[f];
      if (typeof x === "number" && typeof y === "number") out[f] = lerp(x, y, t);
    }
    for (const f of angles) {
      const x = rowA[f];
      const y = rowB[f];
      if (typeof x === "number" && typeof y === "number") out[f] = lerpAngle(x, y, t);
    }
    return out;
  });
}

/**
 * A snap test for `interpolateRows`: true when the row moved farther than `maxDistance`
 * (between the fields `x` and `y`), or a `flags` field changed (alive, jailed).
 */
export function snapWhen({ x = 1, y = 2, maxDistance = Infinity, flags = [] } = {}) {
  return (a, b) => {
    for (const f of flags) if (a[f] !== b[f]) return true;
    return Math.hypot(b[x] - a[x], b[y] - a[y]) > maxDistance;
  };
}

export class SnapshotBuffer {
  /**
   * @param {object} [options]
   * @param {number} [options.tickRate] ticks per second (the welcome's `tick_rate`); 30
   * @param {number} [options.delayMs] how far in the past to render; 2 ticks by default
   * @param {number} [options.capacity] snapshots kept (32)
   * @param {number} [options.resyncMs] a snapshot this much later than expected restarts
   *   the clock (a pause: a reconnect, a match moving pods); 250 ms by default
   */
  constructor(options = {}) {
    this.capacity = options.capacity ?? DEFAULT_CAPACITY;
    this.resyncMs = options.resyncMs ?? 250;
    this._delayMs = options.delayMs ?? null;
    this.setTickRate(options.tickRate ?? 30);
    /** @type {{tick: number, time: number, at: number, snapshot: any}[]} oldest first */
    this.entries = [];
    /** our clock minus the server's, in ms (null until the first snapshot) */
    this.offset = null;
  }

  /** The tick rate (after the welcome); the default delay follows it. */
  setTickRate(tickRate) {
    this.tickRate = tickRate > 0 ? tickRate : 30;
    this.tickMs = 1000 / this.tickRate;
  }

  get delayMs() {
    return this._delayMs ?? DEFAULT_DELAY_TICKS * this.tickMs;
  }

  set delayMs(ms) {
    this._delayMs = ms;
  }

  get size() {
    return this.entries.length;
  }

  /** The newest snapshot, or null. */
  get latest() {
    const last = this.entries[this.entries.length - 1];
    return last ? last.snapshot : null;
  }

  clear() {
    this.entries = [];
    this.offset = null;
  }

  /**
   * Add a snapshot (anything with a numeric `tick`) that arrived at `at` (ms, the clock
   * you will pass to `sample`). A tick below the newest one (a match restored from an
   * older checkpoint) starts the buffer over; the same tick again replaces it.
   */
  push(snapshot, at) {
    const tick = snapshot.tick;
    if (typeof tick !== "number") throw new TypeError("a snapshot needs a numeric tick");
    const last = this.entries[this.entries.length - 1];
    if (last && tick < last.tick) this.clear();
    const time = tick * this.tickMs;
    const entry = { tick, time, at, snapshot };
    const latest = this.entries[this.entries.length - 1];
    if (latest && latest.tick === tick) this.entries[this.entries.length - 1] = entry;
    else this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
    const sample = at - time;
    if (this.offset === null || sample < this.offset || sample - this.offset > this.resyncMs) {
      this.offset = sample;
    } else {
      this.offset += (sample - this.offset) * 0.01; // follow a slow drift
    }
  }

  /** The server time (ms) drawn at `now`. */
  renderTime(now) {
    return this.offset === null ? null : now - this.offset - this.delayMs;
  }

  /**
   * The two snapshots around the render time and how far between them:
   * `{a, b, t, tick}` (`t` in [0, 1]; `a === b` and `t` 0 before the oldest or past the
   * newest: never extrapolated), or null while empty.
   */
  sample(now) {
    const n = this.entries.length;
    if (!n) return null;
    const rt = this.renderTime(now);
    const first = this.entries[0];
    const last = this.entries[n - 1];
    if (rt <= first.time) return { a: first.snapshot, b: first.snapshot, t: 0, tick: first.tick };
    if (rt >= last.time) return { a: last.snapshot, b: last.snapshot, t: 0, tick: last.tick };
    let i = n - 1;
    while (i > 0 && this.entries[i - 1].time > rt) i--;
    const a = this.entries[i - 1];
    const b = this.entries[i];
    const t = (rt - a.time) / (b.time - a.time);
    return { a: a.snapshot, b: b.snapshot, t, tick: a.tick + (b.tick - a.tick) * t };
  }

  /**
   * The view at `now`: `blend(a, b, t)` of the two snapshots around the render time
   * (`blend(s, s, 0)` when there is only one to show), or null while empty.
   * @template V
   * @param {number} now
   * @param {(a: any, b: any, t: number) => V} blend
   * @returns {V | null}
   */
  view(now, blend) {
    const s = this.sample(now);
    return s ? blend(s.a, s.b, s.t) : null;
  }
}
