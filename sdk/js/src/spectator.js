// A spectator: one socket watching a match (`/ws/matches/{id}/spectate`, docs/protocol.md
// "Spectators"), a running match live behind its delay or a finished one from its
// recording, kept connected by the reconnect policy of "Reconnecting" (with a fresh
// spectate access after a 4001). It sends nothing but pings: no inputs. Each socket
// begins with a `spectating` (its welcome); the snapshots that follow (`ack` 0, the mode's
// spectator view: the whole field) go into a SnapshotBuffer timed for the feed's pace, to
// draw between them; the match's `result` comes at the end, then the server's 1000.
//
// The silence rule, for a feed that is slower and later than a player's:
//   - a keepalive ping every 20 s (the server closes a spectator silent for 60 s, 4008);
//   - once a socket's snapshots flow, a ping after max(1 s, 3 snapshot periods) without a
//     frame (a snapshot period is 1000 / (rate_hz × speed) ms: a recording at ×4 comes
//     four times as fast), and the socket is dead 2 s later if nothing came, its pong
//     included: the server answers a ping at once, so a paused match is not a dead socket;
//   - between a socket's `spectating` and its first snapshot (the delay: up to `delay_ms`;
//     a match waiting for its players, longer) the first ping goes out only once the
//     snapshot is overdue, after delay_ms + 1 s without a frame, and the socket is dead 2 s
//     after that ping if nothing answered: `delay_ms` + 1 s of silence is never dead.

import { systemClock } from "./clock.js";
import { MatchClosedError } from "./errors.js";
import { SnapshotBuffer } from "./interpolation.js";
import { matchProtocols } from "./match.js";
import { SocketSession } from "./session.js";

/** The keepalive: a ping this often (the server closes a spectator silent for 60 s). */
export const SPECTATOR_PING_MS = 20000;
/** A ping unanswered this long (no frame at all) means a dead socket. */
export const SPECTATOR_PONG_TIMEOUT_MS = 2000;
/** Snapshot periods without a frame before a ping, once the snapshots flow. */
export const SPECTATOR_QUIET_PERIODS = 3;
/** A recording's playback speeds the server accepts (`?speed=`). */
export const MIN_SPEED = 0.25;
export const MAX_SPEED = 16;

/** The socket path of a match's spectators. */
export function spectatePath(matchId) {
  return `/ws/matches/${encodeURIComponent(String(matchId))}/spectate`;
}

/** A snapshot's period on our clock (ms): one every tick_rate / rate_hz ticks, × speed. */
export function snapshotPeriodMs({ rate_hz: rateHz, speed } = {}) {
  const rate = rateHz > 0 ? rateHz : 10;
  const pace = speed > 0 ? speed : 1;
  return 1000 / (rate * pace);
}

/**
 * The silence rule's times for a spectator socket: `spectating` is its welcome (with
 * `rate_hz`, `speed`, `delay_ms`); `flowing` once that socket got a snapshot.
 * @returns {{pingAfterMs: number, deadAfterMs: number}}
 */
export function spectatorSilence(spectating, flowing) {
  const period = snapshotPeriodMs(spectating || {});
  const steady = Math.max(1000, SPECTATOR_QUIET_PERIODS * period);
  const delay = spectating && spectating.delay_ms > 0 ? spectating.delay_ms : 0;
  const pingAfterMs = flowing ? steady : Math.max(steady, delay + 1000);
  return { pingAfterMs, deadAfterMs: pingAfterMs + SPECTATOR_PONG_TIMEOUT_MS };
}

/** Check a recording's playback speed (0.25 to 16); null or undefined: none asked. */
export function checkSpeed(speed) {
  if (speed === undefined || speed === null) return null;
  if (typeof speed !== "number" || !Number.isFinite(speed) || speed < MIN_SPEED || speed > MAX_SPEED) {
    throw new RangeError(`a playback speed is a number from ${MIN_SPEED} to ${MAX_SPEED}`);
  }
  return speed;
}

export class Spectator extends SocketSession {
  /**
   * @param {object} options
   * @param {{match_id: string, ws_path: string, token: string, live?: boolean}} options.access
   *   a spectate access (POST /v1/matches/{id}/spectate)
   * @param {string | ((access: object) => string)} options.url the socket's URL (ws:// or
   *   wss://, with `?speed=` for a recording), or a function of the current access
   * @param {(matchId: string) => Promise<object>} [options.refreshAccess] a fresh spectate
   *   access, after a 4001; without it a 4001 is final
   * @param {(matchId: string) => Promise<object>} [options.fetchMatch] GET /v1/matches/{id},
   *   for the result when the server's 1000 came without one
   */
  constructor(options) {
    super();
    if (!options || !options.access) throw new TypeError("Spectator needs `access`");
    this.options = options;
    this.clock = options.clock || systemClock;
    this.access = { ...options.access };
    this.matchId = this.access.match_id;
    /** the playback speed asked for a recording (null: the server's, 1) */
    this.speed = checkSpeed(options.speed);
    /** connecting | waiting | running | finished: the state of what is watched */
    this.status = "connecting";
    /** the last `spectating` (the welcome) */
    this.welcome = null;
    /** a spectator has no seat */
    this.slot = null;
    this.mode = null;
    this.tickRate = null;
    this.teams = 0;
    this.config = {};
    this.players = [];
    /** true: a running match behind `delayMs`; false: a recording */
    this.live = this.access.live ?? null;
    this.delayMs = 0;
    this.rateHz = null;
    /** how many watch the match (the `spectating`, then each `spectators`) */
    this.spectators = null;
    this.lastSnapshot = null;
    this.result = null;
    this.rtt = null;
    /** the snapshots to draw between, on this spectator's clock; timed for the feed */
    this.buffer = options.buffer || new SnapshotBuffer();
    this.stats = { welcomes: 0, snapshots: 0, pings: 0 };
    this.pingIntervalMs = options.pingIntervalMs ?? SPECTATOR_PING_MS;
    this._welcomed = false; // the current socket got its `spectating`
    this._flowing = false; // ... and a snapshot
    this._pingTimer = null;
    this._leaving = false;

    const refresh = options.refreshAccess;
    this._attach({
      url: () => (typeof options.url === "function" ? options.url(this.access) : options.url),
      protocols: () => matchProtocols(this.access.token),
      WebSocket: options.WebSocket,
      clock: this.clock,
      random: options.random,
      giveUpMs: options.giveUpMs,
      openTimeoutMs: options.openTimeoutMs,
      refresh: refresh ? () => this._refresh(refresh) : undefined,
    });
  }

  _everWelcomed() {
    return this.stats.welcomes > 0;
  }

  async _refresh(refresh) {
    const fresh = await refresh(this.matchId);
    this.access = { ...this.access, ...fresh };
    if (typeof fresh.live === "boolean") this.live = fresh.live;
    this.emit("access", this.access);
  }

  /** Send a ping stamped with the spectator's clock (ms); the `pong` event gives the RTT. */
  ping() {
    const t = this.clock.now();
    if (!this.socket.send({ type: "ping", t })) return null;
    this.stats.pings++;
    return t;
  }

  // -- the socket's events --------------------------------------------------------------

  _onOpen(ev) {
    this._welcomed = false;
    this._flowing = false;
    this._keepalive();
    this.emit("open", ev);
  }

  _onDrop(ev) {
    this._welcomed = false;
    this._flowing = false;
    this._stopPings();
    this.emit("drop", ev);
    // The result came, its 1000 lost on the way: nothing more to watch, no reconnect.
    if (this.result && this.socket.state !== "closed") this.socket.close(1000, "result");
  }

  _onMessage(msg) {
    switch (msg.type) {
      case "spectating":
        this._onSpectating(msg);
        break;
      case "snapshot":
        this._onSnapshot(msg);
        break;
      case "spectators":
        if (typeof msg.count === "number") this.spectators = msg.count;
        this.emit("spectators", msg);
        break;
      case "result":
        this.result = msg;
        this.status = "finished";
        this.emit("result", msg);
        break;
      default:
        this._onShared(msg);
        break;
    }
    this.emit("message", msg);
  }

  _onSpectating(msg) {
    this.welcome = msg;
    this.mode = msg.mode;
    this.tickRate = msg.tick_rate;
    this.teams = msg.teams || 0;
    this.config = msg.config || {};
    this.players = msg.players || [];
    if (typeof msg.live === "boolean") this.live = msg.live;
    this.delayMs = msg.delay_ms || 0;
    this.rateHz = msg.rate_hz ?? null;
    if (typeof msg.spectators === "number") this.spectators = msg.spectators;
    if (this.status !== "finished") this.status = msg.status === "waiting" ? "waiting" : "running";
    this._timeBuffer(msg);
    this._welcomed = true;
    this.stats.welcomes++;
    this.socket.markWelcomed();
    this.socket.setSilence(spectatorSilence(msg, false));
    this._ready.resolve(msg);
    this.emit("spectating", msg);
  }

  // The buffer's clock runs at the playback's pace (a recording at ×4: four ticks of the
  // match per tick of ours), and draws two snapshot periods in the past: there is nearly
  // always a snapshot on each side of the moment drawn. Each socket starts the feed over.
  _timeBuffer(msg) {
    const speed = msg.speed > 0 ? msg.speed : 1;
    this.buffer.clear();
    this.buffer.setTickRate((msg.tick_rate > 0 ? msg.tick_rate : 30) * speed);
    if (!this.options.buffer) this.buffer.delayMs = 2 * snapshotPeriodMs(msg);
  }

  _onSnapshot(msg) {
    if (this.status !== "finished") this.status = "running";
    if (!this._flowing && this._welcomed) {
      this._flowing = true;
      this.socket.setSilence(spectatorSilence(this.welcome, true));
    }
    this.lastSnapshot = msg;
    this.stats.snapshots++;
    this.buffer.push(msg, this.clock.now());
    this.emit("snapshot", msg);
  }

  async _onClosed(ev) {
    this._stopPings();
    // 1000 from the server: the match is over (the result came first); 4010: it was over.
    const over = ev.code === 4010 || (ev.code === 1000 && !this._leaving);
    if (this.result || over) this.status = "finished";
    if (over && !this.result && this.options.fetchMatch) {
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
