/** Base class of the SDK's errors. */
export class SkirmishError extends Error {
  constructor(message: string);
}

/**
 * A REST call answered with an error status (`{"error": {"code", "message"}}`), or got no
 * answer (`status` 0, `code` "network"). `retryAfter` (s): a 429 that ran out of retries.
 */
export class ApiError extends SkirmishError {
  constructor(status: number, code: string, message: string, retryAfter?: number | null);
  status: number;
  code: string;
  retryAfter: number | null;
}

/** A ticket ended without a match (`cancelled`, `expired`) or the wait ended (`timeout`). */
export class MatchmakingError extends SkirmishError {
  constructor(status: string, ticket?: import("./types.js").Ticket | null);
  status: string;
  ticket: import("./types.js").Ticket | null;
}

/** A lobby wait (polled, or a LobbyRoom's `started`) that cannot end with a seat. */
export class LobbyError extends SkirmishError {
  constructor(status: string, lobby?: import("./types.js").Lobby | null, code?: number | null);
  /** "started_without_you" | "left" | "closed" | "timeout" | "cancelled" | "socket_closed" */
  status: string;
  lobby: import("./types.js").Lobby | null;
  /** with "socket_closed": the lobby socket's final close code */
  code: number | null;
}

/** A match session ended for good before its welcome (`ready` rejects with it). */
export class MatchClosedError extends SkirmishError {
  constructor(code: number, reason?: string);
  code: number;
  reason: string;
}

export class AbortError extends SkirmishError {
  constructor(message?: string);
}
