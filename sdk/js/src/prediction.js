// Client-side prediction with server reconciliation, generic over the mode: the mode gives
// `predict(state, input, config)` (one tick of its own player's movement, say), the
// Predictor applies it to every input the server has not acknowledged yet on top of the
// last authoritative state, and starts over from each snapshot (reconcile on ack).

export class Predictor {
  /**
   * @param {object} options
   * @param {(state: any, input: any, config: any) => any} options.predict the next state
   *   after one input; must not change `state`
   * @param {any} [options.config] the mode's constants (the welcome's `config`)
   * @param {any} [options.state] an authoritative state to start from
   * @param {number} [options.maxPending] inputs kept at most (128)
   */
  constructor(options) {
    if (!options || typeof options.predict !== "function") {
      throw new TypeError("Predictor needs a predict(state, input, config) function");
    }
    this.predictFn = options.predict;
    this.config = options.config ?? {};
    this.maxPending = options.maxPending ?? 128;
    this.authoritative = options.state ?? null;
    /** the last seq the server applied */
    this.ack = 0;
    /** @type {{seq: number, input: any}[]} unacknowledged, in seq order */
    this.pending = [];
    this._cache = undefined;
    /** the predicted state just before the last reconcile (to measure or smooth a correction) */
    this.previous = null;
  }

  setConfig(config) {
    this.config = config ?? {};
    this._cache = undefined;
  }

  /** An input just sent with this seq: predicted at once. */
  add(seq, input) {
    if (seq <= this.ack) return;
    const last = this.pending[this.pending.length - 1];
    if (last && seq <= last.seq) return; // a resend: already here
    this.pending.push({ seq, input });
    if (this.pending.length > this.maxPending) this.pending.shift();
    this._cache = undefined;
  }

  /** The server dropped this input (`input_dropped`). */
  drop(seq) {
    const i = this.pending.findIndex((p) => p.seq === seq);
    if (i >= 0) {
      this.pending.splice(i, 1);
      this._cache = undefined;
    }
  }

  /**
   * A snapshot: its authoritative `state` (null: nothing to predict from, e.g. dead) with
   * every input up to `ack` applied. Drops those inputs; returns the new predicted state.
   */
  reconcile(state, ack) {
    this.previous = this._cache === undefined ? null : this._cache;
    this.authoritative = state;
    if (typeof ack === "number" && ack > this.ack) this.ack = ack;
    let n = 0;
    while (n < this.pending.length && this.pending[n].seq <= this.ack) n++;
    if (n) this.pending.splice(0, n);
    this._cache = undefined;
    return this.state;
  }

  /** The predicted state: the authoritative one with every pending input applied. */
  get state() {
    if (this._cache !== undefined) return this._cache;
    let state = this.authoritative;
    if (state !== null && state !== undefined) {
      for (const p of this.pending) state = this.predictFn(state, p.input, this.config);
    }
    this._cache = state ?? null;
    return this._cache;
  }

  reset(state = null) {
    this.authoritative = state;
    this.pending = [];
    this.ack = 0;
    this.previous = null;
    this._cache = undefined;
  }

  /**
   * Follow a MatchSession: its inputs, snapshots (through `extract(snapshot, session)`,
   * the authoritative state or null), welcomes (config) and dropped inputs. Returns a
   * function that stops following.
   * @param {object} session a MatchSession (or anything emitting its events)
   * @param {(snapshot: any, session: any) => any} extract
   */
  attach(session, extract) {
    const offs = [
      session.on("welcome", (w) => this.setConfig(w.config)),
      session.on("input", (ev) => this.add(ev.seq, ev.fields)),
      session.on("snapshot", (snap) => this.reconcile(extract(snap, session), snap.ack)),
      session.on("error", (err) => {
        if (err.code === "input_dropped" && typeof err.seq === "number") this.drop(err.seq);
      }),
    ];
    if (session.welcome) this.setConfig(session.welcome.config);
    return () => offs.forEach((off) => off());
  }
}
