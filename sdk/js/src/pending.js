// The inputs sent and not yet applied (docs/protocol.md, "Resuming"): each is kept until a
// snapshot's `ack` reaches its seq; after each welcome, those above `welcome.last_seq` are
// sent again, once, in seq order, before anything new; an `input_dropped` error with a seq
// removes that one.

export const DEFAULT_MAX_PENDING = 512;

export class PendingInputs {
  /** @param {{max?: number}} [options] */
  constructor(options = {}) {
    this.max = options.max ?? DEFAULT_MAX_PENDING;
    /** @type {{seq: number, message: object}[]} in seq order */
    this.items = [];
    /** the highest ack seen (a snapshot's) */
    this.acked = 0;
  }

  get size() {
    return this.items.length;
  }

  /** Keep a sent input (seqs only grow). */
  add(seq, message) {
    const last = this.items[this.items.length - 1];
    if (last && seq <= last.seq) throw new RangeError(`input seq ${seq} is not above ${last.seq}`);
    this.items.push({ seq, message });
    // Bounded: past this many unacknowledged inputs the oldest are beyond help anyway.
    if (this.items.length > this.max) this.items.splice(0, this.items.length - this.max);
  }

  /** A snapshot's ack: every input at or below it was applied. Returns how many left. */
  ack(ack) {
    if (typeof ack !== "number") return 0;
    if (ack > this.acked) this.acked = ack;
    let n = 0;
    while (n < this.items.length && this.items[n].seq <= ack) n++;
    if (n) this.items.splice(0, n);
    return n;
  }

  /** The server dropped this input (`input_dropped`): forget it. True if it was kept. */
  drop(seq) {
    const i = this.items.findIndex((item) => item.seq === seq);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** The inputs to send again after a welcome: those above `lastSeq`, in seq order. */
  resendAfter(lastSeq) {
    return this.items.filter((item) => item.seq > lastSeq);
  }

  /** The seqs kept, in order. */
  seqs() {
    return this.items.map((item) => item.seq);
  }

  clear() {
    this.items = [];
  }
}
