// @skirmish/sdk: the JavaScript client of Skirmish (docs/protocol.md).

export { SkirmishClient, LobbyError, TICKET_POLL_MS, LOBBY_POLL_MS } from "./client.js";
export type {
  ClientOptions,
  WaitOptions,
  SessionOptions,
  LobbyRoomClientOptions,
  SpectateOptions,
} from "./client.js";
export { MatchSession, SUBPROTOCOL, matchProtocols, chatLine } from "./match.js";
export {
  LobbyRoom,
  lobbyPath,
  isOlderLobby,
  CHAT_MAX_CHARS,
  LOBBY_PING_MS,
  LOBBY_PONG_TIMEOUT_MS,
} from "./lobby.js";
export type { MatchEvents, MatchSessionOptions, MatchClosedEvent } from "./match.js";
export type {
  LobbyRoomOptions,
  LobbyRoomEvents,
  LobbyRoomClosedEvent,
  LobbyEvent,
  LobbyOutcome,
} from "./lobby.js";
export {
  Spectator,
  spectatePath,
  spectatorSilence,
  snapshotPeriodMs,
  SPECTATOR_PING_MS,
} from "./spectator.js";
export type { SpectatorEvents, SpectatorOptions, SpectatorClosedEvent } from "./spectator.js";
export { ReconnectingSocket, decodeFrame } from "./socket.js";
export { SocketSession } from "./session.js";
export type {
  ReconnectingSocketOptions,
  SocketEvents,
  DropEvent,
  ReconnectingEvent,
  ClosedEvent,
} from "./socket.js";
export {
  ReconnectPolicy,
  closeAction,
  backoffDelay,
  silenceTimes,
  RECONNECT_CODES,
  REFRESH_CODES,
  FINAL_CODES,
  GIVE_UP_MS,
} from "./policy.js";
export type { CloseAction, Decision } from "./policy.js";
export { PendingInputs } from "./pending.js";
export { SnapshotBuffer, interpolateRows, snapWhen, lerp, lerpAngle } from "./interpolation.js";
export type { RowSpec, Sample } from "./interpolation.js";
export { Predictor } from "./prediction.js";
export type { PredictorOptions } from "./prediction.js";
export { Emitter } from "./emitter.js";
export { systemClock, sleep } from "./clock.js";
export {
  SkirmishError,
  ApiError,
  MatchmakingError,
  MatchClosedError,
  AbortError,
} from "./errors.js";
export type * from "./types.js";
