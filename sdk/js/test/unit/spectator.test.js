// Spectator against a fake WebSocket and a hand-driven clock: the `spectating` welcome, the
// snapshots it buffers at the feed's pace, the reconnect policy as the "Spectators"
// section of docs/protocol.md applies it (a fresh spectate access after a 4001), its
// silence rule (the delay is no silence), and client.spectate's REST call and URL.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { SkirmishClient } from "../../src/client.js";
import { ApiError } from "../../src/errors.js";
import { Spectator, spectatePath, spectatorSilence } from "../../src/spectator.js";
import { FakeClock, fakeWebSocketClass, snapshot } from "./fakes.js";

const ACCESS = Object.freeze({
  match_id: "m_1",
  ws_path: "/ws/matches/m_1/spectate",
  token: "st-1",
  expires_at: "2099-01-01T00:00:00Z",
  live: true,
  delay_ms: 2000,
  rate_hz: 10,
  code: null,
});

const RESULT = { type: "result", match_id: "m_1", winner: "p_2", reason: "score_limit", tick: 900, players: [] };

function spectating(fields = {}) {
  return {
    type: "spectating",
    match_id: "m_1",
    mode: "arena",
    tick_rate: 30,
    teams: 0,
    players: [{ slot: 0, player_id: "p_1", name: "ada" }, { slot: 1, player_id: "p_2", name: "bob" }],
    config: { width: 1000, height: 1000 },
    live: true,
    status: "running",
    tick: 912,
    delay_ms: 2000,
    rate_hz: 10,
    speed: 1,
    spectators: 1,
    ...fields,
  };
}

function setup(options = {}) {
  const clock = new FakeClock();
  const WS = fakeWebSocketClass();
  const events = [];
  const spectator = new Spectator({
    access: ACCESS,
    url: (access) => `ws://example.test${access.ws_path}`,
    WebSocket: WS,
    clock,
    random: () => 0.5,
    ...options,
  });
  const names = ["spectating", "snapshot", "spectators", "result", "error", "pong", "reconnecting", "drop", "closed", "access"];
  for (const name of names) spectator.on(name, (ev) => events.push([name, ev]));
  const named = (name) => events.filter(([n]) => n === name).map(([, ev]) => ev);
  return { clock, WS, spectator, named };
}

/** Open the newest socket and send its `spectating`. */
function admit(WS, fields = {}) {
  const ws = WS.last;
  ws.open();
  ws.receive(spectating(fields));
  return ws;
}

/** Snapshots of ticks from..to every `every` ticks, `ms` apart on the clock. */
function feed(ws, clock, from, to, every = 3, ms = 100) {
  for (let tick = from; tick <= to; tick += every) {
    clock.advance(ms);
    ws.receive(snapshot(tick, 0));
  }
}

describe("the spectator", () => {
  test("opens the spectate path with the spectate token; the welcome is `spectating`", async () => {
    const { WS, spectator, named } = setup();
    spectator.connect();
    assert.equal(WS.last.url, "ws://example.test/ws/matches/m_1/spectate");
    assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.st-1"]);
    assert.equal(spectator.connection, "connecting");
    const ws = admit(WS, { spectators: 3 });
    const welcome = await spectator.ready;
    assert.equal(welcome.tick, 912);
    assert.equal(spectator.connection, "open");
    assert.equal(spectator.mode, "arena");
    assert.equal(spectator.slot, null, "no seat");
    assert.equal(spectator.live, true);
    assert.equal(spectator.delayMs, 2000);
    assert.equal(spectator.spectators, 3);
    assert.equal(named("spectating").length, 1);
    ws.receive({ type: "spectators", count: 4 });
    assert.equal(spectator.spectators, 4);
    assert.equal(named("spectators")[0].count, 4);
    assert.equal(spectator.send, undefined, "a spectator sends no inputs");
    assert.equal(spectator.sendInput, undefined);
  });

  test("snapshots go into the buffer, drawn between two of them", () => {
    const { WS, spectator, named, clock } = setup();
    spectator.connect();
    const ws = admit(WS);
    feed(ws, clock, 915, 930); // every 3 ticks, 100 ms apart: 10 a second, live
    assert.deepEqual(named("snapshot").map((s) => s.tick), [915, 918, 921, 924, 927, 930]);
    assert.equal(spectator.buffer.size, 6);
    assert.equal(spectator.buffer.latest.tick, 930);
    assert.equal(spectator.lastSnapshot.ack, 0);
    // two snapshot periods (200 ms) behind the newest: between 924 and 927
    const at = spectator.buffer.sample(clock.now());
    assert.equal(at.a.tick, 924);
    assert.equal(at.b.tick, 927);
    assert.ok(Math.abs(at.tick - 924) < 0.01, `drawn at ${at.tick}`);
    clock.advance(50);
    assert.ok(Math.abs(spectator.buffer.sample(clock.now()).tick - 925.5) < 0.01);
  });

  test("a recording at ×4: the buffer runs four times as fast", () => {
    const { WS, spectator, clock } = setup({ access: { ...ACCESS, live: false } });
    spectator.connect();
    const ws = admit(WS, { live: false, status: "finished", delay_ms: 0, speed: 4, tick: 0 });
    assert.equal(spectator.status, "running", "a recording plays");
    assert.equal(spectator.buffer.tickRate, 120);
    assert.equal(spectator.buffer.delayMs, 50); // two periods of 25 ms
    feed(ws, clock, 0, 30, 3, 25);
    const at = spectator.buffer.sample(clock.now());
    assert.equal(at.b.tick - at.a.tick, 3);
    assert.ok(Math.abs(at.tick - 24) < 0.01, `drawn at ${at.tick}`);
  });

  test("waiting, running, finished; the result, then the server's 1000: no reconnect", async () => {
    const { WS, spectator, named, clock } = setup();
    spectator.connect();
    const ws = admit(WS, { status: "waiting", tick: 0 });
    assert.equal(spectator.status, "waiting");
    feed(ws, clock, 1, 4);
    assert.equal(spectator.status, "running");
    ws.receive(RESULT);
    assert.equal(spectator.status, "finished");
    ws.serverClose(1000, "match over");
    clock.advance(60000);
    assert.equal(WS.instances.length, 1);
    const closed = await spectator.done;
    assert.equal(closed.code, 1000);
    assert.equal(closed.result.winner, "p_2");
    assert.equal(named("result").length, 1);
    assert.equal(named("reconnecting").length, 0);
  });

  test("the result came, the connection broke before the 1000: no reconnect", async () => {
    const { WS, spectator, clock } = setup();
    spectator.connect();
    const ws = admit(WS);
    ws.receive(RESULT);
    ws.serverClose(1006);
    clock.advance(10000);
    assert.equal(WS.instances.length, 1);
    assert.equal((await spectator.done).result.reason, "score_limit");
  });

  test("the server's 1000 without a result: the result from the API", async () => {
    const { type, ...result } = RESULT;
    assert.equal(type, "result");
    const { WS, spectator } = setup({
      fetchMatch: async () => ({ id: "m_1", status: "finished", result }),
    });
    spectator.connect();
    admit(WS).serverClose(1000);
    const closed = await spectator.done;
    assert.equal(closed.result.type, "result");
    assert.equal(closed.result.winner, "p_2");
  });

  test("an input is refused by the server: an `error`, the socket stays", () => {
    const { WS, spectator, named } = setup();
    spectator.connect();
    const ws = admit(WS);
    ws.receive({ type: "error", code: "input_refused", message: "spectators cannot send inputs" });
    assert.equal(named("error")[0].code, "input_refused");
    assert.equal(spectator.connection, "open");
  });
});

describe("close codes", () => {
  for (const code of [1001, 1006, 1011, 1012, 1013, 4008]) {
    test(`${code}: reconnect with the same token; the new socket starts the feed over`, () => {
      const { WS, spectator, named, clock } = setup();
      spectator.connect();
      const ws = admit(WS);
      feed(ws, clock, 915, 921);
      ws.serverClose(code);
      const [rec] = named("reconnecting");
      assert.equal(rec.code, code);
      assert.equal(rec.refresh, false);
      assert.equal(spectator.connection, "reconnecting");
      clock.advance(rec.delay);
      assert.equal(WS.instances.length, 2);
      assert.equal(WS.last.url, "ws://example.test/ws/matches/m_1/spectate");
      assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.st-1"]);
      admit(WS, { tick: 990 });
      assert.equal(spectator.buffer.size, 0, "each socket's feed starts over");
      assert.equal(spectator.stats.welcomes, 2);
    });
  }

  for (const code of [1000, 1008, 1009, 4003, 4004, 4010, 4029]) {
    test(`${code}: never reconnect`, async () => {
      const { WS, spectator, named, clock } = setup();
      spectator.connect();
      admit(WS).serverClose(code);
      clock.advance(60000);
      assert.equal(WS.instances.length, 1);
      assert.equal(named("reconnecting").length, 0);
      assert.equal((await spectator.done).code, code);
    });
  }

  test("4001: a fresh spectate access first, then its token", async () => {
    const asked = [];
    const { WS, spectator, named, clock } = setup({
      refreshAccess: async (matchId) => {
        asked.push(matchId);
        return { ...ACCESS, token: "st-2" };
      },
    });
    spectator.connect();
    admit(WS).serverClose(4001, "token expired");
    assert.equal(named("reconnecting")[0].refresh, true);
    await clock.run(300);
    assert.deepEqual(asked, ["m_1"]);
    assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.st-2"]);
    assert.equal(named("access")[0].token, "st-2");
  });

  test("4001: a refused spectate access (403) ends it; without a way to one, so does the 4001", async () => {
    const refused = setup({
      refreshAccess: async () => {
        throw new ApiError(403, "forbidden", "not allowed to watch");
      },
    });
    refused.spectator.connect();
    admit(refused.WS).serverClose(4001);
    await refused.clock.run(1000);
    assert.equal(refused.WS.instances.length, 1);
    assert.equal((await refused.spectator.done).code, 4001);

    const bare = setup();
    bare.spectator.connect();
    admit(bare.WS).serverClose(4001);
    assert.equal((await bare.spectator.done).code, 4001);
    assert.equal(bare.named("reconnecting").length, 0);
  });
});

describe("silence", () => {
  test("the delay is no silence: the first ping after delay_ms + 1 s, dead 2 s later", () => {
    const { WS, spectator, named, clock } = setup();
    spectator.connect();
    const ws = admit(WS); // delay_ms 2000
    clock.advance(2999);
    assert.equal(ws.sentOfType("ping").length, 0);
    clock.advance(1);
    assert.equal(ws.sentOfType("ping").length, 1);
    clock.advance(1999);
    assert.equal(named("reconnecting").length, 0);
    clock.advance(1);
    assert.equal(named("reconnecting")[0].reason, "silence");
    assert.equal(ws.terminated, true);
    assert.equal(spectator.socket.sockets, 1);
  });

  test("a waiting match: each overdue ping answered, the socket lives", () => {
    const { WS, named, spectator, clock } = setup();
    spectator.connect();
    const ws = admit(WS, { status: "waiting" });
    for (let i = 0; i < 5; i++) {
      clock.advance(3000);
      const ping = ws.sentOfType("ping").at(-1);
      assert.ok(ping, `ping ${i}`);
      clock.advance(30);
      ws.receive({ type: "pong", t: ping.t, tick: 0 });
    }
    assert.equal(ws.sentOfType("ping").length, 5);
    assert.equal(named("reconnecting").length, 0);
    assert.equal(spectator.rtt, 30);
  });

  test("once the feed flows: a ping after 1 s without a frame, dead 2 s later", () => {
    const { WS, named, spectator, clock } = setup();
    spectator.connect();
    const ws = admit(WS);
    feed(ws, clock, 915, 1200); // 10 a second: no ping needed
    assert.equal(ws.sentOfType("ping").length, 0);
    clock.advance(1000);
    assert.equal(ws.sentOfType("ping").length, 1);
    clock.advance(1999);
    assert.equal(named("reconnecting").length, 0);
    clock.advance(1);
    assert.equal(named("reconnecting").length, 1);
  });

  test("a slow feed: three snapshot periods of quiet before a ping", () => {
    const { WS, spectator, clock } = setup({ access: { ...ACCESS, live: false } });
    spectator.connect();
    const ws = admit(WS, { live: false, delay_ms: 0, rate_hz: 1, speed: 0.5 }); // one per 2 s
    ws.receive(snapshot(0, 0));
    clock.advance(5999);
    assert.equal(ws.sentOfType("ping").length, 0);
    clock.advance(1);
    assert.equal(ws.sentOfType("ping").length, 1);
  });

  test("a keepalive ping every 20 s while the snapshots flow (the server's 60 s idle rule)", () => {
    const { WS, spectator, clock } = setup();
    spectator.connect();
    const ws = admit(WS);
    feed(ws, clock, 915, 915 + 3 * 449); // 45 s of snapshots
    assert.equal(ws.sentOfType("ping").length, 2);
    assert.equal(spectator.stats.pings, 2);
  });

  test("the rule's times", () => {
    assert.deepEqual(spectatorSilence({ rate_hz: 10, speed: 1, delay_ms: 2000 }, false), {
      pingAfterMs: 3000,
      deadAfterMs: 5000,
    });
    assert.deepEqual(spectatorSilence({ rate_hz: 10, speed: 1, delay_ms: 2000 }, true), {
      pingAfterMs: 1000,
      deadAfterMs: 3000,
    });
    assert.deepEqual(spectatorSilence({ rate_hz: 2, speed: 0.25, delay_ms: 0 }, true), {
      pingAfterMs: 6000,
      deadAfterMs: 8000,
    });
  });
});

describe("client.spectate", () => {
  function fakeClient(answers) {
    const calls = [];
    const fetch = async (url, init) => {
      calls.push({ url, method: init.method, body: init.body && JSON.parse(init.body), auth: init.headers.Authorization });
      const body = answers.shift();
      const status = body.error ? 403 : 200;
      return {
        ok: status === 200,
        status,
        statusText: "",
        headers: { get: () => null },
        text: async () => JSON.stringify(body),
      };
    };
    const WS = fakeWebSocketClass();
    const clock = new FakeClock();
    const client = new SkirmishClient("https://game.example", { fetch, WebSocket: WS, clock, token: "pt" });
    return { client, calls, WS, clock };
  }

  test("a live match: POST spectate with the code, then its ws_path (no speed)", async () => {
    const { client, calls, WS } = fakeClient([{ ...ACCESS, code: "W4TCH1" }]);
    const spectator = await client.spectate("m_1", { code: " W4TCH1 ", speed: 4 });
    assert.deepEqual(calls[0], {
      url: "https://game.example/v1/matches/m_1/spectate",
      method: "POST",
      body: { code: "W4TCH1" },
      auth: "Bearer pt",
    });
    assert.equal(WS.last.url, "wss://game.example/ws/matches/m_1/spectate");
    assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.st-1"]);
    assert.equal(spectator.access.code, "W4TCH1");
    spectator.close();
  });

  test("a recording: ?speed= on the socket; a 4001 asks again with the same code", async () => {
    const recording = { ...ACCESS, live: false, delay_ms: 0 };
    const { client, calls, WS, clock } = fakeClient([recording, { ...recording, token: "st-9" }]);
    const spectator = await client.spectate("m_1", { code: "W4TCH1", speed: 16, random: () => 0 });
    assert.equal(WS.last.url, "wss://game.example/ws/matches/m_1/spectate?speed=16");
    WS.last.open();
    WS.last.receive(spectating({ live: false, speed: 16 }));
    WS.last.serverClose(4001);
    await clock.run(300);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1].body, { code: "W4TCH1" });
    assert.equal(WS.instances.length, 2);
    assert.equal(WS.last.url, "wss://game.example/ws/matches/m_1/spectate?speed=16");
    assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.st-9"]);
    spectator.close();
  });

  test("without a code the body is empty; a refusal is the ApiError; speeds are checked", async () => {
    const { client, calls, WS } = fakeClient([{ error: { code: "forbidden", message: "players only" } }]);
    await assert.rejects(client.spectate("m_1"), (err) => err.status === 403 && err.code === "forbidden");
    assert.deepEqual(calls[0].body, {});
    assert.equal(WS.instances.length, 0);
    for (const speed of [0.2, 17, Number.NaN, "2"]) {
      await assert.rejects(client.spectate("m_1", { speed }), RangeError);
    }
    assert.equal(calls.length, 1, "a bad speed asks nothing");
    assert.equal(spectatePath("m/1"), "/ws/matches/m%2F1/spectate");
  });

  test("a lobby's spectators policy is sent when chosen", async () => {
    const { client, calls } = fakeClient([{ id: "l_1" }, { id: "l_2" }]);
    await client.createLobby({ name: "open", spectators: "link" });
    await client.createLobby({ name: "default" });
    assert.equal(calls[0].body.spectators, "link");
    assert.equal("spectators" in calls[1].body, false);
  });
});
