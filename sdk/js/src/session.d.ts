import { Emitter } from "./emitter.js";
import { ReconnectingSocket } from "./socket.js";

/** What MatchSession, LobbyRoom and Spectator share: one socket under the reconnect policy. */
export class SocketSession<Events extends Record<string, any> = Record<string, any>> extends Emitter<Events> {
  socket: ReconnectingSocket;
  readonly connection: "connecting" | "open" | "reconnecting" | "closed";
  readonly pod: string | null;
  /** Open the socket; `ready` resolves at its first message. */
  connect(): this;
  /** Close the socket (1000) for good: no reconnect. */
  close(code?: number, reason?: string): void;
}
