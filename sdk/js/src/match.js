// A match: its socket (kept connected by the reconnect policy) and what the protocol says
// about it: the welcome, inputs with their seqs, pending inputs and their resend, pings,
// the players' chat and the operators' announcements. docs/protocol.md, section 2.

import { systemClock } from "./clock.js";
import { MatchClosedError } from "./errors.js";
import { PendingInputs } from "./pending.js";
import { SocketSession } from "./session.js";

export const SUBPROTOCOL = "skirmish.v1";

/** A chat line (a lobby's or a match's) is 1..200 characters once trimmed. */
export const CHAT_MAX_CHARS = 200;

/**
 * `text` trimmed, as a chat line: a TypeError if it is not a string, a RangeError unless
 * it has 1..200 characters once trimmed (counted as the server counts them: code points).
 */
export function chatLine(text) {
  if (typeof text !== "string") throw new TypeError(`a chat line is a string, not ${typeof text}`);
  const line = text.trim();
  const length = [...line].length;
  if (length < 1 || length > CHAT_MAX_CHARS) {
    throw new RangeError(
      `a chat line is 1 to ${CHAT_MAX_CHARS} characters once trimmed (this one has ${length})`,
    );
  }
  return line;
}

/** The subprotocols a match socket offers: the protocol's and the token's. */
export function matchProtocols(token) {
  return [SUBPROTOCOL, `token.${token}`];
}

function checkFields(fields) {
  if (!fields || typeof fields !== "object" || Array.isArray(fields)) {
    throw new TypeError("input fields must be an object");
  }
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new RangeError(`input field ${key} must be a finite number`);
    }
  }
}

export class MatchSession extends SocketSession {
  /**
   * @param {object} options
   * @param {{match_id: string, ws_path: string, token: string, expires_at?: string}} options.access
   * @param {string | ((access: object) => string)} options.url the socket's URL (ws:// or wss://)
   * @param {(matchId: string) => Promise<object>} [options.refreshToken] a fresh match access
   */
  constructor(options) {
    super();
    if (!options || !options.access) throw new TypeError("MatchSession needs `access`");
    this.options = options;
    this.clock = options.clock || systemClock;
    this.access = { ...options.access };
    this.matchId = this.access.match_id;
    /** connecting | waiting | running | finished */
    this.status = "connecting";
    this.welcome = null;
    this.slot = null;
    this.tickRate = null;
    this.config = {};
    this.players = [];
    this.seq = 0;
    this.ack = 0;
    this.lastSnapshot = null;
    this.result = null;
    this.rtt = null;
    /** how many watch the match (the server's `spectators`), null until it says */
    this.spectators = null;
    this.pending = new PendingInputs({ max: options.maxPending });
    /** seqs the server reported with `input_dropped` */
    this.dropped = [];
    this.stats = { welcomes: 0, resent: 0, snapshots: 0, inputs: 0 };
    this._welcomed = false; // on the current socket
    this._pingTimer = null;
    this._leaving = false;

    const refresh = options.refreshToken;
    this._attach({
      url: () =>
        typeof options.url === "function" ? options.url(this.access) : options.url,
      protocols: () => matchProtocols(this.access.token),
      WebSocket: options.WebSocket,
      clock: this.clock,
      random: options.random,
      giveUpMs: options.giveUpMs,
      openTimeoutMs: options.openTimeoutMs,
      refresh: refresh
        ? async () => {
            const fresh = await refresh(this.matchId);
            this.access = { ...this.access, ...fresh };
            this.emit("token", this.access);
          }
        : undefined,
    });
  }

  _everWelcomed() {
    return this.stats.welcomes > 0;
  }

  /** True when an input sent now would go out: a socket open and welcomed. */
  get canSend() {
    return this._welcomed && this.socket.isOpen;
  }

  /**
   * Send the next input: the mode's fields (its `input_schema`, e.g. the arena's
   * `{dx, dy, aim, fire}`). Returns its seq, or null when no welcomed socket is open (then
   * nothing is sent or kept: an input is the intention for the next tick).
   */
  sendInput(fields) {
    checkFields(fields);
    if (!this.canSend) return null;
    const seq = this.seq + 1;
    const message = { ...fields, type: "input", seq };
    if (!this.socket.send(message)) return null;
    this.seq = seq;
    this.pending.add(seq, message);
    this.stats.inputs++;
    this.emit("input", { seq, fields, message });
    return seq;
  }

  /**
   * Say `text` to the match's players, or with `{team: true}` to your own team only (a
   * mode with teams). Each player it is for gets it back as a `chat` event, you included;
   * spectators never do. The line is trimmed: 1..200 characters, else a RangeError (a
   * TypeError if it is no string); `team` in a match the welcome said has no teams is a
   * RangeError too. Returns true when sent, false when no welcomed socket is open: then
   * nothing is sent or kept. Unlike inputs, a line is never queued for a resend after a
   * reconnect: say it again once a `welcome` comes. The server refuses control and
   * invisible characters, and more than 1 line a second past a burst of 5 (an `error`
   * event: `invalid_message`, `rate_limited`).
   */
  chat(text, { team = false } = {}) {
    const line = chatLine(text);
    if (typeof team !== "boolean") throw new TypeError("chat's `team` is true or false");
    if (team && this.welcome && !(this.welcome.teams >= 2)) {
      throw new RangeError("a team line needs a mode with teams: this match has none");
    }
    if (!this.canSend) return false;
    const message = { type: "chat", text: line };
    if (team) message.team = true;
    return this.socket.send(message);
  }

  /** Send a ping stamped with the session clock (ms); the `pong` event gives the RTT. */
  ping() {
    const t = this.clock.now();
    return this.socket.send({ type: "ping", t }) ? t : null;
  }

  /** Send any message as is (tests, tools); false when no socket is open. */
  send(message) {
    return this.socket.send(message);
  }

  // -- the socket's events --------------------------------------------------------------

  _onOpen(ev) {
    this._welcomed = false;
    this.emit("open", ev);
    this._schedulePing();
  }

  _schedulePing() {
    const every = this.options.pingIntervalMs;
    if (!every || this._pingTimer !== null) return;
    this._pingTimer = this.clock.setTimeout(() => {
      this._pingTimer = null;
      if (this.socket.state === "closed") return;
      if (this.socket.isOpen) this.ping();
      this._schedulePing();
    }, every);
  }

  _onDrop(ev) {
    this._welcomed = false;
    this.emit("drop", ev);
  }

  _onMessage(msg) {
    switch (msg.type) {
      case "welcome":
        this._onWelcome(msg);
        break;
      case "waiting":
        this.status = "waiting";
        this.emit("waiting", msg);
        break;
      case "start":
        this.status = "running";
        this.emit("start", msg);
        break;
      case "snapshot":
        this._onSnapshot(msg);
        break;
      case "result":
        this.result = msg;
        this.status = "finished";
        this.emit("result", msg);
        break;
      case "spectators":
        if (typeof msg.count === "number") this.spectators = msg.count;
        this.emit("spectators", msg);
        break;
      case "chat":
        this.emit("chat", msg);
        break;
      case "error":
        if (msg.code === "input_dropped" && typeof msg.seq === "number") {
          this.pending.drop(msg.seq);
          this.dropped.push(msg.seq);
        }
        this.emit("error", msg);
        break;
      default:
        this._onShared(msg);
        break;
    }
    this.emit("message", msg);
  }

  _onWelcome(msg) {
    this.welcome = msg;
    this.slot = msg.slot;
    this.tickRate = msg.tick_rate;
    this.config = msg.config || {};
    this.players = msg.players || [];
    if (msg.status) this.status = msg.status;
    this._welcomed = true;
    this.stats.welcomes++;
    this.socket.markWelcomed();
    this.socket.setTickRate(msg.tick_rate);
    const lastSeq = typeof msg.last_seq === "number" ? msg.last_seq : 0;
    // Resend what the server does not have, once, in order, before anything new.
    const resend = this.pending.resendAfter(lastSeq);
    for (const item of resend) {
      if (!this.socket.send(item.message)) break;
      this.stats.resent++;
    }
    this.seq = Math.max(this.seq, lastSeq);
    if (resend.length) this.emit("resent", { seqs: resend.map((i) => i.seq), lastSeq });
    this._ready.resolve(msg);
    this.emit("welcome", msg);
  }

  _onSnapshot(msg) {
    if (this.status !== "finished") this.status = "running";
    if (typeof msg.ack === "number") {
      this.ack = msg.ack;
      this.pending.ack(msg.ack);
    }
    this.lastSnapshot = msg;
    this.stats.snapshots++;
    this.emit("snapshot", msg);
  }

  async _onClosed(ev) {
    this._stopPings();
    // 1000 from the server: the match is over (the result came first); 4010: it was over.
    const over = ev.code === 4010 || (ev.code === 1000 && !this._leaving);
    if (this.result || over) this.status = "finished";
    if (over && !this.result && this.options.fetchMatch) {
      // The result did not come through a socket: the API has it.
      try {
        const info = await this.options.fetchMatch(this.matchId);
        if (info && info.result) this.result = { type: "result", ...info.result };
      } catch {
        // no result to give: `closed` says so with null
      }
    }
    const event = { ...ev, result: this.result };
    this._ready.reject(new MatchClosedError(ev.code, ev.reason));
    this.emit("closed", event);
    this._done(event);
  }
}
