// The SDK's errors. docs/protocol.md: REST errors are {"error": {"code", "message"}}.

/** Base class of the SDK's errors. */
export class SkirmishError extends Error {
  constructor(message) {
    super(message);
    this.name = "SkirmishError";
  }
}

/**
 * A REST call answered with an error status (or never got an answer: `status` 0, code
 * `network`). `retryAfter` (seconds) is set for a 429 that ran out of retries.
 */
export class ApiError extends SkirmishError {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** A ticket ended without a match (`cancelled`, `expired`), or the wait was given up. */
export class MatchmakingError extends SkirmishError {
  constructor(status, ticket = null) {
    super(`matchmaking failed: ticket ${status}`);
    this.name = "MatchmakingError";
    this.status = status;
    this.ticket = ticket;
  }
}

/**
 * A lobby wait (polled, or a LobbyRoom's `started`) that cannot end with a seat: `status`
 * `started_without_you`, `left` (you are no longer a member), `closed` (the lobby closed),
 * `timeout`, `cancelled` (the room was closed by its owner) or `socket_closed` (the
 * lobby socket ended for good: `code` has its close code).
 */
export class LobbyError extends SkirmishError {
  constructor(status, lobby = null, code = null) {
    super(`lobby wait failed: ${status}${code ? ` (${code})` : ""}`);
    this.name = "LobbyError";
    this.status = status;
    this.lobby = lobby;
    this.code = code;
  }
}

/** A match socket ended for good (the session's `ready` promise rejects with it). */
export class MatchClosedError extends SkirmishError {
  constructor(code, reason = "") {
    super(`match socket closed: ${code}${reason ? ` ${reason}` : ""}`);
    this.name = "MatchClosedError";
    this.code = code;
    this.reason = reason;
  }
}

/** The wait was aborted through an AbortSignal. */
export class AbortError extends SkirmishError {
  constructor(message = "aborted") {
    super(message);
    this.name = "AbortError";
  }
}
