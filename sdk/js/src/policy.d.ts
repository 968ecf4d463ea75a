/** The reconnect policy of docs/protocol.md ("### Reconnecting"), as pure decisions. */

export const RECONNECT_CODES: readonly number[];
export const REFRESH_CODES: readonly number[];
export const FINAL_CODES: readonly number[];
export const BACKOFF_BASE_MS: number;
export const BACKOFF_MAX_MS: number;
export const RESTART_FIRST_DELAY_MS: number;
export const GIVE_UP_MS: number;
export const PING_AFTER_MS: number;
export const SILENCE_MS: number;
export const SILENCE_TICKS: number;
export const ABNORMAL_CLOSE: number;

export type CloseAction = "reconnect" | "refresh" | "final";

/**
 * What a close calls for. A handshake refused with an HTTP status below 500 (Node only) is
 * final; codes the document does not list are final.
 */
export function closeAction(
  code: number | null | undefined,
  handshake?: { httpStatus?: number | null },
): CloseAction;

/** uniform(0.5, 1) × min(4 s, 250 ms × 2^attempt); at most 250 ms after a 1012. */
export function backoffDelay(
  attempt: number,
  options?: { random?: () => number; afterRestart?: boolean },
): number;

/** Ping after 500 ms without a frame; dead after max(1 s, 3 ticks). */
export function silenceTimes(tickRate: number | null | undefined): {
  pingAfterMs: number;
  deadAfterMs: number;
};

export type Decision =
  | { action: "final"; reason: "close" | "gave_up" }
  | { action: "reconnect"; attempt: number; delay: number; refresh: boolean };

/** The attempt counter and the 30 s deadline across one session's sockets. */
export class ReconnectPolicy {
  constructor(options?: { random?: () => number; giveUpMs?: number });
  random: () => number;
  giveUpMs: number;
  /** attempts since the last welcome */
  attempt: number;
  /** when the client gives up without a welcome (ms), or null while it has one */
  deadline: number | null;
  /** the last close was a 4001: fetch a fresh token before the next attempt */
  needsToken: boolean;
  welcomed(): void;
  started(now: number): void;
  expired(now: number): boolean;
  /** A close at `now`: what next (counts the attempt). */
  decide(code: number, now: number, handshake?: { httpStatus?: number | null }): Decision;
}
