import { SocketSession } from "./session.js";
import type { ClosedEvent, DropEvent, ReconnectingEvent } from "./socket.js";
import type {
  AnnouncementMessage,
  ChatMessage,
  Clock,
  ErrorMessage,
  Lobby,
  LobbyEventName,
  LobbyServerMessage,
  MatchAccess,
  ReconnectMessage,
  WebSocketConstructor,
} from "./types.js";

export const CHAT_MAX_CHARS: number;
export const LOBBY_PING_MS: number;
export const LOBBY_PONG_TIMEOUT_MS: number;

/** `/ws/lobbies/{id}` */
export function lobbyPath(lobbyId: string): string;
/** True when both have a revision and `lobby`'s is lower. */
export function isOlderLobby(lobby: Lobby | null | undefined, than: Lobby | null | undefined): boolean;

/** Why a room ended. */
export type LobbyOutcome = "started" | "closed" | "left" | "cancelled" | "socket_closed";

export interface LobbyRoomClosedEvent extends ClosedEvent {
  /**
   * started (the match is on: `match`), closed (the last member left), left (you are no
   * longer a member: the 1000 after your leave, or a 4003/4004 on coming back after a
   * snapshot), cancelled (you closed the room), socket_closed (the socket ended for good
   * otherwise: `code` says why, e.g. 4001, 4003, 4004, 4029; `gaveUp` after 30 s of tries)
   */
  outcome: LobbyOutcome;
  /** the newest lobby the room saw */
  lobby: Lobby | null;
  /** this member's match access, once started */
  match: MatchAccess | null;
}

export interface LobbyEvent {
  /** the push's event, or "rest" for a lobby given to `apply` */
  event: LobbyEventName | "rest";
  /** the room's lobby now (never older than before) */
  lobby: Lobby;
}

export interface LobbyRoomEvents {
  open: { pod: string | null; socket: number };
  lobby: LobbyEvent;
  chat: ChatMessage;
  announcement: AnnouncementMessage;
  error: ErrorMessage;
  pong: { type: "pong"; t: number; rtt: number | null };
  reconnect: ReconnectMessage;
  reconnecting: ReconnectingEvent;
  drop: DropEvent;
  message: LobbyServerMessage;
  closed: LobbyRoomClosedEvent;
}

export interface LobbyRoomOptions {
  lobbyId: string;
  /** the socket's URL (ws:// or wss://) */
  url: string | (() => string);
  /** the player token (not a match token) */
  token: string | (() => string | null);
  /** this member, to tell a `left` that removed you */
  playerId?: string;
  /** the lobby a REST call answered with: where the room starts from */
  lobby?: Lobby;
  WebSocket?: WebSocketConstructor;
  clock?: Clock;
  random?: () => number;
  /** 30 000: no snapshot for this long ends the room (`gaveUp`) */
  giveUpMs?: number;
  /** 5000 */
  openTimeoutMs?: number;
  /** the keepalive ping's period, 25 000 (the server closes a socket silent for 60 s) */
  pingIntervalMs?: number;
  /** no frame for pingIntervalMs + this (10 000): the socket is dead, reconnect */
  pongTimeoutMs?: number;
  /** a fresh player token after a 4001; without it a 4001 is final */
  refreshToken?: () => Promise<unknown>;
}

/**
 * One member's lobby socket, kept connected by the reconnect policy: the lobby pushed at
 * every change (newest by `revision`), chat, announcements; ends with the server's 1000
 * after `started` (your match access in `match`, `started` resolves with it).
 */
export class LobbyRoom extends SocketSession<LobbyRoomEvents> {
  constructor(options: LobbyRoomOptions);
  options: LobbyRoomOptions;
  lobbyId: string;
  clock: Clock;
  playerId: string | null;
  /** the newest lobby seen: pushed, or given to `apply` */
  lobby: Lobby | null;
  /** this member's match access, once started */
  match: MatchAccess | null;
  outcome: LobbyOutcome | null;
  /** ms, from the last pong */
  rtt: number | null;
  stats: { snapshots: number; pushes: number; stale: number; chat: number; pings: number };
  pingIntervalMs: number;
  /** the first snapshot's lobby; rejects with a LobbyError if the room ends first */
  ready: Promise<Lobby>;
  /** this member's match access once the lobby starts; a LobbyError if it ends otherwise */
  started: Promise<MatchAccess>;
  /** the `closed` event */
  done: Promise<LobbyRoomClosedEvent>;
  /** Send a chat line (trimmed, 1..200 characters, else RangeError); false when not connected. */
  say(text: string): boolean;
  ping(): number | null;
  /** Keep a lobby a REST call answered with, unless older; true when kept. */
  apply(lobby: Lobby, event?: string): boolean;
  close(code?: number, reason?: string): void;
}
