// A WebSocket that keeps itself connected by the reconnect policy of docs/protocol.md:
// the close-code table, the silence rule, back-off with jitter, the 30 s limit without a
// welcome and the fresh token after a 4001. It knows nothing of matches: a protocol layer
// on top (MatchSession, LobbyRoom, Spectator) decodes the messages, tells it when
// a welcome came (markWelcomed) and what the mode's tick rate is (setTickRate), or fixes
// the silence rule's times itself (the `silence` option, `setSilence`: a lobby is a quiet
// place, a spectator's feed is slower than a match's).

import { systemClock } from "./clock.js";
import { Emitter } from "./emitter.js";
import { ABNORMAL_CLOSE, ReconnectPolicy, silenceTimes } from "./policy.js";

export const OPEN = 1; // WebSocket.OPEN, for constructors that lack the static
export const DEFAULT_OPEN_TIMEOUT_MS = 5000;

const decoder = typeof TextDecoder === "function" ? new TextDecoder() : null;

/** A frame's JSON: text, or binary UTF-8 (ArrayBuffer, a view of one, or Node's Buffer). */
export function decodeFrame(data) {
  let text = data;
  if (typeof data !== "string") {
    if (!decoder) throw new TypeError("no TextDecoder to read a binary frame");
    if (Array.isArray(data)) {
      // ws's "fragments" binaryType: the pieces of one frame
      text = data.map((part) => decoder.decode(part, { stream: true })).join("") + decoder.decode();
    } else {
      text = decoder.decode(data);
    }
  }
  return JSON.parse(text);
}

function defaultWebSocket() {
  const ctor = globalThis.WebSocket;
  if (typeof ctor !== "function") {
    throw new TypeError(
      "no global WebSocket (Node 20 has none): pass the `WebSocket` option, e.g. the ws package's",
    );
  }
  return ctor;
}

function refusal(err) {
  // An answer that says no: an ApiError with a 4xx status (429 aside: "try again later").
  return (
    !!err && typeof err.status === "number" && err.status >= 400 && err.status < 500 &&
    err.status !== 429
  );
}

export class ReconnectingSocket extends Emitter {
  /**
   * @param {object} options
   * @param {string | (() => string)} options.url
   * @param {string[] | (() => string[])} [options.protocols]
   * @param {Function} [options.WebSocket] constructor; default globalThis.WebSocket
   * @param {() => Promise<unknown>} [options.refresh] called before an attempt after a 4001
   * @param {object} [options.clock] {now, setTimeout, clearTimeout}
   * @param {() => number} [options.random]
   * @param {number} [options.giveUpMs]
   * @param {number} [options.openTimeoutMs]
   * @param {(t: number) => object | null} [options.ping] the message the silence rule sends
   *   (null: none, the layer on top pings on its own)
   * @param {{pingAfterMs: number, deadAfterMs: number}} [options.silence] the silence
   *   rule's times, instead of those of a match (500 ms, 1 s or 3 ticks)
   */
  constructor(options) {
    super();
    this.options = options;
    this.clock = options.clock || systemClock;
    this.policy = new ReconnectPolicy({ random: options.random, giveUpMs: options.giveUpMs });
    this.openTimeoutMs = options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
    this.WebSocket = options.WebSocket || null;
    this.silence = options.silence ? { ...options.silence } : silenceTimes(null);
    /** idle | connecting | open | backoff | refreshing | closed */
    this.state = "idle";
    this.ws = null;
    /** the serving pod (`x-skirmish-pod` of the handshake), where the WebSocket shows it */
    this.pod = null;
    this.lastClose = null;
    this.closeEvent = null;
    this.sockets = 0; // how many were opened
    this._timers = { open: null, watch: null, retry: null, giveUp: null };
    this._lastFrameAt = 0;
    this._pinged = false;
    this._welcomedHere = false;
    this._handshake = { httpStatus: null };
  }

  /** Open the first socket (once). */
  connect() {
    if (this.state !== "idle") return this;
    this.policy.started(this.clock.now());
    this._armGiveUp();
    this._open();
    return this;
  }

  /** The protocol layer got its welcome on the current socket: the policy starts over. */
  markWelcomed() {
    this._welcomedHere = true;
    this.policy.welcomed();
    this._clear("giveUp");
    if (this.state === "open") this._watch();
  }

  /** The mode's tick rate, for the silence rule (3 ticks when that is longer than 1 s). */
  setTickRate(tickRate) {
    this.setSilence(silenceTimes(tickRate));
  }

  /**
   * The silence rule's times from now on: a ping after `pingAfterMs` without a frame, the
   * socket dead after `deadAfterMs` (a protocol layer whose feed is slower than a match's).
   */
  setSilence({ pingAfterMs, deadAfterMs }) {
    this.silence = { pingAfterMs, deadAfterMs };
    if (this.state === "open") this._watch();
  }

  get isOpen() {
    return this.state === "open" && !!this.ws && this.ws.readyState === OPEN;
  }

  /** Send a message as a JSON text frame; false when no socket is open. */
  send(message) {
    return this.sendRaw(JSON.stringify(message));
  }

  /** Send a frame as is; false when no socket is open. */
  sendRaw(data) {
    if (!this.isOpen) return false;
    try {
      this.ws.send(data);
    } catch {
      return false; // closing under us: the close event follows
    }
    return true;
  }

  /**
   * Break the current socket as a network failure would (a 1006): the policy reconnects.
   * For tests and debug hooks. False when there is no socket to break.
   */
  drop(reason = "dropped") {
    if (!this.ws || (this.state !== "open" && this.state !== "connecting")) return false;
    this._abandon(reason);
    return true;
  }

  /** Close for good (no reconnect): the `closed` event comes at once with this code. */
  close(code = 1000, reason = "client") {
    if (this.state === "closed") return;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      try {
        ws.close(code, reason);
      } catch {
        this._kill(ws);
      }
    }
    this._finish(code, reason, false);
  }

  // -- one socket ---------------------------------------------------------------------

  _open() {
    this.state = "connecting";
    this._welcomedHere = false;
    this._handshake = { httpStatus: null };
    const url = typeof this.options.url === "function" ? this.options.url() : this.options.url;
    const protocols =
      typeof this.options.protocols === "function"
        ? this.options.protocols()
        : this.options.protocols || [];
    let ws;
    try {
      const Ctor = this.WebSocket || defaultWebSocket();
      ws = new Ctor(url, protocols);
    } catch (err) {
      // A bad URL or a missing constructor is no network trouble: report and stop.
      this.emit("failure", { error: err });
      this._finish(ABNORMAL_CLOSE, String((err && err.message) || err), false);
      return;
    }
    this.ws = ws;
    this.sockets++;
    ws.binaryType = "arraybuffer";
    const handshake = this._handshake;
    if (typeof ws.on === "function") {
      // Node's ws: the handshake's headers and a refused handshake's HTTP status.
      ws.on("upgrade", (res) => {
        const pod = res && res.headers && res.headers["x-skirmish-pod"];
        if (pod && this.ws === ws) this.pod = String(pod);
      });
      ws.on("unexpected-response", (req, res) => {
        handshake.httpStatus = res.statusCode;
        if (typeof res.resume === "function") res.resume();
        this._kill(ws);
      });
    }
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this._clear("open");
      this.state = "open";
      this._lastFrameAt = this.clock.now();
      this._pinged = false;
      this._watch();
      this.emit("open", { pod: this.pod, socket: this.sockets });
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this._lastFrameAt = this.clock.now();
      this._pinged = false;
      let message;
      try {
        message = decodeFrame(ev.data);
      } catch {
        this.emit("garbage", { data: ev.data });
        return;
      }
      if (message && typeof message === "object" && !Array.isArray(message)) {
        this.emit("message", message);
      } else {
        this.emit("garbage", { data: ev.data });
      }
    };
    ws.onerror = () => {}; // the close follows
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this._dropped(ev.code, ev.reason || "");
    };
    this._timers.open = this.clock.setTimeout(() => {
      this._timers.open = null;
      if (this.ws === ws && this.state === "connecting") this._abandon("handshake timeout");
    }, this.openTimeoutMs);
  }

  /**
   * The silence rule: a ping after 500 ms without a frame, dead after 1 s (or 3 ticks).
   * Until the protocol layer has its welcome, the socket may stay quiet as long as a
   * handshake (`openTimeoutMs`): a pod may first have to load the match (a checkpoint).
   */
  _watch() {
    this._clear("watch");
    if (this.state !== "open") return;
    const now = this.clock.now();
    const quiet = now - this._lastFrameAt;
    const { pingAfterMs } = this.silence;
    const deadAfterMs = this._welcomedHere
      ? this.silence.deadAfterMs
      : Math.max(this.silence.deadAfterMs, this.openTimeoutMs);
    if (quiet >= deadAfterMs) {
      this._abandon("silence");
      return;
    }
    if (quiet >= pingAfterMs && !this._pinged) {
      this._pinged = true;
      const ping = this.options.ping ? this.options.ping(now) : { type: "ping", t: now };
      if (ping) this.send(ping);
    }
    const due = this._pinged ? deadAfterMs : pingAfterMs;
    this._timers.watch = this.clock.setTimeout(() => {
      this._timers.watch = null;
      this._watch();
    }, Math.max(1, this._lastFrameAt + due - now));
  }

  /** Give up on the current socket ourselves (silent, or its handshake hangs). */
  _abandon(reason) {
    const ws = this.ws;
    this.ws = null;
    if (ws) this._kill(ws);
    this._dropped(ABNORMAL_CLOSE, reason);
  }

  _kill(ws) {
    try {
      if (typeof ws.terminate === "function") ws.terminate();
      else ws.close(4000, "silent");
    } catch {
      // already closed
    }
  }

  _dropped(code, reason) {
    this._clear("open");
    this._clear("watch");
    const httpStatus = this._handshake.httpStatus;
    this.lastClose = { code, reason, httpStatus };
    this.emit("drop", { code, reason, httpStatus });
    if (this.state === "closed") return;
    const decision = this.policy.decide(code, this.clock.now(), { httpStatus });
    if (decision.action === "final") {
      this._finish(code, reason, decision.reason === "gave_up", httpStatus);
      return;
    }
    if (decision.refresh && !this.options.refresh) {
      // A 4001 with no way to a fresh token: the same one would be refused again.
      this._finish(code, reason, false, httpStatus);
      return;
    }
    this.state = "backoff";
    this._armGiveUp();
    this.emit("reconnecting", {
      attempt: decision.attempt,
      delay: decision.delay,
      code,
      reason,
      refresh: decision.refresh,
    });
    if (this.state !== "backoff") return; // a listener closed it
    this._timers.retry = this.clock.setTimeout(() => {
      this._timers.retry = null;
      this._attempt(decision.refresh);
    }, decision.delay);
  }

  async _attempt(refresh) {
    if (this.state !== "backoff") return;
    if (this.policy.expired(this.clock.now())) {
      this._giveUp();
      return;
    }
    if (refresh && this.options.refresh) {
      this.state = "refreshing";
      try {
        await this.options.refresh();
      } catch (err) {
        if (this.state !== "refreshing") return;
        if (refusal(err)) {
          // "a refusal of that call ends the attempts"
          this._finish(4001, `fresh token refused: ${err.code || err.status}`, false);
        } else {
          this.state = "backoff";
          this._dropped(4001, "fresh token unavailable");
        }
        return;
      }
      if (this.state !== "refreshing") return; // closed meanwhile
      this.policy.needsToken = false;
    }
    this._open();
  }

  _armGiveUp() {
    if (this._timers.giveUp !== null || this.policy.deadline === null) return;
    const wait = Math.max(0, this.policy.deadline - this.clock.now());
    this._timers.giveUp = this.clock.setTimeout(() => {
      this._timers.giveUp = null;
      if (this.state !== "closed" && this.policy.expired(this.clock.now())) this._giveUp();
    }, wait);
  }

  _giveUp() {
    const last = this.lastClose || { code: ABNORMAL_CLOSE, reason: "", httpStatus: null };
    const ws = this.ws;
    this.ws = null;
    if (ws) this._kill(ws);
    this._finish(last.code, last.reason || "no welcome within the time limit", true, last.httpStatus);
  }

  _finish(code, reason, gaveUp, httpStatus = null) {
    if (this.state === "closed") return;
    this.state = "closed";
    for (const name of Object.keys(this._timers)) this._clear(name);
    const ws = this.ws;
    this.ws = null;
    if (ws) this._kill(ws);
    this.closeEvent = { code, reason, gaveUp, httpStatus };
    this.emit("closed", this.closeEvent);
  }

  _clear(name) {
    if (this._timers[name] !== null) {
      this.clock.clearTimeout(this._timers[name]);
      this._timers[name] = null;
    }
  }
}
