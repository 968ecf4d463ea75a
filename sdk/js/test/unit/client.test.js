// The REST client against a fake fetch: errors, 429 with Retry-After, polling.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { LobbyError, SkirmishClient } from "../../src/client.js";
import { ApiError, MatchmakingError } from "../../src/errors.js";
import { FakeClock } from "./fakes.js";

function response(status, body, headers = {}) {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: `status ${status}`,
    headers: { get: (name) => headers[name.toLowerCase()] ?? null },
    text: async () => text,
  };
}

/** A fetch that answers from `routes` ("METHOD /path" → function or list of answers). */
function fakeFetch(routes) {
  const calls = [];
  const fetch = async (url, init) => {
    const path = url.replace(/^https?:\/\/[^/]+/, "");
    calls.push({ method: init.method, path, headers: init.headers, body: init.body && JSON.parse(init.body), at: clock.t });
    const key = `${init.method} ${path.split("?")[0]}`;
    const route = routes[key];
    if (!route) return response(404, { error: { code: "not_found", message: `no route ${key}` } });
    if (typeof route === "function") return route(calls.at(-1));
    return route.length > 1 ? route.shift() : route[0];
  };
  const clock = new FakeClock(0);
  return { fetch, calls, clock };
}

/** Run `promise` while advancing the fake clock until it settles. */
async function drive(clock, promise, limit = 120000) {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  for (let t = 0; t < limit && !settled; t += 10) {
    clock.advance(10);
    await new Promise((r) => setImmediate(r));
  }
  return promise;
}

const ACCESS = { match_id: "m_1", ws_path: "/ws/matches/m_1", token: "mt", expires_at: "x" };
const PLAYER = { player_id: "p_1", name: "ada", token: "pt", expires_at: "x" };

describe("requests", () => {
  test("guest keeps the token; calls after it send it", async () => {
    const { fetch, calls, clock } = fakeFetch({
      "POST /v1/auth/guest": [response(201, PLAYER)],
      "GET /v1/modes": [response(200, { modes: [{ name: "arena" }] })],
    });
    const client = new SkirmishClient("http://h:1/", { fetch, clock });
    assert.deepEqual(await client.guest("ada"), PLAYER);
    assert.equal(client.token, "pt");
    assert.deepEqual(await client.modes(), [{ name: "arena" }]);
    assert.deepEqual(calls[0].body, { name: "ada" });
    assert.equal(calls[0].headers.Authorization, undefined);
    assert.equal(calls[1].headers.Authorization, "Bearer pt");
    assert.equal(calls[1].path, "/v1/modes");
  });

  test("an error status is an ApiError with status, code and message", async () => {
    const { fetch, clock } = fakeFetch({
      "POST /v1/lobbies": [response(409, { error: { code: "already_in_lobby", message: "leave it first" } })],
      "GET /v1/lobbies/x": [response(502, "<html>bad gateway</html>")],
    });
    const client = new SkirmishClient("http://h", { fetch, clock, token: "pt" });
    await assert.rejects(client.createLobby({ mode: "arena", name: "l", maxPlayers: 2 }), (err) => {
      assert.ok(err instanceof ApiError);
      assert.deepEqual([err.status, err.code, err.message], [409, "already_in_lobby", "leave it first"]);
      return true;
    });
    await assert.rejects(client.getLobby("x"), (err) => err.status === 502 && err.code === "http_502");
  });

  test("no answer at all: ApiError 0 network", async () => {
    const client = new SkirmishClient("http://h", {
      fetch: async () => {
        throw new TypeError("fetch failed");
      },
    });
    await assert.rejects(client.modes(), (err) => err instanceof ApiError && err.status === 0 && err.code === "network");
  });

  test("429 waits its Retry-After, then retries", async () => {
    const limited = response(429, { error: { code: "rate_limited", message: "slow down" } }, { "retry-after": "2" });
    const { fetch, calls, clock } = fakeFetch({
      "GET /v1/modes": [limited, limited, response(200, { modes: [] })],
    });
    const client = new SkirmishClient("http://h", { fetch, clock });
    assert.deepEqual(await drive(clock, client.modes()), []);
    const at = calls.map((c) => c.at);
    assert.ok(at[1] - at[0] >= 2000 && at[1] - at[0] < 2050, `${at}`);
    assert.ok(at[2] - at[1] >= 2000 && at[2] - at[1] < 2050, `${at}`);
  });

  test("429 past maxRetries: the ApiError, with retryAfter", async () => {
    const limited = response(429, { error: { code: "rate_limited", message: "slow down" } }, { "retry-after": "1" });
    const { fetch, calls, clock } = fakeFetch({ "GET /v1/modes": [limited] });
    const client = new SkirmishClient("http://h", { fetch, clock, maxRetries: 2 });
    await assert.rejects(drive(clock, client.modes()), (err) => err.code === "rate_limited" && err.status === 429 && err.retryAfter === 1);
    assert.equal(calls.length, 3);
  });
});

describe("matchmaking", () => {
  const searching = { id: "t_1", player_id: "p_1", mode: "arena", status: "searching", created_at: "x", match: null };
  const matched = { ...searching, status: "matched", match: ACCESS };

  test("queue polls every 250–500 ms until matched", async () => {
    const { fetch, calls, clock } = fakeFetch({
      "POST /v1/matchmaking/tickets": [response(201, searching)],
      "GET /v1/matchmaking/tickets/t_1": [response(200, searching), response(200, searching), response(200, matched)],
    });
    const client = new SkirmishClient("http://h", { fetch, clock, token: "pt" });
    assert.deepEqual(await drive(clock, client.queue("arena")), ACCESS);
    assert.deepEqual(calls[0].body, { mode: "arena" });
    const polls = calls.filter((c) => c.method === "GET").map((c) => c.at);
    assert.equal(polls.length, 3);
    const gaps = [polls[0] - calls[0].at, polls[1] - polls[0], polls[2] - polls[1]];
    for (const gap of gaps) assert.ok(gap >= 250 && gap <= 510, `gap ${gap}`);
  });

  test("poll intervals are held to 250–500 ms", async () => {
    for (const [asked, min, max] of [[10, 250, 260], [5000, 500, 510]]) {
      const { fetch, calls, clock } = fakeFetch({
        "GET /v1/matchmaking/tickets/t_1": [response(200, searching), response(200, matched)],
      });
      const client = new SkirmishClient("http://h", { fetch, clock });
      await drive(clock, client.waitForMatch(searching, { pollMs: asked }));
      const gap = calls[1].at - calls[0].at;
      assert.ok(gap >= min && gap <= max, `${asked}: ${gap}`);
    }
  });

  test("an expired ticket is a MatchmakingError", async () => {
    const { fetch, clock } = fakeFetch({
      "GET /v1/matchmaking/tickets/t_1": [response(200, { ...searching, status: "expired" })],
    });
    const client = new SkirmishClient("http://h", { fetch, clock });
    await assert.rejects(drive(clock, client.waitForMatch(searching)), (err) => err instanceof MatchmakingError && err.status === "expired");
  });

  test("a timeout cancels the ticket", async () => {
    const { fetch, calls, clock } = fakeFetch({
      "GET /v1/matchmaking/tickets/t_1": [response(200, searching)],
      "DELETE /v1/matchmaking/tickets/t_1": [response(200, { ...searching, status: "cancelled" })],
    });
    const client = new SkirmishClient("http://h", { fetch, clock });
    await assert.rejects(drive(clock, client.waitForMatch(searching, { timeoutMs: 2000 })), (err) => err.status === "timeout");
    assert.equal(calls.at(-1).method, "DELETE");
  });

  test("an abort cancels; matched meanwhile (409) still gives the match", async () => {
    let deleted = false;
    const { fetch, clock } = fakeFetch({
      "GET /v1/matchmaking/tickets/t_1": () => response(200, deleted ? matched : searching),
      "DELETE /v1/matchmaking/tickets/t_1": () => {
        deleted = true;
        return response(409, { error: { code: "conflict", message: "matched" } });
      },
    });
    const client = new SkirmishClient("http://h", { fetch, clock });
    const controller = new AbortController();
    const wait = client.waitForMatch(searching, { signal: controller.signal });
    clock.advance(10);
    controller.abort();
    assert.deepEqual(await drive(clock, wait), ACCESS);
    assert.ok(deleted);
  });

  test("an abort cancels the ticket and rejects with the abort", async () => {
    const { fetch, calls, clock } = fakeFetch({
      "GET /v1/matchmaking/tickets/t_1": [response(200, searching)],
      "DELETE /v1/matchmaking/tickets/t_1": [response(200, { ...searching, status: "cancelled" })],
    });
    const client = new SkirmishClient("http://h", { fetch, clock });
    const controller = new AbortController();
    const wait = client.waitForMatch(searching, { signal: controller.signal });
    clock.advance(700);
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await assert.rejects(drive(clock, wait), (err) => err.name === "AbortError");
    assert.equal(calls.at(-1).method, "DELETE");
  });
});

describe("lobbies", () => {
  const lobby = (fields) => ({
    id: "l_1", name: "l", mode: "arena", host_id: "p_1", max_players: 2, status: "open",
    members: [{ player_id: "p_1", name: "ada", ready: true }], created_at: "x", match: null, ...fields,
  });

  test("list pages: limit and after; listAllLobbies follows next", async () => {
    const { fetch, calls, clock } = fakeFetch({
      "GET /v1/lobbies": ({ path }) =>
        path.includes("after=l_2")
          ? response(200, { lobbies: [lobby({ id: "l_3" })], next: null })
          : response(200, { lobbies: [lobby({ id: "l_1" }), lobby({ id: "l_2" })], next: "l_2" }),
    });
    const client = new SkirmishClient("http://h", { fetch, clock });
    const page = await client.listLobbies({ limit: 2 });
    assert.equal(page.next, "l_2");
    assert.equal(calls[0].path, "/v1/lobbies?limit=2");
    const all = await client.listAllLobbies({ pageSize: 2 });
    assert.deepEqual(all.map((l) => l.id), ["l_1", "l_2", "l_3"]);
    assert.equal(calls.at(-1).path, "/v1/lobbies?limit=2&after=l_2");
  });

  test("create, ready, start: the bodies", async () => {
    const { fetch, calls, clock } = fakeFetch({
      "POST /v1/lobbies": [response(201, lobby())],
      "POST /v1/lobbies/l_1/ready": [response(200, lobby())],
      "POST /v1/lobbies/l_1/start": [response(200, lobby({ status: "started", match: ACCESS }))],
    });
    const client = new SkirmishClient("http://h", { fetch, clock });
    await client.createLobby({ mode: "ctf", name: "mine", maxPlayers: 4 });
    await client.setReady("l_1", false);
    const started = await client.startLobby("l_1");
    assert.deepEqual(calls.map((c) => c.body), [{ mode: "ctf", name: "mine", max_players: 4 }, { ready: false }, undefined]);
    assert.deepEqual(started.match, ACCESS);
  });

  test("waitLobbyStarted polls until started; without a seat it is a LobbyError", async () => {
    const { fetch, clock } = fakeFetch({
      "GET /v1/lobbies/l_1": [response(200, lobby()), response(200, lobby({ status: "started", match: ACCESS }))],
      "GET /v1/lobbies/l_2": [response(200, lobby({ id: "l_2", status: "started", match: null }))],
    });
    const client = new SkirmishClient("http://h", { fetch, clock });
    assert.deepEqual(await drive(clock, client.waitLobbyStarted("l_1")), ACCESS);
    await assert.rejects(drive(clock, client.waitLobbyStarted("l_2")), (err) => err instanceof LobbyError && err.status === "started_without_you");
  });
});

describe("settings", () => {
  const SETTINGS = { score_limit: 5, time_limit_seconds: 30 };
  const ticket = { id: "t_1", player_id: "p_1", mode: "arena", settings: SETTINGS, status: "matched", created_at: "x", match: ACCESS };
  const lobby = { id: "l_1", name: "l", mode: "arena", settings: SETTINGS, host_id: "p_1", max_players: 2, status: "open", members: [], created_at: "x", match: null };

  test("a ticket, a queue and a lobby send settings when given, and only then", async () => {
    const { fetch, calls, clock } = fakeFetch({
      "POST /v1/matchmaking/tickets": [response(201, ticket)],
      "POST /v1/lobbies": [response(201, lobby)],
    });
    const client = new SkirmishClient("http://h", { fetch, clock });
    await client.createTicket("arena", { settings: SETTINGS });
    await client.createTicket("arena");
    assert.deepEqual(await drive(clock, client.queue("arena", { settings: { score_limit: 5 } })), ACCESS);
    await client.queue("ctf");
    await client.createLobby({ mode: "arena", name: "l", maxPlayers: 2, settings: SETTINGS });
    await client.createLobby({ mode: "arena", name: "l", maxPlayers: 2 });
    assert.deepEqual(calls.map((c) => [c.method, c.path, c.body]), [
      ["POST", "/v1/matchmaking/tickets", { mode: "arena", settings: SETTINGS }],
      ["POST", "/v1/matchmaking/tickets", { mode: "arena" }],
      ["POST", "/v1/matchmaking/tickets", { mode: "arena", settings: { score_limit: 5 } }],
      ["POST", "/v1/matchmaking/tickets", { mode: "ctf" }],
      ["POST", "/v1/lobbies", { mode: "arena", name: "l", max_players: 2, settings: SETTINGS }],
      ["POST", "/v1/lobbies", { mode: "arena", name: "l", max_players: 2 }],
    ]);
  });

  test("setLobbySettings posts them; a refusal is ApiError 422 invalid_settings", async () => {
    const refused = response(422, { error: { code: "invalid_settings", message: "arena settings: score_limit: 0 is less than the minimum of 1" } });
    const { fetch, calls, clock } = fakeFetch({
      "POST /v1/lobbies/l%2F1/settings": [response(200, { ...lobby, settings: { score_limit: 9, time_limit_seconds: 30 } }), refused],
    });
    const client = new SkirmishClient("http://h", { fetch, clock, token: "pt" });
    const changed = await client.setLobbySettings("l/1", { score_limit: 9 });
    assert.deepEqual(changed.settings, { score_limit: 9, time_limit_seconds: 30 });
    assert.deepEqual(calls[0].body, { settings: { score_limit: 9 } });
    assert.equal(calls[0].headers.Authorization, "Bearer pt");
    await assert.rejects(client.setLobbySettings("l/1", { score_limit: 0 }), (err) => {
      assert.ok(err instanceof ApiError);
      assert.deepEqual([err.status, err.code], [422, "invalid_settings"]);
      assert.match(err.message, /score_limit/);
      return true;
    });
  });
});

describe("URLs", () => {
  test("ws URL from the base URL", () => {
    assert.equal(new SkirmishClient("http://127.0.0.1:8000").wsUrl("/ws/matches/m_1"), "ws://127.0.0.1:8000/ws/matches/m_1");
    assert.equal(new SkirmishClient("https://x.example/api/").wsUrl("/ws/matches/m_1"), "wss://x.example/ws/matches/m_1");
  });

  test("a relative base URL uses the page's location", () => {
    globalThis.location = { protocol: "https:", host: "game.example:8443" };
    try {
      assert.equal(new SkirmishClient().wsUrl("/ws/matches/m"), "wss://game.example:8443/ws/matches/m");
    } finally {
      delete globalThis.location;
    }
    assert.throws(() => new SkirmishClient("").wsUrl("/ws/matches/m"), TypeError);
  });

  test("a recording is asked for with the watch code, when given", async () => {
    const recording = { match_id: "m_1", inputs: [] };
    const { fetch, calls, clock } = fakeFetch({ "GET /v1/matches/m_1/replay": [response(200, recording)] });
    const client = new SkirmishClient("http://h", { fetch, clock });
    assert.deepEqual(await client.replay("m_1", { code: "Ab_c-123456789xyz" }), recording);
    assert.equal(calls[0].path, "/v1/matches/m_1/replay?code=Ab_c-123456789xyz");
  });

  test("ids are escaped in paths", async () => {
    const { fetch, calls, clock } = fakeFetch({});
    const client = new SkirmishClient("http://h", { fetch, clock });
    await assert.rejects(client.getMatch("a/b?c"));
    assert.equal(calls[0].path, "/v1/matches/a%2Fb%3Fc");
  });
});
