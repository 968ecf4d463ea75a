import { LobbyRoom, LobbyRoomOptions } from "./lobby.js";
import { MatchSession, MatchSessionOptions } from "./match.js";
import { Spectator, SpectatorOptions } from "./spectator.js";
import type {
  AbortSignalLike,
  Clock,
  FetchLike,
  Lobby,
  LobbyPage,
  MatchAccess,
  MatchInfo,
  Mode,
  Player,
  Replay,
  Settings,
  SpectateAccess,
  SpectatorPolicy,
  Ticket,
  WebSocketConstructor,
} from "./types.js";

export const TICKET_POLL_MS: number;
export const LOBBY_POLL_MS: number;
export const MIN_POLL_MS: number;
export const MAX_POLL_MS: number;
export const MAX_RETRY_AFTER_MS: number;

export { LobbyError } from "./errors.js";

export interface ClientOptions {
  /** a player token from an earlier `guest` */
  token?: string;
  /** default globalThis.fetch */
  fetch?: FetchLike;
  /** default globalThis.WebSocket (Node 20 has none: pass the ws package's) */
  WebSocket?: WebSocketConstructor;
  /** retries of a 429, each after its Retry-After (3) */
  maxRetries?: number;
  /** the longest Retry-After honoured (10 000 ms) */
  maxRetryAfterMs?: number;
  clock?: Clock;
  /** defaults for every session this client opens */
  session?: Partial<Omit<MatchSessionOptions, "access">>;
}

export interface WaitOptions {
  /** ms between polls: tickets 250–500 (300), lobbies ≥ 250 (500) */
  pollMs?: number;
  /** 60 000 */
  timeoutMs?: number;
  signal?: AbortSignalLike;
}

export type LobbyRoomClientOptions = Partial<Omit<LobbyRoomOptions, "lobbyId">>;

export type SessionOptions = Partial<Omit<MatchSessionOptions, "access">>;

export interface SpectateOptions extends Partial<Omit<SpectatorOptions, "access" | "speed">> {
  /** a `link` match's watch code */
  code?: string | null;
  /** a recording's playback speed, 0.25 to 16 (RangeError otherwise); live matches play at 1 */
  speed?: number | null;
}

/** One player's session with a Skirmish server: the REST calls and the match sockets. */
export class SkirmishClient {
  /** `baseUrl` e.g. "http://127.0.0.1:8000"; "" in a page: its own origin. */
  constructor(baseUrl?: string, options?: ClientOptions);
  baseUrl: string;
  /** the player token sent as `Authorization: Bearer` */
  token: string | null;
  player: Player | null;
  maxRetries: number;
  clock: Clock;
  WebSocket: WebSocketConstructor | null;

  /** Call the API; retries 429 after Retry-After; ApiError on an error status. */
  request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    options?: { signal?: AbortSignalLike },
  ): Promise<T>;

  guest(name?: string): Promise<Player>;
  modes(): Promise<Mode[]>;

  /** Queue with `settings` (the mode's `settings_schema`; defaults for those left out). */
  createTicket(mode?: string, options?: { settings?: Settings | null }): Promise<Ticket>;
  getTicket(ticketId: string): Promise<Ticket>;
  cancelTicket(ticketId: string): Promise<Ticket>;
  /** Poll until matched; cancels on abort or timeout. */
  waitForMatch(ticket: Ticket, options?: WaitOptions & { onTicket?: (ticket: Ticket) => void }): Promise<MatchAccess>;
  /** Create a ticket and wait for its match. */
  queue(
    mode?: string,
    options?: WaitOptions & { settings?: Settings | null; onTicket?: (ticket: Ticket) => void },
  ): Promise<MatchAccess>;

  /** `private`: never listed; its members see its `code`, which others join it by. */
  createLobby(options?: {
    mode?: string;
    name?: string;
    maxPlayers?: number;
    settings?: Settings | null;
    private?: boolean;
    /** who may watch its match: players, signed_in (the server's default) or link */
    spectators?: SpectatorPolicy;
  }): Promise<Lobby>;
  /** Join the open private lobby holding `code` (any case); ApiError 404 if none. */
  joinLobbyByCode(code: string): Promise<Lobby>;
  listLobbies(options?: { limit?: number; after?: string | null }): Promise<LobbyPage>;
  listAllLobbies(options?: { pageSize?: number }): Promise<Lobby[]>;
  getLobby(lobbyId: string): Promise<Lobby>;
  joinLobby(lobbyId: string): Promise<Lobby>;
  leaveLobby(lobbyId: string): Promise<Lobby>;
  setReady(lobbyId: string, ready?: boolean): Promise<Lobby>;
  /** Host only, while open: new settings (defaults for those left out); clears ready marks. */
  setLobbySettings(lobbyId: string, settings: Settings): Promise<Lobby>;
  startLobby(lobbyId: string): Promise<Lobby>;
  waitLobbyStarted(lobbyId: string, options?: WaitOptions & { onLobby?: (lobby: Lobby) => void }): Promise<MatchAccess>;

  getMatch(matchId: string): Promise<MatchInfo>;
  matchToken(matchId: string): Promise<MatchAccess>;
  /** A finished match's recording, for whoever may watch it (`code`: a link match's). */
  replay(matchId: string, options?: { code?: string }): Promise<Replay>;

  /**
   * POST /v1/matches/{id}/spectate: live while the match runs, its recording once over.
   * As one of its players, the access's `code` is the watch code to share (a `link` match).
   * ApiError 403 (not allowed, or a wrong code), 404, 409 (finished without a recording).
   */
  spectateAccess(matchId: string, options?: { code?: string | null }): Promise<SpectateAccess>;
  /** Watch a match: its spectate access, then a Spectator connecting on its socket. */
  spectate<View = Record<string, any>>(matchId: string, options?: SpectateOptions): Promise<Spectator<View>>;
  /** A Spectator for an access, not yet connected (fresh accesses after a 4001 with the same code). */
  spectator<View = Record<string, any>>(access: SpectateAccess, options?: SpectateOptions): Spectator<View>;
  /** The socket URL of an access: `?speed=` added for a recording when a speed is given. */
  spectateUrl(access: SpectateAccess, speed?: number | null): string;

  wsUrl(wsPath: string): string;
  /**
   * A member's lobby room (`/ws/lobbies/{id}`), connecting at once with this client's
   * player token; `lobby`: its id, or the lobby a REST call answered with.
   */
  lobbyRoom(lobby: string | Lobby, options?: LobbyRoomClientOptions): LobbyRoom;
  /** A session for `access`, connecting at once (fresh tokens after a 4001 through this client). */
  connect<View = Record<string, any>, Input = Record<string, unknown>>(
    access: MatchAccess,
    options?: SessionOptions,
  ): MatchSession<View, Input>;
  /** As `connect`, not yet connected. */
  session<View = Record<string, any>, Input = Record<string, unknown>>(
    access: MatchAccess,
    options?: SessionOptions,
  ): MatchSession<View, Input>;
}
