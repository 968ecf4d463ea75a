import { PendingInputs } from "./pending.js";
import { SocketSession } from "./session.js";
import { ClosedEvent, DropEvent, ReconnectingEvent } from "./socket.js";
import type {
  AnnouncementMessage,
  Clock,
  ErrorMessage,
  InputMessage,
  MatchAccess,
  MatchChatMessage,
  MatchInfo,
  PongMessage,
  ReconnectMessage,
  ResultMessage,
  ServerMessage,
  SnapshotMessage,
  SpectatorsMessage,
  StartMessage,
  WaitingMessage,
  WebSocketConstructor,
  WelcomeMessage,
} from "./types.js";

export const SUBPROTOCOL: "skirmish.v1";
export function matchProtocols(token: string): [string, string];
/** A chat line (a lobby's or a match's) is 1..200 characters once trimmed. */
export const CHAT_MAX_CHARS: number;
/** `text` trimmed; TypeError if no string, RangeError unless 1..200 characters once trimmed. */
export function chatLine(text: string): string;

export interface MatchClosedEvent extends ClosedEvent {
  /** the result: as it came, or (after a 1000 or 4010 without one) from GET /v1/matches/{id} */
  result: ResultMessage | null;
}

export interface MatchEvents<View, Input> {
  open: { pod: string | null; socket: number };
  welcome: WelcomeMessage;
  waiting: WaitingMessage;
  start: StartMessage;
  snapshot: SnapshotMessage<View>;
  result: ResultMessage;
  error: ErrorMessage;
  /** how many watch the match now (at most once a second, when it changed) */
  spectators: SpectatorsMessage;
  /** a player's line (yours included; `team`: for the sender's team only). Plain text. */
  chat: MatchChatMessage;
  /** a word from the operators */
  announcement: AnnouncementMessage;
  pong: PongMessage & { rtt: number | null };
  /** the server's notice that the pod goes away (1012 follows) */
  reconnect: ReconnectMessage;
  /** every message, after its own event */
  message: ServerMessage;
  /** an input sent (not its resends) */
  input: { seq: number; fields: Input; message: InputMessage<Input> };
  /** inputs sent again after a welcome */
  resent: { seqs: number[]; lastSeq: number };
  /** a socket ended (the policy decides what follows) */
  drop: DropEvent;
  reconnecting: ReconnectingEvent;
  /** a fresh match token was fetched (after a 4001) */
  token: MatchAccess;
  /** the session is over for good */
  closed: MatchClosedEvent;
}

export interface MatchSessionOptions {
  access: MatchAccess;
  /** the socket's URL, or a function of the current access */
  url: string | ((access: MatchAccess) => string);
  /** default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** after a 4001: a fresh access (POST /v1/matches/{id}/token) */
  refreshToken?: (matchId: string) => Promise<MatchAccess>;
  /** after a 1000 or 4010 without a result: the match as GET /v1/matches/{id} has it */
  fetchMatch?: (matchId: string) => Promise<MatchInfo>;
  clock?: Clock;
  random?: () => number;
  /** 30 000: without a welcome for this long, the session ends */
  giveUpMs?: number;
  /** 5000: a handshake, or a socket's wait for its welcome, given up after this long */
  openTimeoutMs?: number;
  /** also ping every this many ms (RTT; keeps a silent player from 4008); 0: off */
  pingIntervalMs?: number;
  /** unacknowledged inputs kept at most (512) */
  maxPending?: number;
}

/**
 * A match: its socket, kept connected by the reconnect policy, and the protocol around it
 * (welcome, inputs and their seqs, pending inputs and their resend, pings).
 */
export class MatchSession<
  View = Record<string, any>,
  Input = Record<string, unknown>,
> extends SocketSession<MatchEvents<View, Input>> {
  constructor(options: MatchSessionOptions);
  options: MatchSessionOptions;
  clock: Clock;
  access: MatchAccess;
  readonly matchId: string;
  status: "connecting" | "waiting" | "running" | "finished";
  welcome: WelcomeMessage | null;
  slot: number | null;
  tickRate: number | null;
  config: Record<string, any>;
  players: WelcomeMessage["players"];
  /** the last seq used */
  seq: number;
  /** the last snapshot's ack */
  ack: number;
  lastSnapshot: SnapshotMessage<View> | null;
  result: ResultMessage | null;
  /** ms, from the last pong */
  rtt: number | null;
  /** how many watch the match, as the server last said (null until it does) */
  spectators: number | null;
  pending: PendingInputs;
  /** seqs the server reported with `input_dropped` */
  dropped: number[];
  stats: { welcomes: number; resent: number; snapshots: number; inputs: number };
  /** resolves at the first welcome; rejects with MatchClosedError if it ends before */
  ready: Promise<WelcomeMessage>;
  /** resolves when the session is over for good */
  done: Promise<MatchClosedEvent>;
  readonly canSend: boolean;
  /** Send the next input (the mode's fields); its seq, or null when not connected. */
  sendInput(fields: Input): number | null;
  /**
   * Say a line (trimmed, 1..200 characters, else RangeError) to the match's players, or
   * with `{team: true}` to your team (RangeError if the welcome said the mode has none).
   * True when sent; false when no welcomed socket is open: the line is dropped, never
   * kept for a resend after a reconnect.
   */
  chat(text: string, options?: { team?: boolean }): boolean;
  /** Send a ping (clock ms); null when not connected. */
  ping(): number | null;
  send(message: unknown): boolean;
  /** Leave: close with 1000, no reconnect. */
  close(code?: number, reason?: string): void;
}
