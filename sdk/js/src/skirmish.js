// @skirmish/sdk: the JavaScript client of Skirmish (docs/protocol.md). Plain ES modules,
// no build step, the same in browsers and Node 20+ (where `WebSocket` is an option).
//
//   import { SkirmishClient } from "@skirmish/sdk";        // npm
//   import { SkirmishClient } from "/sdk/skirmish.js";     // a page, served by the server

export { SkirmishClient, LobbyError, TICKET_POLL_MS, LOBBY_POLL_MS } from "./client.js";
export { MatchSession, SUBPROTOCOL, matchProtocols, chatLine } from "./match.js";
export {
  LobbyRoom,
  lobbyPath,
  isOlderLobby,
  CHAT_MAX_CHARS,
  LOBBY_PING_MS,
  LOBBY_PONG_TIMEOUT_MS,
} from "./lobby.js";
export {
  Spectator,
  spectatePath,
  spectatorSilence,
  snapshotPeriodMs,
  SPECTATOR_PING_MS,
} from "./spectator.js";
export { ReconnectingSocket, decodeFrame } from "./socket.js";
export { SocketSession } from "./session.js";
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
export { PendingInputs } from "./pending.js";
export { SnapshotBuffer, interpolateRows, snapWhen, lerp, lerpAngle } from "./interpolation.js";
export { Predictor } from "./prediction.js";
export { Emitter } from "./emitter.js";
export { systemClock, sleep } from "./clock.js";
export {
  SkirmishError,
  ApiError,
  MatchmakingError,
  MatchClosedError,
  AbortError,
} from "./errors.js";
