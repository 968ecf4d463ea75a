// What a match session, a lobby room and a spectator share: one ReconnectingSocket (the
// reconnect policy of docs/protocol.md), its events handed to the subclass's handlers, the
// `ready` / `done` promises, and the connection state as an app shows it.
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
}
