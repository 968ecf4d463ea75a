// A lobby room: one member's lobby socket (`/ws/lobbies/{id}`, docs/protocol.md "Lobby
// rooms"), kept connected by the reconnect policy of "Reconnecting" (a lobby socket has no
// inputs to resend: each new socket starts with a `snapshot` of the lobby). It pushes the
// lobby at every change, carries the members' chat and the operators' announcements, and
// ends with the server's 1000 after `started` (your own match access in `lobby.match`),
// `closed`, or the `left` that removed you. REST keeps every action (join, leave, ready,
// settings, start): the room listens and chats.

import { systemClock } from "./clock.js";
import { LobbyError } from "./errors.js";
import { CHAT_MAX_CHARS, chatLine, matchProtocols } from "./match.js";
import { SocketSession } from "./session.js";

/** A chat line is 1..200 characters once trimmed (the same rule as a match's chat). */
export { CHAT_MAX_CHARS };
/** The keepalive: a ping this often (the server closes a lobby socket silent for 60 s). */
export const LOBBY_PING_MS = 25000;
/** A socket that sent no frame for this long after the keepalive was due is dead. */
export const LOBBY_PONG_TIMEOUT_MS = 10000;

/** The socket path of a lobby. */
export function lobbyPath(lobbyId) {
  return `/ws/lobbies/${encodeURIComponent(String(lobbyId))}`;
}

// After a snapshot, these final closes mean the lobby is no longer yours.
const GONE_CODES = new Set([1000, 4003, 4004]);

const revisionOf = (lobby) =>
  lobby && typeof lobby.revision === "number" ? lobby.revision : null;

/** True when `lobby` is older than `than` (both with a revision). */
export function isOlderLobby(lobby, than) {
  const a = revisionOf(lobby);
  const b = revisionOf(than);
  return a !== null && b !== null && a < b;
}

export class LobbyRoom extends SocketSession {
  /**
   * @param {object} options
   * @param {string} options.lobbyId
   * @param {string | (() => string)} options.url the socket's URL (ws:// or wss://)
   * @param {string | (() => string)} options.token the *player* token
   * @param {string} [options.playerId] who this member is (tells a `left` of yours)
   * @param {object} [options.lobby] the lobby as a REST answer gave it (a start point)
   */
  constructor(options) {
    super();
    if (!options || !options.lobbyId) throw new TypeError("LobbyRoom needs `lobbyId`");
    this.options = options;
    this.lobbyId = String(options.lobbyId);
    this.clock = options.clock || systemClock;
    this.playerId = options.playerId || null;
    /** the newest lobby seen (by `revision`: never an older one) */
    this.lobby = null;
    /** once started: this member's match access */
    this.match = null;
    /** why the room ended: started | closed | left | cancelled | socket_closed */
    this.outcome = null;
    this.rtt = null;
    this.stats = { snapshots: 0, pushes: 0, stale: 0, chat: 0, pings: 0 };
    this.pingIntervalMs = options.pingIntervalMs ?? LOBBY_PING_MS;
    this._pongTimeoutMs = options.pongTimeoutMs ?? LOBBY_PONG_TIMEOUT_MS;
    this._welcomed = false; // this socket got its snapshot
    this._pingTimer = null;
    this._leaving = false;
    if (options.lobby) this.apply(options.lobby);

    const token = options.token;
    this._attach({
      url: options.url,
      protocols: () => matchProtocols(typeof token === "function" ? token() : token),
      WebSocket: options.WebSocket,
      clock: this.clock,
      random: options.random,
      giveUpMs: options.giveUpMs,
      openTimeoutMs: options.openTimeoutMs,
      refresh: options.refreshToken, // none: a 4001 is final (sign in again)
      ping: () => null, // the keepalive below pings on a steady beat
      silence: {
        pingAfterMs: this.pingIntervalMs,
        deadAfterMs: this.pingIntervalMs + this._pongTimeoutMs,
      },
    });
    this.started = new Promise((resolve, reject) => {
      this._started = { resolve, reject };
    });
    this.started.catch(() => {}); // observed or not, a room that ends otherwise is no crash
  }

  _everWelcomed() {
    return this.stats.snapshots > 0;
  }

  /**
   * Say `text` to the lobby (trimmed; 1..200 characters, else a RangeError): every
   * member's sockets get it back as a `chat`, yours included. False when no socket is
   * open. The server refuses control and invisible characters (an `error` event).
   */
  say(text) {
    const line = chatLine(text);
    if (!this._welcomed) return false;
    return this.socket.send({ type: "chat", text: line });
  }

  /** Send a ping stamped with the room's clock (ms); the `pong` event gives the RTT. */
  ping() {
    const t = this.clock.now();
    if (!this.socket.send({ type: "ping", t })) return null;
    this.stats.pings++;
    return t;
  }

  /**
   * A lobby a REST call answered with (ready, settings, start...): kept if it is not
   * older than the one the room has. True when kept; a `lobby` event (`event` "rest")
   * tells the listeners.
   */
  apply(lobby, event = "rest") {
    if (!lobby || typeof lobby !== "object" || isOlderLobby(lobby, this.lobby)) return false;
    this.lobby = lobby;
    this._noteStart(lobby);
    this.emit("lobby", { event, lobby });
    return true;
  }

  // -- the socket's events --------------------------------------------------------------

  _onOpen(ev) {
    this._welcomed = false;
    this._keepalive();
    this.emit("open", ev);
  }

  _onDrop(ev) {
    this._welcomed = false;
    this._stopPings();
    this.emit("drop", ev);
    // The lobby has nothing more to say (its 1000 was lost on the way): no reconnect.
    if (this._over() && this.socket.state !== "closed") this.socket.close(ev.code, ev.reason);
  }

  _onMessage(msg) {
    switch (msg.type) {
      case "lobby":
        this._onLobby(msg);
        break;
      case "chat":
        this.stats.chat++;
        this.emit("chat", msg);
        break;
      default:
        this._onShared(msg);
        break;
    }
    this.emit("message", msg);
  }

  _onLobby(msg) {
    if (!this._welcomed) {
      this._welcomed = true;
      this.socket.markWelcomed();
    }
    if (msg.event === "snapshot") this.stats.snapshots++;
    else this.stats.pushes++;
    const lobby = msg.lobby;
    if (!lobby || typeof lobby !== "object" || isOlderLobby(lobby, this.lobby)) {
      this.stats.stale++; // (another server's older view, after a reconnect): never back
    } else {
      this.lobby = lobby;
      this._noteStart(lobby);
      this.emit("lobby", { event: msg.event, lobby });
    }
    if (msg.event === "snapshot" && this.stats.snapshots === 1) this._ready.resolve(this.lobby);
  }

  _noteStart(lobby) {
    if (lobby.status !== "started" || this.match) return;
    if (lobby.match) {
      this.match = lobby.match;
      this._started.resolve(lobby.match);
    } else {
      this._started.reject(new LobbyError("started_without_you", lobby));
    }
  }

  /** The lobby is done with this member: started, closed, or they are no longer in it. */
  _over() {
    const lobby = this.lobby;
    if (!lobby) return false;
    if (lobby.status === "started" || lobby.status === "closed") return true;
    const members = Array.isArray(lobby.members) ? lobby.members : [];
    return !!this.playerId && !members.some((m) => m.player_id === this.playerId);
  }

  _onClosed(ev) {
    this._stopPings();
    const lobby = this.lobby;
    let outcome = "socket_closed";
    if (lobby && lobby.status === "started") outcome = "started";
    else if (lobby && lobby.status === "closed") outcome = "closed";
    else if (this._leaving) outcome = "cancelled";
    else if (this._over() || (this.stats.snapshots > 0 && GONE_CODES.has(ev.code))) {
      outcome = "left"; // a 1000 after your leave; 4003/4004: removed while reconnecting
    }
    this.outcome = outcome;
    const event = { ...ev, outcome, lobby, match: this.match };
    const code = outcome === "socket_closed" ? ev.code : null;
    this._ready.reject(new LobbyError(outcome, lobby, code));
    if (!this.match) this._started.reject(new LobbyError(outcome, lobby, code));
    this.emit("closed", event);
    this._done(event);
  }
}
