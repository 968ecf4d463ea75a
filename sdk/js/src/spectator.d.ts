import { SnapshotBuffer } from "./interpolation.js";
import { SocketSession } from "./session.js";
import type { ClosedEvent, DropEvent, ReconnectingEvent } from "./socket.js";
import type {
  AnnouncementMessage,
  Clock,
  ErrorMessage,
  MatchInfo,
  PongMessage,
  ReconnectMessage,
  SnapshotMessage,
  SpectateAccess,
  SpectatingMessage,
  SpectatorResultMessage,
  SpectatorServerMessage,
  SpectatorsMessage,
  WebSocketConstructor,
} from "./types.js";

/** The keepalive ping's period, 20 000 ms (the server closes a spectator silent for 60 s). */
export const SPECTATOR_PING_MS: number;
/** A ping unanswered this long (2000 ms, no frame at all) means a dead socket. */
export const SPECTATOR_PONG_TIMEOUT_MS: number;
/** Snapshot periods without a frame before a ping, once the snapshots flow (3). */
export const SPECTATOR_QUIET_PERIODS: number;
/** A recording's playback speeds: 0.25 to 16. */
export const MIN_SPEED: number;
export const MAX_SPEED: number;

/** `/ws/matches/{id}/spectate` */
export function spectatePath(matchId: string): string;
/** A snapshot's period on the viewer's clock: 1000 / (rate_hz × speed) ms. */
export function snapshotPeriodMs(spectating?: { rate_hz?: number; speed?: number }): number;
/**
 * The silence rule of a spectator socket. Once its snapshots flow (`flowing`): a ping after
 * max(1 s, 3 snapshot periods) without a frame, dead 2 s later if nothing came (the pong
 * included: the server answers at once, so a paused match is no dead socket). Before its
 * first snapshot (the delay, or a match waiting for its players): the first ping only after
 * max(that, delay_ms + 1 s) without a frame, dead 2 s after it: `delay_ms` + 1 s of silence
 * is never taken for a dead socket.
 */
export function spectatorSilence(
  spectating: { rate_hz?: number; speed?: number; delay_ms?: number } | null | undefined,
  flowing: boolean,
): { pingAfterMs: number; deadAfterMs: number };
/** A playback speed as asked (0.25 to 16, else RangeError); null for none. */
export function checkSpeed(speed: number | null | undefined): number | null;

export interface SpectatorClosedEvent extends ClosedEvent {
  /** the result: as it came, or (after the server's 1000 or a 4010 without one) from GET /v1/matches/{id} */
  result: SpectatorResultMessage | null;
}

export interface SpectatorEvents<View> {
  open: { pod: string | null; socket: number };
  /** each socket's welcome */
  spectating: SpectatingMessage;
  /** the spectator view (`ack` 0), also pushed into `buffer` */
  snapshot: SnapshotMessage<View>;
  /** how many watch now */
  spectators: SpectatorsMessage;
  result: SpectatorResultMessage;
  error: ErrorMessage;
  pong: PongMessage & { rtt: number | null };
  /** the server's notice that the pod goes away (1012 follows) */
  reconnect: ReconnectMessage;
  announcement: AnnouncementMessage;
  /** every message, after its own event */
  message: SpectatorServerMessage;
  /** a socket ended (the policy decides what follows) */
  drop: DropEvent;
  reconnecting: ReconnectingEvent;
  /** a fresh spectate access was fetched (after a 4001) */
  access: SpectateAccess;
  /** the spectator is done for good */
  closed: SpectatorClosedEvent;
}

export interface SpectatorOptions {
  access: SpectateAccess;
  /** the socket's URL (with `?speed=` for a recording), or a function of the current access */
  url: string | ((access: SpectateAccess) => string);
  /** a recording's playback speed (0.25 to 16), as the URL asks it; kept for reference */
  speed?: number | null;
  WebSocket?: WebSocketConstructor;
  /** after a 4001: a fresh spectate access (POST /v1/matches/{id}/spectate); without it a 4001 is final */
  refreshAccess?: (matchId: string) => Promise<SpectateAccess>;
  /** after the server's 1000 or a 4010 without a result: GET /v1/matches/{id} */
  fetchMatch?: (matchId: string) => Promise<MatchInfo>;
  clock?: Clock;
  random?: () => number;
  /** 30 000: without a `spectating` for this long, the spectator ends */
  giveUpMs?: number;
  /** 5000: a handshake, or a socket's wait for its `spectating` */
  openTimeoutMs?: number;
  /** the keepalive ping's period, 20 000; 0: off (the server closes a silent spectator after 60 s) */
  pingIntervalMs?: number;
  /** a buffer of your own (its delay yours too); by default one timed for the feed */
  buffer?: SnapshotBuffer<SnapshotMessage<any>>;
}

/**
 * One spectator socket, kept connected by the reconnect policy: a running match live
 * behind its delay, or a finished one from its recording. Sends nothing but pings; has no
 * `send`. Its snapshots go into `buffer`, timed for the feed's pace.
 */
export class Spectator<View = Record<string, any>> extends SocketSession<SpectatorEvents<View>> {
  constructor(options: SpectatorOptions);
  options: SpectatorOptions;
  clock: Clock;
  access: SpectateAccess;
  readonly matchId: string;
  /** the playback speed asked (null: none, the server plays at 1) */
  speed: number | null;
  /** connecting | waiting (for the match's players) | running (the feed plays) | finished (the result came) */
  status: "connecting" | "waiting" | "running" | "finished";
  /** the last `spectating` */
  welcome: SpectatingMessage | null;
  /** always null: a spectator has no seat */
  slot: null;
  mode: string | null;
  tickRate: number | null;
  teams: number;
  config: Record<string, any>;
  players: SpectatingMessage["players"];
  /** true: a running match, `delayMs` behind; false: a recording; null until known */
  live: boolean | null;
  delayMs: number;
  rateHz: number | null;
  /** how many watch the match, as the server last said */
  spectators: number | null;
  lastSnapshot: SnapshotMessage<View> | null;
  result: SpectatorResultMessage | null;
  /** ms, from the last pong */
  rtt: number | null;
  /**
   * The snapshots on this spectator's clock, at the playback's pace (tick rate × speed),
   * drawn two snapshot periods in the past; cleared at each `spectating`.
   */
  buffer: SnapshotBuffer<SnapshotMessage<View>>;
  stats: { welcomes: number; snapshots: number; pings: number };
  pingIntervalMs: number;
  /** resolves at the first `spectating`; rejects with MatchClosedError if it ends before */
  ready: Promise<SpectatingMessage>;
  /** resolves when the spectator is done for good */
  done: Promise<SpectatorClosedEvent>;
  /** Send a ping (clock ms); null when not connected. */
  ping(): number | null;
  /** Stop watching: close with 1000, no reconnect. */
  close(code?: number, reason?: string): void;
}
