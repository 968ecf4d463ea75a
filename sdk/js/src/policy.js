// The reconnect policy of docs/protocol.md ("### Reconnecting"), as pure decisions: which
// close codes reconnect, how long each attempt waits, when silence means a dead socket.
// The Python SDK implements the same policy; keep the two in step with the document.

/** Closes after which the client reconnects to the same ws_path with the same token. */
export const RECONNECT_CODES = Object.freeze([1001, 1006, 1011, 1012, 1013, 4008]);
/** The match token expired: fetch a fresh one (POST /v1/matches/{id}/token), then reconnect. */
export const REFRESH_CODES = Object.freeze([4001]);
/** Closes after which the client never reconnects. */
export const FINAL_CODES = Object.freeze([1000, 1008, 1009, 4003, 4004, 4009, 4010, 4029]);

export const BACKOFF_BASE_MS = 250;
export const BACKOFF_MAX_MS = 4000;
/** The first attempt after a 1012 (the pod is draining) waits at most this long. */
export const RESTART_FIRST_DELAY_MS = 250;
/** The client gives up after this long without a `welcome`. */
export const GIVE_UP_MS = 30000;
/** A ping goes out after this long without a frame from the server. */
export const PING_AFTER_MS = 500;
/** No frame for this long (or 3 ticks, for a mode slower than 3 Hz): the socket is dead. */
export const SILENCE_MS = 1000;
export const SILENCE_TICKS = 3;

/** A close code the SDK uses for a socket it gave up on itself (silence, handshake timeout). */
export const ABNORMAL_CLOSE = 1006;

const RECONNECT = new Set(RECONNECT_CODES);
const REFRESH = new Set(REFRESH_CODES);

/**
 * What to do after a close: `"reconnect"`, `"refresh"` (a fresh match token first, then
 * reconnect) or `"final"`. A handshake that got an HTTP answer below 500 (`httpStatus`,
 * known in Node only; a browser reports any refused handshake as 1006) is final; one with
 * no answer or a 5xx reconnects. Codes the document does not list are final.
 * @param {number | null | undefined} code
 * @param {{httpStatus?: number | null}} [handshake]
 * @returns {"reconnect" | "refresh" | "final"}
 */
export function closeAction(code, handshake = {}) {
  const status = handshake && handshake.httpStatus;
  if (typeof status === "number" && status > 0 && status < 500) return "final";
  if (REFRESH.has(code)) return "refresh";
  if (RECONNECT.has(code)) return "reconnect";
  return "final";
}

/**
 * How long attempt `attempt` (from 0, reset by each welcome) waits: uniform(0.5, 1) ×
 * min(4 s, 250 ms × 2^attempt); the first attempt after a 1012 at most 250 ms.
 * @param {number} attempt
 * @param {{random?: () => number, afterRestart?: boolean}} [options]
 */
export function backoffDelay(attempt, options = {}) {
  const random = options.random || Math.random;
  let ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
  if (options.afterRestart) ceiling = Math.min(ceiling, RESTART_FIRST_DELAY_MS);
  const u = Math.min(1, Math.max(0, random()));
  return ceiling * (0.5 + 0.5 * u);
}

/**
 * The silence rule's two times for a mode's tick rate (unknown before the welcome): a ping
 * after 500 ms without a frame, a dead socket after 1 s, or 3 ticks when that is longer.
 * @param {number | null | undefined} tickRate
 * @returns {{pingAfterMs: number, deadAfterMs: number}}
 */
export function silenceTimes(tickRate) {
  const ticks = tickRate && tickRate > 0 ? (SILENCE_TICKS * 1000) / tickRate : 0;
  return { pingAfterMs: PING_AFTER_MS, deadAfterMs: Math.max(SILENCE_MS, ticks) };
}

/**
 * The state of the policy across one session's sockets: the attempt counter and the
 * deadline to get a welcome by. Pure bookkeeping; `ReconnectingSocket` drives it.
 */
export class ReconnectPolicy {
  /**
   * @param {{random?: () => number, giveUpMs?: number}} [options]
   */
  constructor(options = {}) {
    this.random = options.random || Math.random;
    this.giveUpMs = options.giveUpMs ?? GIVE_UP_MS;
    /** attempts made since the last welcome */
    this.attempt = 0;
    /** the time (ms) the client must get a welcome by, or null while it has one */
    this.deadline = null;
    /** the last close asked for a fresh match token */
    this.needsToken = false;
  }

  /** A welcome came: the count starts over and the clock stops. */
  welcomed() {
    this.attempt = 0;
    this.deadline = null;
    this.needsToken = false;
  }

  /** A socket is being opened without a welcome yet: start the clock if it is not running. */
  started(now) {
    if (this.deadline === null) this.deadline = now + this.giveUpMs;
  }

  /** True once the client went `giveUpMs` without a welcome. */
  expired(now) {
    return this.deadline !== null && now >= this.deadline;
  }

  /**
   * A socket closed (or was given up on) at `now`: what next. Returns `{action: "final"}`
   * or `{action: "reconnect", attempt, delay, refresh}` and counts the attempt.
   * @param {number} code
   * @param {number} now
   * @param {{httpStatus?: number | null}} [handshake]
   */
  decide(code, now, handshake = {}) {
    const action = closeAction(code, handshake);
    if (action === "final") return { action: "final", reason: "close" };
    this.started(now);
    if (this.expired(now)) return { action: "final", reason: "gave_up" };
    if (action === "refresh") this.needsToken = true;
    const attempt = this.attempt++;
    const delay = backoffDelay(attempt, { random: this.random, afterRestart: code === 1012 });
    return { action: "reconnect", attempt, delay, refresh: this.needsToken };
  }
}
