// What a match session, a lobby room and a spectator share: one ReconnectingSocket (the
// reconnect policy of docs/protocol.md), its events handed to the subclass's handlers, the
// `ready` / `done` promises, the connection state as an app shows it, closing for good,
// the keepalive pings and the messages every socket gets alike.
import { Emitter } from "./emitter.js";
import { ReconnectingSocket } from "./socket.js";

export class SocketSession extends Emitter {
  /**
   * Build the socket (call once, from the subclass's constructor). The subclass handles
   * `_onOpen`, `_onMessage`, `_onDrop` and `_onClosed`, sets `_welcomed` once a socket
   * got its first message, and says by `_everWelcomed()` whether any socket did.
   * @param {ConstructorParameters<typeof ReconnectingSocket>[0]} options
   */
  _attach(options) {
    this.socket = new ReconnectingSocket(options);
    this.socket.on("open", (ev) => this._onOpen(ev));
    this.socket.on("message", (msg) => this._onMessage(msg));
    this.socket.on("drop", (ev) => this._onDrop(ev));
    this.socket.on("reconnecting", (ev) => this.emit("reconnecting", ev));
    this.socket.on("closed", (ev) => this._onClosed(ev));
    this.ready = new Promise((resolve, reject) => {
      this._ready = { resolve, reject };
    });
    this.ready.catch(() => {}); // observed or not, a closed session is no crash
    this.done = new Promise((resolve) => {
      this._done = resolve;
    });
  }

  /** Open the socket; `ready` resolves at its first message (a welcome, a snapshot). */
  connect() {
    this.socket.connect();
    return this;
  }

  /** connecting | open | reconnecting | closed: the socket's side of things. */
  get connection() {
    const s = this.socket.state;
    if (s === "closed") return "closed";
    if (s === "open" && this._welcomed) return "open";
    return this._everWelcomed() ? "reconnecting" : "connecting";
  }

  /** The pod serving the socket (`x-skirmish-pod`), where the WebSocket shows headers. */
  get pod() {
    return this.socket.pod;
  }

  /** Close the socket (1000) for good: no reconnect. */
  close(code = 1000, reason = "client") {
    this._leaving = true;
    this.socket.close(code, reason);
  }

  // -- for the subclasses ---------------------------------------------------------------

  /** A ping every `pingIntervalMs` (none if not above 0) while the socket is open; each
   * call starts the count again (a subclass calls it as a socket opens). */
  _keepalive() {
    this._stopPings();
    if (!(this.pingIntervalMs > 0)) return;
    this._pingTimer = this.clock.setTimeout(() => {
      this._pingTimer = null;
      if (!this.socket.isOpen) return;
      this.ping();
      this._keepalive();
    }, this.pingIntervalMs);
  }

  _stopPings() {
    if (this._pingTimer !== null && this._pingTimer !== undefined) {
      this.clock.clearTimeout(this._pingTimer);
      this._pingTimer = null;
    }
  }

  /** The messages every socket gets alike: `pong` (its round trip in `rtt`), `error`,
   * `announcement` and `reconnect` (the 1012 follows), each emitted as its own event. */
  _onShared(msg) {
    switch (msg.type) {
      case "pong":
        if (typeof msg.t === "number") this.rtt = this.clock.now() - msg.t;
        this.emit("pong", { ...msg, rtt: this.rtt });
        break;
      case "error":
      case "announcement":
      case "reconnect":
        this.emit(msg.type, msg);
        break;
      default:
        break;
    }
  }
}
