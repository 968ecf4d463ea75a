// The wire types of docs/protocol.md (REST bodies, match and lobby socket messages), and the
// small interfaces the SDK takes (WebSocket, fetch, clock). Types only: no runtime module.

// -- injected -------------------------------------------------------------------------------

/** The clock and timers the SDK uses; inject a fake one in tests. Times in ms. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What the SDK needs of a WebSocket: the browser's, or Node's `ws` package. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: any) => void) | null;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  /** Node's ws only. */
  terminate?(): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** What the SDK needs of `fetch`. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignalLike },
) => Promise<{
  ok: boolean;
  status: number;
  statusText: string;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

// -- REST -----------------------------------------------------------------------------------

/** `POST /v1/auth/guest`: a guest player and its token (24 h). */
export interface Player {
  player_id: string;
  name: string;
  token: string;
  expires_at: string;
}

/** A match's settings: the values of a mode's `settings_schema` properties, by name. */
export type Settings = Record<string, number | boolean | string>;

/** One setting a mode offers (a property of its `settings_schema`). */
export interface SettingSchema {
  type: "integer" | "number" | (string & {});
  minimum?: number;
  maximum?: number;
  default?: number | boolean | string;
  description?: string;
  [keyword: string]: unknown;
}

/** A mode's `settings_schema`: a JSON Schema object, each property with its `default`. */
export interface SettingsSchema {
  type: "object";
  properties?: Record<string, SettingSchema>;
  additionalProperties?: boolean;
  [keyword: string]: unknown;
}

/** A mode, as `GET /v1/modes` lists it. */
export interface Mode {
  name: string;
  version: number;
  min_players: number;
  max_players: number;
  tick_rate: number;
  teams: number;
  hides_information: boolean;
  /** JSON Schema of an input's fields besides `type` and `seq`. */
  input_schema: Record<string, unknown>;
  /** JSON Schema of the settings a lobby or a ticket may choose (`{}` for a mode without). */
  settings_schema: SettingsSchema;
}

/** What it takes to open a match socket. */
export interface MatchAccess {
  match_id: string;
  ws_path: string;
  token: string;
  expires_at: string;
}

export type TicketStatus = "searching" | "matched" | "cancelled" | "expired";

export interface Ticket {
  id: string;
  player_id: string;
  mode: string;
  /** the settings chosen, defaults filled in */
  settings: Settings;
  status: TicketStatus;
  created_at: string;
  match: MatchAccess | null;
}

export interface LobbyMember {
  player_id: string;
  name: string;
  ready: boolean;
}

export interface Lobby {
  id: string;
  name: string;
  mode: string;
  /** the match settings, defaults filled in */
  settings: Settings;
  host_id: string;
  max_players: number;
  status: "open" | "started" | "closed" | (string & {});
  members: LobbyMember[];
  created_at: string;
  /** Once started: the caller's match access (null for non-members). */
  match: MatchAccess | null;
  /** never listed; reachable by its members and by its `code` only */
  private: boolean;
  /** a private lobby's join code, for its members while it is open; else null */
  code: string | null;
  /** counts the lobby's changes: of two bodies of one lobby, the higher is the newer */
  revision: number;
  /** who may watch its match */
  spectators?: SpectatorPolicy;
}

/** `GET /v1/lobbies`: one page, oldest first; `next` is the `after` of the next page. */
export interface LobbyPage {
  lobbies: Lobby[];
  next: string | null;
}

export interface MatchPlayer {
  player_id: string;
  name: string;
  slot: number;
}

export type MatchStatus = "waiting" | "running" | "finished";

/** `GET /v1/matches/{id}`. */
export interface MatchInfo {
  id: string;
  mode: string;
  /** the settings the match plays by, defaults filled in */
  settings: Settings;
  status: MatchStatus;
  players: MatchPlayer[];
  /** who may watch it */
  spectators?: SpectatorPolicy;
  created_at: string;
  started_at?: string | null;
  finished_at?: string | null;
  result: Omit<ResultMessage, "type"> | null;
}

/** `GET /v1/matches/{id}/replay`: `inputs` are `[tick, slot, input message as received or null]`. */
export interface Replay {
  match_id: string;
  mode: string;
  mode_version: number;
  settings: Settings;
  seed: number;
  players: number;
  ticks: number;
  inputs: [number, number, InputMessage | null][];
}

// -- the match socket -----------------------------------------------------------------------

export interface WelcomeMessage {
  type: "welcome";
  match_id: string;
  player_id: string;
  /** your index */
  slot: number;
  mode: string;
  tick_rate: number;
  /** 0: every player for themself; T: slot s plays for team s % T */
  teams: number;
  status: MatchStatus;
  tick: number;
  /** the last input seq the server has from you */
  last_seq: number;
  players: { slot: number; player_id: string; name: string }[];
  /** the mode's constants, for prediction */
  config: Record<string, any>;
}

export interface WaitingMessage {
  type: "waiting";
  connected: number[];
  starts_in_ms: number;
}

export interface StartMessage {
  type: "start";
  tick: number;
}

/** A snapshot: the server's fields, then the mode's view (`View`). */
export type SnapshotMessage<View = Record<string, any>> = {
  type: "snapshot";
  tick: number;
  /** the last of your input seqs applied at or before this tick */
  ack: number;
  /** the slots whose players are connected */
  online: number[];
} & View;

/** The arena's view: `players` rows `[slot, x, y, aim, hp, score, alive]`. */
export interface ArenaView {
  left: number;
  players: [number, number, number, number, number, number, 0 | 1][];
  shots: [number, number, number, number, number, number][];
  events?: (["hit", number, number, number] | ["kill", number, number] | ["respawn", number])[];
}

export interface PongMessage {
  type: "pong";
  t: number;
  tick: number;
}

export interface ResultPlayer {
  player_id: string;
  name: string;
  slot: number;
  score: number;
  kills: number;
  deaths: number;
  shots: number;
  hits: number;
  rating_before: number;
  rating_after: number;
  [field: string]: unknown;
}

export interface ResultMessage {
  type: "result";
  match_id: string;
  winner: string | null;
  reason: string;
  tick: number;
  players: ResultPlayer[];
}

export interface ErrorMessage {
  type: "error";
  code: string;
  message: string;
  /** with `input_dropped`: the dropped input's seq */
  seq?: number;
}

export interface ReconnectMessage {
  type: "reconnect";
  reason: string;
}

// -- the spectator socket --------------------------------------------------------------------

/** `POST /v1/matches/{id}/spectate`: what it takes to open a spectator socket. */
export interface SpectateAccess {
  match_id: string;
  /** `/ws/matches/{id}/spectate` */
  ws_path: string;
  /** a spectate token (not a match token) */
  token: string;
  expires_at: string;
  /** true: the match runs or is about to; false: it is over, you watch its recording */
  live: boolean;
  /** live: how far behind the match the view runs */
  delay_ms: number;
  /** snapshots per second of match time */
  rate_hz: number;
  /** the watch code of a `link` match, given to its players to share; else null */
  code: string | null;
}

/** Who may watch a match (a lobby's `spectators`). */
export type SpectatorPolicy = "players" | "signed_in" | "link" | (string & {});

/** `{"type": "spectating"}`: a spectator socket's welcome. */
export interface SpectatingMessage {
  type: "spectating";
  match_id: string;
  mode: string;
  tick_rate: number;
  teams: number;
  players: { slot: number; player_id: string; name: string }[];
  config: Record<string, any>;
  live: boolean;
  /** waiting / running live; finished for a recording */
  status: MatchStatus;
  /** live: the match's tick now */
  tick: number;
  /** live: how far behind the match the view runs; 0 for a recording */
  delay_ms: number;
  /** snapshots per second of match time */
  rate_hz: number;
  /** a recording's playback speed; 1 live */
  speed: number;
  /** how many watch the match now */
  spectators: number;
}

/** `{"type": "spectators"}`: how many watch the match now (to its players too). */
export interface SpectatorsMessage {
  type: "spectators";
  count: number;
}

/**
 * A spectator's result: live, the players' own; a recording's as the replay played it
 * (`replayed: true`, no ratings).
 */
export interface SpectatorResultMessage extends Omit<ResultMessage, "players"> {
  players: (Omit<ResultPlayer, "rating_before" | "rating_after"> &
    Partial<Pick<ResultPlayer, "rating_before" | "rating_after">>)[];
  replayed?: boolean;
}

export type SpectatorServerMessage =
  | SpectatingMessage
  | SnapshotMessage
  | SpectatorsMessage
  | SpectatorResultMessage
  | PongMessage
  | ErrorMessage
  | ReconnectMessage
  | AnnouncementMessage;

export type ServerMessage =
  | WelcomeMessage
  | WaitingMessage
  | StartMessage
  | SnapshotMessage
  | PongMessage
  | ResultMessage
  | ErrorMessage
  | ReconnectMessage
  | SpectatorsMessage
  | MatchChatMessage
  | AnnouncementMessage;

/** An input as sent: the envelope and the mode's fields. */
export type InputMessage<Fields = Record<string, unknown>> = { type: "input"; seq: number } & Fields;

/** The arena's input fields. */
export interface ArenaInput {
  dx: number;
  dy: number;
  aim: number;
  fire: boolean;
}

// -- the lobby socket -----------------------------------------------------------------------

/** What a `lobby` push says happened (`snapshot`: the lobby as it is, on connect). */
export type LobbyEventName =
  | "snapshot"
  | "joined"
  | "left"
  | "ready"
  | "settings"
  | "started"
  | "closed"
  | (string & {});

/** `{"type": "lobby"}`: the lobby as `GET /v1/lobbies/{id}` gives it to you. */
export interface LobbyMessage {
  type: "lobby";
  event: LobbyEventName;
  lobby: Lobby;
}

/** A member's line (yours included). Plain text: show it with textContent, never as HTML. */
export interface ChatMessage {
  type: "chat";
  player_id: string;
  name: string;
  /** trimmed, 1..200 characters, as written (`<b>` and all) */
  text: string;
  /** ISO 8601, UTC */
  at: string;
}

/**
 * A player's line in a match (yours included): `slot` says whose, `team` whether it was
 * for the sender's team only. Never to spectators. Plain text: show it with textContent.
 */
export interface MatchChatMessage extends ChatMessage {
  /** the sender's slot */
  slot: number;
  /** true: a line for the sender's team only */
  team: boolean;
}

/** What `MatchSession.chat` sends: `team` only when true. */
export interface MatchChatRequest {
  type: "chat";
  /** trimmed, 1..200 characters */
  text: string;
  team?: true;
}

/** A word from the operators (on lobby and match sockets). */
export interface AnnouncementMessage {
  type: "announcement";
  text: string;
  at: string;
}

export interface LobbyPongMessage {
  type: "pong";
  t: number;
}

export type LobbyServerMessage =
  | LobbyMessage
  | ChatMessage
  | AnnouncementMessage
  | LobbyPongMessage
  | ErrorMessage
  | ReconnectMessage;
