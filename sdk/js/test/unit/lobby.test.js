// LobbyRoom against a fake WebSocket and a hand-driven clock: pushed lobbies kept by
// revision, chat and announcements, the keepalive, the reconnect policy as it applies to a
// lobby socket, and the end after `started`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { SkirmishClient } from "../../src/client.js";
import { LobbyError } from "../../src/errors.js";
import { LobbyRoom } from "../../src/lobby.js";
import { FakeClock, fakeWebSocketClass, flush } from "./fakes.js";

const ME = "p_ada";
const ACCESS = { match_id: "m_1", ws_path: "/ws/matches/m_1", token: "mt-ada", expires_at: "x" };

function lobby(revision, fields = {}) {
  return {
    id: "l_1",
    name: "friday",
    mode: "arena",
    settings: {},
    host_id: ME,
    max_players: 2,
    status: "open",
    members: [{ player_id: ME, name: "ada", ready: false }],
    created_at: "2026-01-01T00:00:00Z",
    match: null,
    private: true,
    code: "K7WQ2M",
    revision,
    ...fields,
  };
}

const bob = (ready = false) => ({ player_id: "p_bob", name: "bob", ready });
const push = (event, body) => ({ type: "lobby", event, lobby: body });

function setup(options = {}) {
  const clock = new FakeClock();
  const WS = fakeWebSocketClass();
  const events = [];
  const room = new LobbyRoom({
    lobbyId: "l_1",
    url: "ws://example.test/ws/lobbies/l_1",
    token: "pt-ada",
    playerId: ME,
    WebSocket: WS,
    clock,
    random: () => 0.5,
    ...options,
  });
  for (const name of ["lobby", "chat", "announcement", "error", "pong", "reconnecting", "drop", "closed"]) {
    room.on(name, (ev) => events.push([name, ev]));
  }
  const named = (name) => events.filter(([n]) => n === name).map(([, ev]) => ev);
  return { clock, WS, room, named };
}

/** Open the newest socket and send its snapshot. */
function admit(WS, body = lobby(0)) {
  const ws = WS.last;
  ws.open();
  ws.receive(push("snapshot", body));
  return ws;
}

describe("the lobby room", () => {
  test("connects with the player token, starts from the snapshot, keeps each push", async () => {
    const { WS, room, named } = setup();
    room.connect();
    assert.equal(WS.last.url, "ws://example.test/ws/lobbies/l_1");
    assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.pt-ada"]);
    assert.equal(room.connection, "connecting");
    const ws = admit(WS);
    assert.equal((await room.ready).code, "K7WQ2M");
    assert.equal(room.connection, "open");
    ws.receive(push("joined", lobby(1, { members: [lobby(0).members[0], bob()] })));
    ws.receive(push("ready", lobby(2, { members: [lobby(0).members[0], bob(true)] })));
    assert.deepEqual(named("lobby").map((e) => [e.event, e.lobby.revision]), [
      ["snapshot", 0],
      ["joined", 1],
      ["ready", 2],
    ]);
    assert.equal(room.lobby.members[1].ready, true);
  });

  test("never goes back: an older lobby (push or REST answer) is ignored", () => {
    const { WS, room, named } = setup({ lobby: lobby(3) });
    room.connect();
    const ws = admit(WS, lobby(2)); // another server's older view
    assert.equal(room.lobby.revision, 3);
    assert.equal(room.stats.stale, 1);
    ws.receive(push("ready", lobby(4, { name: "four" })));
    assert.equal(room.apply(lobby(3)), false);
    assert.equal(room.apply(lobby(4, { name: "four" })), true); // the same change: kept
    assert.equal(room.apply(lobby(5, { name: "five" })), true);
    ws.receive(push("ready", lobby(4, { name: "four" }))); // late
    assert.equal(room.lobby.name, "five");
    assert.deepEqual(named("lobby").map((e) => e.event), ["ready", "rest", "rest"]);
  });

  test("chat, announcements and errors come as events; say sends the trimmed line", () => {
    const { WS, room, named } = setup();
    room.connect();
    assert.equal(room.say("early"), false, "nothing open yet");
    const ws = admit(WS);
    assert.equal(room.say("  <b>gl hf</b> ☃ "), true);
    assert.deepEqual(ws.sentOfType("chat"), [{ type: "chat", text: "<b>gl hf</b> ☃" }]);
    assert.throws(() => room.say("   "), RangeError);
    assert.throws(() => room.say("x".repeat(201)), RangeError);
    assert.equal(room.say("☃".repeat(200)), true, "200 characters, however many UTF-16 units");
    assert.throws(() => room.say(7), TypeError);
    const line = { type: "chat", player_id: ME, name: "ada", text: "<b>gl hf</b> ☃", at: "2026-01-01T00:00:01.000Z" };
    ws.receive(line);
    ws.receive({ type: "announcement", text: "back in 5", at: "2026-01-01T00:00:02.000Z" });
    ws.receive({ type: "error", code: "rate_limited", message: "slow down" });
    assert.deepEqual(named("chat"), [line]);
    assert.equal(named("announcement")[0].text, "back in 5");
    assert.equal(named("error")[0].code, "rate_limited");
  });

  test("a ping every 25 s keeps the socket (and the server) awake; the pong gives the RTT", () => {
    const { WS, room, named, clock } = setup();
    room.connect();
    const ws = admit(WS);
    clock.advance(24999);
    assert.equal(ws.sentOfType("ping").length, 0);
    clock.advance(1);
    const [ping] = ws.sentOfType("ping");
    assert.equal(ping.t, clock.t);
    clock.advance(40);
    ws.receive({ type: "pong", t: ping.t });
    assert.equal(named("pong")[0].rtt, 40);
    // chat coming in does not hold the pings back: the server counts what it receives
    for (let i = 0; i < 10; i++) {
      clock.advance(5000);
      ws.receive({ type: "chat", player_id: "p_bob", name: "bob", text: "hi", at: "x" });
    }
    assert.equal(ws.sentOfType("ping").length, 3);
    assert.equal(WS.instances.length, 1);
  });

  test("silence past the keepalive's pong: the socket is dropped, a new one gets a snapshot", async () => {
    const { WS, room, named, clock } = setup();
    room.connect();
    admit(WS);
    clock.advance(25000 + 10000);
    const [drop] = named("drop");
    assert.deepEqual([drop.code, drop.reason], [1006, "silence"]);
    const [rec] = named("reconnecting");
    clock.advance(rec.delay);
    assert.equal(WS.instances.length, 2);
    admit(WS, lobby(1, { members: [lobby(0).members[0], bob()] }));
    assert.equal(room.lobby.revision, 1, "what the dropped socket missed");
    assert.equal(room.connection, "open");
    assert.equal(room.stats.snapshots, 2);
  });

  for (const code of [1001, 1006, 1011, 1012, 4008]) {
    test(`${code}: reconnect (the same path, the same token)`, () => {
      const { WS, room, named, clock } = setup();
      room.connect();
      admit(WS);
      WS.last.serverClose(code);
      const [rec] = named("reconnecting");
      assert.equal(rec.code, code);
      clock.advance(rec.delay);
      assert.equal(WS.instances.length, 2);
      assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.pt-ada"]);
      assert.equal(room.connection, "reconnecting");
    });
  }

  for (const code of [1008, 1009, 4001, 4003, 4004, 4029]) {
    test(`${code}: never reconnect`, async () => {
      const { WS, room, named, clock } = setup();
      room.connect();
      const ws = WS.last;
      ws.open();
      ws.receive({ type: "error", code: "x", message: "no" });
      ws.serverClose(code);
      clock.advance(60000);
      assert.equal(WS.instances.length, 1);
      assert.equal(named("reconnecting").length, 0);
      const closed = await room.done;
      assert.deepEqual([closed.code, closed.outcome], [code, "socket_closed"]);
      await assert.rejects(room.ready, (err) => err instanceof LobbyError && err.code === code);
      await assert.rejects(room.started, (err) => err.status === "socket_closed");
    });
  }

  test("no snapshot for 30 s of tries: it gives up", async () => {
    const { WS, room, clock } = setup();
    room.connect();
    for (let i = 0; i < 40 && room.connection !== "closed"; i++) {
      if (WS.last.readyState === 0) WS.last.serverClose(1006);
      clock.advance(5000);
    }
    const closed = await room.done;
    assert.equal(closed.gaveUp, true);
    assert.equal(closed.outcome, "socket_closed");
  });

  test("started: the member's own match access, then the server's 1000 ends it cleanly", async () => {
    const { WS, room, named, clock } = setup();
    room.connect();
    const ws = admit(WS);
    ws.receive(push("started", lobby(6, { status: "started", match: ACCESS, code: null })));
    assert.deepEqual(await room.started, ACCESS);
    assert.deepEqual(room.match, ACCESS);
    ws.serverClose(1000);
    clock.advance(60000);
    const closed = await room.done;
    assert.deepEqual([closed.code, closed.outcome, closed.match], [1000, "started", ACCESS]);
    assert.equal(WS.instances.length, 1);
    assert.equal(named("reconnecting").length, 0);
  });

  test("started, then the connection breaks before the 1000: no reconnect", async () => {
    const { WS, room, named } = setup();
    room.connect();
    const ws = admit(WS);
    ws.receive(push("started", lobby(6, { status: "started", match: ACCESS })));
    ws.serverClose(1006);
    assert.equal((await room.done).outcome, "started");
    assert.equal(named("reconnecting").length, 0);
  });

  test("the host's REST start answer gives the access before the push", async () => {
    const { WS, room } = setup();
    room.connect();
    admit(WS);
    room.apply(lobby(6, { status: "started", match: ACCESS }));
    assert.deepEqual(await room.started, ACCESS);
  });

  test("your own leave (left, 1000) and a closed lobby end it; so does close()", async () => {
    const a = setup();
    a.room.connect();
    const ws = admit(a.WS, lobby(1, { members: [lobby(0).members[0], bob()] }));
    ws.receive(push("left", lobby(2, { host_id: "p_bob", members: [bob()] })));
    ws.serverClose(1000);
    assert.equal((await a.room.done).outcome, "left");
    await assert.rejects(a.room.started, (err) => err instanceof LobbyError && err.status === "left");

    const b = setup();
    b.room.connect();
    admit(b.WS).receive(push("closed", lobby(1, { status: "closed", members: [] })));
    b.WS.last.serverClose(1000);
    assert.equal((await b.room.done).outcome, "closed");

    const c = setup();
    c.room.connect();
    const own = admit(c.WS);
    c.room.close();
    assert.deepEqual(own.closedWith, { code: 1000, reason: "client" });
    assert.equal((await c.room.done).outcome, "cancelled");
    c.clock.advance(60000);
    assert.equal(c.WS.instances.length, 1);
  });
});

describe("the client", () => {
  function client(routes = {}) {
    const calls = [];
    const fetch = async (url, init) => {
      calls.push({ method: init.method, url, body: init.body && JSON.parse(init.body) });
      const body = routes[`${init.method} ${new URL(url).pathname}`] || {};
      return { ok: true, status: 200, statusText: "OK", headers: { get: () => null }, text: async () => JSON.stringify(body) };
    };
    const WS = fakeWebSocketClass();
    const c = new SkirmishClient("https://game.example/", { fetch, WebSocket: WS, clock: new FakeClock(), token: "pt-ada" });
    c.player = { player_id: ME, name: "ada", token: "pt-ada", expires_at: "x" };
    return { c, calls, WS };
  }

  test("a private lobby, a join by code", async () => {
    const { c, calls } = client();
    await c.createLobby({ name: "secret", private: true });
    await c.createLobby({ name: "open" });
    await c.joinLobbyByCode(" k7wq2m ");
    assert.deepEqual(calls.map((x) => [x.method, new URL(x.url).pathname, x.body]), [
      ["POST", "/v1/lobbies", { mode: "arena", name: "secret", max_players: 2, private: true }],
      ["POST", "/v1/lobbies", { mode: "arena", name: "open", max_players: 2 }],
      ["POST", "/v1/lobbies/join", { code: "k7wq2m" }],
    ]);
  });

  test("lobbyRoom: wss URL of the lobby, the player token, the REST lobby as a start", async () => {
    const { c, WS } = client();
    const room = c.lobbyRoom(lobby(4));
    assert.equal(WS.last.url, "wss://game.example/ws/lobbies/l_1");
    assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.pt-ada"]);
    assert.equal(room.lobby.revision, 4);
    assert.equal(room.playerId, ME);
    c.token = "pt-new"; // the token is read at each connect
    WS.last.serverClose(1006);
    room.clock.advance(1000);
    await flush();
    assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.pt-new"]);
    const byId = c.lobbyRoom("l_2");
    assert.equal(WS.last.url, "wss://game.example/ws/lobbies/l_2");
    assert.equal(byId.lobby, null);
  });
});
