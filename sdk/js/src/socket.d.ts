import { Emitter } from "./emitter.js";
import { ReconnectPolicy } from "./policy.js";
import type { Clock, WebSocketConstructor, WebSocketLike } from "./types.js";

export const OPEN: number;
export const DEFAULT_OPEN_TIMEOUT_MS: number;

/** Parse a frame's JSON: text, or binary UTF-8. */
export function decodeFrame(data: unknown): any;

export interface DropEvent {
  /** the close code; 1006 for a socket given up on (silence, handshake timeout) */
  code: number;
  reason: string;
  /** a refused handshake's HTTP status (Node's ws only), else null */
  httpStatus: number | null;
}

export interface ReconnectingEvent {
  /** n of the protocol's back-off, from 0 since the last welcome */
  attempt: number;
  /** ms until the attempt */
  delay: number;
  /** the close that led here */
  code: number;
  reason: string;
  /** a fresh match token is fetched first (after a 4001) */
  refresh: boolean;
}

export interface ClosedEvent {
  /** the final close code */
  code: number;
  reason: string;
  /** true when the policy gave up (30 s without a welcome) */
  gaveUp: boolean;
  httpStatus: number | null;
}

export interface SocketEvents {
  open: { pod: string | null; socket: number };
  message: Record<string, any>;
  garbage: { data: unknown };
  drop: DropEvent;
  reconnecting: ReconnectingEvent;
  closed: ClosedEvent;
  failure: { error: unknown };
}

export interface ReconnectingSocketOptions {
  url: string | (() => string);
  protocols?: string[] | (() => string[]);
  /** default globalThis.WebSocket (Node 20 has none: pass ws's) */
  WebSocket?: WebSocketConstructor;
  /** before an attempt that follows a 4001; a 4xx ApiError from it ends the attempts.
   * Without it, a 4001 is final (the same token would be refused again). */
  refresh?: () => Promise<unknown>;
  clock?: Clock;
  random?: () => number;
  /** 30 000 */
  giveUpMs?: number;
  /** a handshake with no answer, or an open socket without its welcome, is given up after this long; 5000 */
  openTimeoutMs?: number;
  /** the ping the silence rule sends (null: none); default {type: "ping", t} */
  ping?: (t: number) => object | null;
  /** the silence rule's times instead of a match's (500 ms, then 1 s or 3 ticks) */
  silence?: { pingAfterMs: number; deadAfterMs: number };
}

/**
 * A WebSocket kept connected by the reconnect policy of docs/protocol.md; the protocol
 * layer on top decodes messages and calls `markWelcomed` at each welcome.
 */
export class ReconnectingSocket extends Emitter<SocketEvents> {
  constructor(options: ReconnectingSocketOptions);
  options: ReconnectingSocketOptions;
  clock: Clock;
  policy: ReconnectPolicy;
  openTimeoutMs: number;
  silence: { pingAfterMs: number; deadAfterMs: number };
  state: "idle" | "connecting" | "open" | "backoff" | "refreshing" | "closed";
  ws: WebSocketLike | null;
  /** the serving pod (`x-skirmish-pod`), where the WebSocket shows handshake headers */
  pod: string | null;
  lastClose: DropEvent | null;
  closeEvent: ClosedEvent | null;
  /** sockets opened so far */
  sockets: number;
  readonly isOpen: boolean;
  connect(): this;
  markWelcomed(): void;
  setTickRate(tickRate: number | null | undefined): void;
  /** The silence rule's times from now on (a feed slower than a match's). */
  setSilence(times: { pingAfterMs: number; deadAfterMs: number }): void;
  send(message: unknown): boolean;
  sendRaw(data: string | ArrayBufferLike | ArrayBufferView): boolean;
  /** Break the current socket as a network failure would (1006): it reconnects. */
  drop(reason?: string): boolean;
  close(code?: number, reason?: string): void;
}
