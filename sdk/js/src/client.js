// One player's session with a Skirmish server: the REST calls of docs/protocol.md
// (section 1), in the order a client uses them, and the match sockets they lead to.

import { sleep, systemClock } from "./clock.js";
import { AbortError, ApiError, LobbyError, MatchmakingError } from "./errors.js";
import { LobbyRoom, lobbyPath } from "./lobby.js";
import { MatchSession } from "./match.js";
import { Spectator, checkSpeed } from "./spectator.js";

export { LobbyError };

export const TICKET_POLL_MS = 300;
export const LOBBY_POLL_MS = 500;
/** The protocol asks for a ticket poll every 250–500 ms. */
export const MIN_POLL_MS = 250;
export const MAX_POLL_MS = 500;
export const MAX_RETRY_AFTER_MS = 10000;

const clampPoll = (ms) => Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, ms));

function retryAfterMs(header, attempt, nowMs) {
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(0, date - nowMs);
  }
  return 250 * 2 ** attempt;
}

function aborted(signal) {
  if (signal.reason instanceof Error) return signal.reason;
  return new AbortError();
}

export class SkirmishClient {
  /**
   * @param {string} [baseUrl] e.g. "http://127.0.0.1:8000"; "" (default) in a page: its own
   *   origin
   * @param {object} [options]
   * @param {string} [options.token] a player token (from an earlier `guest`)
   * @param {typeof fetch} [options.fetch] default globalThis.fetch
   * @param {Function} [options.WebSocket] default globalThis.WebSocket (Node 20: pass ws's)
   * @param {number} [options.maxRetries] retries of a 429 (default 3)
   * @param {object} [options.clock] {now, setTimeout, clearTimeout}
   */
  constructor(baseUrl = "", options = {}) {
    this.baseUrl = String(baseUrl || "").replace(/\/+$/, "");
    this.token = options.token || null;
    /** @type {null | {player_id: string, name: string, token: string, expires_at: string}} */
    this.player = null;
    this.maxRetries = options.maxRetries ?? 3;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? MAX_RETRY_AFTER_MS;
    this.clock = options.clock || systemClock;
    this.WebSocket = options.WebSocket || null;
    this.sessionDefaults = options.session || {};
    const custom = options.fetch;
    this._fetch = custom
      ? (url, init) => custom(url, init)
      : (url, init) => {
          if (typeof globalThis.fetch !== "function") {
            throw new TypeError("no global fetch: pass the `fetch` option");
          }
          return globalThis.fetch(url, init);
        };
  }

  // -- the transport --------------------------------------------------------------------

  /**
   * Call the API: JSON in, JSON out. Retries a 429 after its `Retry-After` (up to
   * `maxRetries` times, each wait capped at 10 s); throws `ApiError` on an error status,
   * with the body's `error.code` and `error.message`, and `ApiError(0, "network")` when no
   * answer came.
   */
  async request(method, path, body, { signal } = {}) {
    const headers = { Accept: "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const init = {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    };
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await this._fetch(this.baseUrl + path, init);
      } catch (err) {
        if (signal && signal.aborted) throw aborted(signal);
        const why = (err && err.message) || String(err);
        throw new ApiError(0, "network", `cannot reach the server: ${why}`);
      }
      const text = await res.text();
      let data = null;
      if (text) {
        try {
          data = JSON.parse(text);
        } catch {
          data = null;
        }
      }
      if (res.ok) return data;
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers.get("Retry-After"), attempt, Date.now());
        if (attempt < this.maxRetries) {
          await sleep(Math.min(wait, this.maxRetryAfterMs), { clock: this.clock, signal });
          continue;
        }
        const err = errorOf(res, data, text);
        err.retryAfter = wait / 1000;
        throw err;
      }
      throw errorOf(res, data, text);
    }
  }

  // -- players and modes ----------------------------------------------------------------

  /** Create a guest player; the client keeps its token for the calls that follow. */
  async guest(name) {
    const player = await this.request("POST", "/v1/auth/guest", name ? { name } : {});
    this.player = player;
    this.token = player.token;
    return player;
  }

  /** The modes this server offers. */
  async modes() {
    return (await this.request("GET", "/v1/modes")).modes;
  }

  // -- matchmaking ----------------------------------------------------------------------

  /**
   * Queue for `mode`, with the settings to play by (the mode's `settings_schema`; left out,
   * its defaults): only players who chose the same settings are matched.
   */
  createTicket(mode = "arena", { settings } = {}) {
    const body = { mode };
    if (settings !== undefined && settings !== null) body.settings = settings;
    return this.request("POST", "/v1/matchmaking/tickets", body);
  }

  getTicket(ticketId) {
    return this.request("GET", `/v1/matchmaking/tickets/${enc(ticketId)}`);
  }

  /** Cancel a ticket; `ApiError` 409 once it is matched. */
  cancelTicket(ticketId) {
    return this.request("DELETE", `/v1/matchmaking/tickets/${enc(ticketId)}`);
  }

  /**
   * Poll a ticket (every 250–500 ms, default 300) until it is matched; returns its match
   * access. `MatchmakingError` when it is cancelled or expires; on abort or timeout the
   * ticket is cancelled (a ticket matched meanwhile still returns its access).
   */
  async waitForMatch(ticket, options = {}) {
    const pollMs = clampPoll(options.pollMs ?? TICKET_POLL_MS);
    const timeoutMs = options.timeoutMs ?? 60000;
    const { signal, onTicket } = options;
    const deadline = this.clock.now() + timeoutMs;
    let current = ticket;
    for (;;) {
      if (current.status === "matched" && current.match) return current.match;
      if (current.status !== "searching") throw new MatchmakingError(current.status, current);
      if (signal && signal.aborted) return this._giveUpTicket(current, aborted(signal));
      if (this.clock.now() >= deadline) {
        return this._giveUpTicket(current, new MatchmakingError("timeout", current));
      }
      try {
        await sleep(pollMs, { clock: this.clock, signal });
        current = await this.getTicket(current.id);
      } catch (err) {
        if (signal && signal.aborted) return this._giveUpTicket(current, aborted(signal));
        throw err;
      }
      if (onTicket) onTicket(current);
    }
  }

  async _giveUpTicket(ticket, error) {
    try {
      const cancelled = await this.cancelTicket(ticket.id);
      error.ticket = cancelled;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 409) throw err;
      const fresh = await this.getTicket(ticket.id); // matched meanwhile: too late to cancel
      if (fresh.status === "matched" && fresh.match) return fresh.match;
    }
    throw error;
  }

  /**
   * Create a ticket for `mode` (with `options.settings`, if any) and wait until it is
   * matched: the match access.
   */
  async queue(mode = "arena", options = {}) {
    const ticket = await this.createTicket(mode, { settings: options.settings });
    if (options.onTicket) options.onTicket(ticket);
    return this.waitForMatch(ticket, options);
  }

  // -- lobbies --------------------------------------------------------------------------

  /**
   * Create a lobby (the caller is its host and first member), with the match settings
   * (the mode's `settings_schema`; left out, its defaults). A `private` one is never
   * listed: its members see its `code`, which others join it by (`joinLobbyByCode`).
   */
  createLobby({
    mode = "arena", name = "lobby", maxPlayers = 2, settings, private: secret, spectators,
  } = {}) {
    const body = { mode, name, max_players: maxPlayers };
    if (settings !== undefined && settings !== null) body.settings = settings;
    if (secret) body.private = true;
    if (spectators) body.spectators = spectators; // players | signed_in | link
    return this.request("POST", "/v1/lobbies", body);
  }

  /** Join the open private lobby holding `code` (6 letters or digits, any case); 404 if none. */
  joinLobbyByCode(code) {
    return this.request("POST", "/v1/lobbies/join", { code: String(code).trim() });
  }

  /** One page of open lobbies, oldest first: `{lobbies, next}`; pass `next` as `after`. */
  listLobbies({ limit, after } = {}) {
    const query = new URLSearchParams();
    if (limit !== undefined) query.set("limit", String(limit));
    if (after) query.set("after", after);
    const qs = query.toString();
    return this.request("GET", `/v1/lobbies${qs ? `?${qs}` : ""}`);
  }

  /** Every open lobby, following the pages. */
  async listAllLobbies({ pageSize = 100 } = {}) {
    const all = [];
    let after;
    for (;;) {
      const page = await this.listLobbies({ limit: pageSize, after });
      all.push(...page.lobbies);
      if (!page.next) return all;
      after = page.next;
    }
  }

  getLobby(lobbyId) {
    return this.request("GET", `/v1/lobbies/${enc(lobbyId)}`);
  }

  joinLobby(lobbyId) {
    return this.request("POST", `/v1/lobbies/${enc(lobbyId)}/join`);
  }

  leaveLobby(lobbyId) {
    return this.request("POST", `/v1/lobbies/${enc(lobbyId)}/leave`);
  }

  setReady(lobbyId, ready = true) {
    return this.request("POST", `/v1/lobbies/${enc(lobbyId)}/ready`, { ready });
  }

  /**
   * Change the lobby's match settings (host only, while open; those left out take the
   * mode's defaults): the lobby, everyone's ready mark cleared. `ApiError` 422
   * `invalid_settings` when the mode refuses them.
   */
  setLobbySettings(lobbyId, settings) {
    return this.request("POST", `/v1/lobbies/${enc(lobbyId)}/settings`, { settings: settings ?? {} });
  }

  /** Start the lobby (host only): the lobby, `started`, with the caller's match access. */
  startLobby(lobbyId) {
    return this.request("POST", `/v1/lobbies/${enc(lobbyId)}/start`);
  }

  /**
   * Poll a lobby (every 500 ms by default) until it has started: this player's match
   * access. `LobbyError` when it started without the caller (`started_without_you`), the
   * caller is no longer a member (`left`), or the wait timed out (`timeout`).
   */
  async waitLobbyStarted(lobbyId, options = {}) {
    const pollMs = Math.max(MIN_POLL_MS, options.pollMs ?? LOBBY_POLL_MS);
    const timeoutMs = options.timeoutMs ?? 60000;
    const { signal, onLobby } = options;
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      const lobby = await this.request("GET", `/v1/lobbies/${enc(lobbyId)}`, undefined, {
        signal,
      });
      if (onLobby) onLobby(lobby);
      if (lobby.status === "started") {
        if (lobby.match) return lobby.match;
        throw new LobbyError("started_without_you", lobby);
      }
      const me = this.player && this.player.player_id;
      if (me && !lobby.members.some((m) => m.player_id === me)) {
        throw new LobbyError("left", lobby);
      }
      if (this.clock.now() >= deadline) throw new LobbyError("timeout", lobby);
      await sleep(pollMs, { clock: this.clock, signal });
    }
  }

  // -- matches --------------------------------------------------------------------------

  getMatch(matchId) {
    return this.request("GET", `/v1/matches/${enc(matchId)}`);
  }

  /** A fresh match access (token), e.g. to rejoin after the old one expired. */
  matchToken(matchId) {
    return this.request("POST", `/v1/matches/${enc(matchId)}/token`);
  }

  /**
   * A spectate access to `matchId` (POST /v1/matches/{id}/spectate): live while it runs,
   * its recording once finished. `code`: a `link` match's watch code. As one of its
   * players, the access's `code` is the one to share. ApiError 403 when the match's
   * policy does not let you watch (a wrong code too), 404, 409 (finished, no recording).
   */
  spectateAccess(matchId, { code } = {}) {
    const body = {};
    if (code !== undefined && code !== null && code !== "") body.code = String(code).trim();
    return this.request("POST", `/v1/matches/${enc(matchId)}/spectate`, body);
  }

  /**
   * Watch a match: its spectate access, then a Spectator on its socket, connecting (its
   * `ready` resolves at the `spectating`). `speed` (0.25 to 16) plays a recording that
   * fast; a 4001 fetches a fresh access with the same code. Options as Spectator's.
   */
  async spectate(matchId, { code, speed, ...options } = {}) {
    checkSpeed(speed);
    const access = await this.spectateAccess(matchId, { code });
    return this.spectator(access, { ...options, code, speed }).connect();
  }

  /**
   * A Spectator for a spectate access, not yet connected: attach listeners, then call
   * `connect()`. The socket asks `?speed=` when `speed` is given and the access is a
   * recording's.
   */
  spectator(access, { code, speed, ...options } = {}) {
    const pace = checkSpeed(speed);
    return new Spectator({
      WebSocket: this.WebSocket || undefined,
      clock: this.clock,
      ...options,
      access,
      speed: pace,
      url: options.url || ((current) => this.spectateUrl(current, pace)),
      refreshAccess: options.refreshAccess || ((id) => this.spectateAccess(id, { code })),
      fetchMatch: options.fetchMatch || ((id) => this.getMatch(id)),
    });
  }

  /** The socket URL of a spectate access: its ws_path, with `?speed=` for a recording. */
  spectateUrl(access, speed) {
    const url = this.wsUrl(access.ws_path);
    const pace = checkSpeed(speed);
    return pace !== null && access.live === false ? `${url}?speed=${pace}` : url;
  }

  /**
   * A finished match's replay: seed and every applied input (`409` while it runs), for
   * whoever may watch the match (`code`: a `link` match's watch code; `403` otherwise).
   */
  replay(matchId, { code } = {}) {
    const query = code ? `?code=${encodeURIComponent(String(code).trim())}` : "";
    return this.request("GET", `/v1/matches/${enc(matchId)}/replay${query}`);
  }

  /** The socket URL of a `ws_path`: ws(s)://host of the base URL (or the page's). */
  wsUrl(wsPath) {
    let base = this.baseUrl;
    if (!/^https?:\/\//i.test(base)) {
      const loc = globalThis.location;
      if (!loc || !loc.host) {
        throw new TypeError("a relative base URL needs a page's location: pass an absolute one");
      }
      base = `${loc.protocol}//${loc.host}`;
    }
    const url = new URL(base);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.pathname = wsPath;
    url.search = "";
    url.hash = "";
    return url.toString();
  }

  /**
   * A match session for `access` (a ticket's or lobby's `match`), connecting at once; its
   * `ready` resolves at the welcome. After a 4001 it fetches a fresh token with this
   * client. Options as MatchSession's (clock, random, pingIntervalMs, ...).
   */
  connect(access, options = {}) {
    return this.session(access, options).connect();
  }

  /**
   * A member's lobby room (its socket, `/ws/lobbies/{id}`), connecting at once with this
   * client's player token: pushed lobby changes, chat, announcements. `lobby` is the
   * lobby's id, or the lobby as a REST call answered (the room starts from it). Join with
   * REST first. Options as LobbyRoom's (clock, random, pingIntervalMs, ...).
   */
  lobbyRoom(lobby, options = {}) {
    const known = lobby && typeof lobby === "object" ? lobby : null;
    const lobbyId = known ? known.id : lobby;
    return new LobbyRoom({
      WebSocket: this.WebSocket || undefined,
      clock: this.clock,
      playerId: this.player ? this.player.player_id : undefined,
      lobby: known || undefined,
      ...options,
      lobbyId,
      url: options.url || (() => this.wsUrl(lobbyPath(lobbyId))),
      token: options.token || (() => this.token),
    }).connect();
  }

  /** As `connect`, without connecting: attach listeners, then call `connect()`. */
  session(access, options = {}) {
    return new MatchSession({
      WebSocket: this.WebSocket || undefined,
      clock: this.clock,
      ...this.sessionDefaults,
      ...options,
      access,
      url: options.url || ((current) => this.wsUrl(current.ws_path)),
      refreshToken: options.refreshToken || ((matchId) => this.matchToken(matchId)),
      fetchMatch: options.fetchMatch || ((matchId) => this.getMatch(matchId)),
    });
  }
}

function enc(id) {
  return encodeURIComponent(String(id));
}

function errorOf(res, data, text) {
  const error = data && typeof data === "object" && data.error ? data.error : null;
  if (error && typeof error.code === "string") {
    return new ApiError(res.status, error.code, String(error.message ?? ""));
  }
  return new ApiError(res.status, `http_${res.status}`, (text || res.statusText || "").slice(0, 200));
}
