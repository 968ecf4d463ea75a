// MatchSession and ReconnectingSocket against a fake WebSocket and a hand-driven clock: the
// reconnect policy's decisions as they play out, and the pending/resend bookkeeping.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ApiError } from "../../src/errors.js";
import { MatchSession } from "../../src/match.js";
import { ACCESS, FakeClock, fakeWebSocketClass, flush, snapshot, welcome } from "./fakes.js";

function setup(options = {}) {
  const clock = new FakeClock();
  const WS = fakeWebSocketClass();
  const events = [];
  const session = new MatchSession({
    access: ACCESS,
    url: (access) => `ws://example.test${access.ws_path}`,
    WebSocket: WS,
    clock,
    random: () => 0.5,
    ...options,
  });
  for (const name of ["welcome", "waiting", "start", "snapshot", "result", "error", "reconnecting", "closed", "drop", "resent", "pong", "reconnect"]) {
    session.on(name, (ev) => events.push([name, ev]));
  }
  const named = (name) => events.filter(([n]) => n === name).map(([, ev]) => ev);
  return { clock, WS, session, events, named };
}

/** Open the newest socket and welcome it. */
function admit(WS, fields = {}) {
  const ws = WS.last;
  ws.open();
  ws.receive(welcome(fields));
  return ws;
}

describe("the socket", () => {
  test("offers skirmish.v1 and the token, reads binary frames", async () => {
    const { WS, session, named } = setup();
    session.connect();
    const ws = WS.last;
    assert.equal(ws.url, "ws://example.test/ws/matches/m_1");
    assert.deepEqual(ws.protocols, ["skirmish.v1", "token.tok-1"]);
    assert.equal(ws.binaryType, "arraybuffer");
    ws.open();
    ws.receive(welcome({ slot: 1 }));
    ws.receive({ type: "waiting", connected: [1], starts_in_ms: 900 });
    ws.receive({ type: "start", tick: 0 });
    ws.receive(snapshot(1, 0));
    assert.equal((await session.ready).slot, 1);
    assert.equal(session.slot, 1);
    assert.equal(named("waiting").length, 1);
    assert.equal(named("start").length, 1);
    assert.equal(named("snapshot")[0].tick, 1);
    assert.equal(session.status, "running");
    assert.equal(session.connection, "open");
  });

  test("the match is over: result, then 1000, no reconnect", async () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    const ws = admit(WS);
    ws.receive({ type: "result", match_id: "m_1", winner: "p_1", reason: "time_limit", tick: 9, players: [] });
    ws.serverClose(1000, "match over");
    clock.advance(60000);
    assert.equal(WS.instances.length, 1);
    const closed = await session.done;
    assert.equal(closed.code, 1000);
    assert.equal(closed.gaveUp, false);
    assert.equal(closed.result.winner, "p_1");
    assert.equal(session.status, "finished");
    assert.equal(named("reconnecting").length, 0);
  });
});

describe("close codes", () => {
  for (const code of [1001, 1006, 1011, 1012, 1013, 4008]) {
    test(`${code}: reconnect to the same path with the same token`, () => {
      const { WS, session, named, clock } = setup();
      session.connect();
      admit(WS);
      WS.last.serverClose(code);
      const [rec] = named("reconnecting");
      assert.equal(rec.code, code);
      assert.equal(rec.attempt, 0);
      assert.equal(WS.instances.length, 1);
      clock.advance(rec.delay);
      assert.equal(WS.instances.length, 2);
      assert.equal(WS.last.url, "ws://example.test/ws/matches/m_1");
      assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.tok-1"]);
      assert.equal(session.connection, "reconnecting");
      admit(WS);
      assert.equal(session.connection, "open");
    });
  }

  for (const code of [1000, 1008, 1009, 4003, 4004, 4009, 4010, 4029]) {
    test(`${code}: never reconnect`, async () => {
      const { WS, session, named, clock } = setup();
      session.connect();
      admit(WS);
      WS.last.serverClose(code);
      clock.advance(60000);
      assert.equal(WS.instances.length, 1);
      assert.equal(named("reconnecting").length, 0);
      const closed = await session.done;
      assert.equal(closed.code, code);
      assert.equal(session.connection, "closed");
    });
  }

  test("4001: a fresh token first, then the same path with it", async () => {
    const calls = [];
    const { WS, session, named, clock } = setup({
      refreshToken: async (matchId) => {
        calls.push(matchId);
        return { ...ACCESS, token: "tok-2" };
      },
    });
    session.connect();
    admit(WS);
    WS.last.serverClose(4001, "token expired");
    assert.equal(named("reconnecting")[0].refresh, true);
    await clock.run(300);
    assert.deepEqual(calls, ["m_1"]);
    assert.equal(WS.instances.length, 2);
    assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.tok-2"]);
    admit(WS);
    // the fresh token stays: a later drop reconnects with it, without asking again
    WS.last.serverClose(1006);
    await clock.run(300);
    assert.deepEqual(calls, ["m_1"]);
    assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.tok-2"]);
  });

  test("4001: a refused token call ends the attempts", async () => {
    const { WS, session, clock } = setup({
      refreshToken: async () => {
        throw new ApiError(403, "forbidden", "not a player of this match");
      },
    });
    session.connect();
    admit(WS);
    WS.last.serverClose(4001);
    await clock.run(1000);
    assert.equal(WS.instances.length, 1);
    const closed = await session.done;
    assert.equal(closed.code, 4001);
  });

  test("4001: a token call that gets no answer is tried again on the next attempt", async () => {
    let n = 0;
    const { WS, session, named, clock } = setup({
      refreshToken: async () => {
        n++;
        if (n === 1) throw new ApiError(0, "network", "cannot reach the server");
        return { ...ACCESS, token: "tok-3" };
      },
    });
    session.connect();
    admit(WS);
    WS.last.serverClose(4001);
    await clock.run(2000);
    assert.equal(n, 2);
    assert.equal(WS.instances.length, 2);
    assert.deepEqual(WS.last.protocols, ["skirmish.v1", "token.tok-3"]);
    assert.deepEqual(named("reconnecting").map((r) => r.attempt), [0, 1]);
  });

  test("a handshake with no answer reconnects (the socket never opens)", () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    WS.last.serverClose(1006); // refused before open: a browser says 1006 for any refusal
    assert.equal(named("reconnecting").length, 1);
    clock.advance(1000);
    assert.equal(WS.instances.length, 2);
  });

  test("a handshake that hangs is given up after openTimeoutMs", () => {
    const { WS, session, named, clock } = setup({ openTimeoutMs: 2000 });
    session.connect();
    clock.advance(1999);
    assert.equal(named("reconnecting").length, 0);
    clock.advance(1);
    assert.equal(WS.instances[0].terminated, true);
    assert.equal(named("reconnecting")[0].code, 1006);
  });
});

describe("back-off", () => {
  test("attempts back off to 4 s with jitter; a welcome starts over", () => {
    const { WS, session, named, clock } = setup({ random: () => 0 });
    session.connect();
    admit(WS);
    for (let i = 0; i < 7; i++) {
      WS.last.serverClose(1006);
      clock.advance(named("reconnecting").at(-1).delay);
    }
    assert.deepEqual(
      named("reconnecting").map((r) => [r.attempt, r.delay]),
      [[0, 125], [1, 250], [2, 500], [3, 1000], [4, 2000], [5, 2000], [6, 2000]],
    );
    admit(WS);
    WS.last.serverClose(1006);
    assert.deepEqual([named("reconnecting").at(-1).attempt, named("reconnecting").at(-1).delay], [0, 125]);
  });

  test("the first attempt after a 1012 waits at most 250 ms", () => {
    const { WS, session, named, clock } = setup({ random: () => 0.999 });
    session.connect();
    admit(WS);
    for (let i = 0; i < 4; i++) {
      WS.last.serverClose(1006);
      clock.advance(named("reconnecting").at(-1).delay);
    }
    WS.last.open();
    WS.last.receive({ type: "reconnect", reason: "server_restarting" });
    WS.last.serverClose(1012);
    const rec = named("reconnecting").at(-1);
    assert.equal(rec.attempt, 4);
    assert.equal(rec.code, 1012);
    assert.ok(rec.delay <= 250, `${rec.delay}`);
    assert.equal(named("reconnect").length, 1);
  });

  test("gives up after 30 s without a welcome", async () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    admit(WS);
    for (let tick = 11; tick < 161; tick++) {
      clock.advance(33);
      WS.last.receive(snapshot(tick, 0));
    }
    WS.last.serverClose(1006);
    const lostAt = clock.t;
    while (session.connection !== "closed" && clock.t < lostAt + 60000) {
      clock.advance(50);
      const ws = WS.last;
      if (ws.readyState === 0) ws.serverClose(1006);
    }
    const closed = await session.done;
    assert.equal(closed.gaveUp, true);
    assert.equal(closed.code, 1006);
    assert.ok(clock.t - lostAt >= 30000 && clock.t - lostAt <= 30050, `${clock.t - lostAt}`);
    assert.ok(named("reconnecting").length >= 8);
  });

  test("sockets that open but never welcome count as no welcome", async () => {
    const { WS, session, clock } = setup();
    session.connect();
    const first = WS.last;
    first.open(); // no welcome ever: silence closes each socket after 1 s
    let t = 0;
    while (session.connection !== "closed" && t < 40000) {
      clock.advance(100);
      t += 100;
      if (WS.last.readyState === 0) WS.last.open();
    }
    const closed = await session.done;
    assert.equal(closed.gaveUp, true);
    assert.ok(t >= 30000 && t <= 30100, `${t}`);
    assert.ok(WS.instances.length > 3);
  });

  test("ready rejects when the session ends before a welcome", async () => {
    const { WS, session } = setup();
    session.connect();
    WS.last.open();
    WS.last.serverClose(4004, "match not found");
    await assert.rejects(session.ready, (err) => err.name === "MatchClosedError" && err.code === 4004);
  });
});

describe("silence", () => {
  test("a ping after 500 ms without a frame, a new socket after 1 s", () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    const ws = admit(WS);
    clock.advance(499);
    assert.equal(ws.sentOfType("ping").length, 0);
    clock.advance(1);
    assert.equal(ws.sentOfType("ping").length, 1);
    assert.equal(ws.sentOfType("ping")[0].t, clock.t);
    clock.advance(499);
    assert.equal(named("reconnecting").length, 0);
    clock.advance(1);
    assert.equal(ws.terminated, true);
    assert.equal(ws.sentOfType("ping").length, 1);
    const [rec] = named("reconnecting");
    assert.equal(rec.code, 1006);
    assert.equal(rec.reason, "silence");
    clock.advance(rec.delay);
    assert.equal(WS.instances.length, 2);
  });

  test("a pong is a frame: the socket lives", () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    const ws = admit(WS);
    for (let i = 0; i < 10; i++) {
      clock.advance(500);
      const [ping] = ws.sentOfType("ping").slice(-1);
      assert.ok(ping, `ping ${i}`);
      clock.advance(20);
      ws.receive({ type: "pong", t: ping.t, tick: 1 });
    }
    assert.equal(ws.sentOfType("ping").length, 10);
    assert.equal(named("reconnecting").length, 0);
    assert.equal(named("pong").at(-1).rtt, 20);
    assert.equal(session.rtt, 20);
  });

  test("snapshots at the tick rate: no ping, no reconnect", () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    const ws = admit(WS);
    for (let tick = 11; tick < 300; tick++) {
      clock.advance(33);
      ws.receive(snapshot(tick, 0));
    }
    assert.equal(ws.sentOfType("ping").length, 0);
    assert.equal(named("reconnecting").length, 0);
  });

  test("3 ticks for a mode slower than 3 Hz", () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    const ws = admit(WS, { tick_rate: 2 });
    clock.advance(500);
    assert.equal(ws.sentOfType("ping").length, 1);
    clock.advance(999);
    assert.equal(named("reconnecting").length, 0);
    clock.advance(1);
    assert.equal(named("reconnecting").length, 1);
  });
});

describe("pending inputs", () => {
  const fields = (dx) => ({ dx, dy: 0, aim: 0, fire: false });

  test("each sent input is kept until acked; resent above last_seq, in order, before anything new", () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    const ws = admit(WS);
    for (let i = 1; i <= 6; i++) assert.equal(session.sendInput(fields(i / 10)), i);
    assert.deepEqual(ws.sentOfType("input").map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
    ws.receive(snapshot(11, 2));
    assert.deepEqual(session.pending.seqs(), [3, 4, 5, 6]);
    ws.serverClose(1006);
    assert.equal(session.sendInput(fields(1)), null); // no socket: nothing sent, nothing kept
    assert.deepEqual(session.pending.seqs(), [3, 4, 5, 6]);
    clock.advance(named("reconnecting")[0].delay);
    const ws2 = WS.last;
    // the app sends at once on welcome: it must come after the resend
    session.once("welcome", () => session.sendInput(fields(0.7)));
    ws2.open();
    ws2.receive(welcome({ last_seq: 4 }));
    const inputs = ws2.sentOfType("input");
    assert.deepEqual(inputs.map((m) => m.seq), [5, 6, 7]);
    assert.deepEqual(inputs[0], { type: "input", seq: 5, dx: 0.5, dy: 0, aim: 0, fire: false });
    assert.deepEqual(named("resent")[0], { seqs: [5, 6], lastSeq: 4 });
    assert.equal(session.stats.resent, 2);
    // 3 and 4 are the server's: kept until acked, never resent
    assert.deepEqual(session.pending.seqs(), [3, 4, 5, 6, 7]);
    ws2.receive(snapshot(12, 5));
    assert.deepEqual(session.pending.seqs(), [6, 7]);
  });

  test("resend after each welcome, once per welcome", () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    admit(WS);
    session.sendInput(fields(0.1));
    session.sendInput(fields(0.2));
    for (let round = 0; round < 3; round++) {
      WS.last.serverClose(1012);
      clock.advance(named("reconnecting").at(-1).delay);
      const ws = admit(WS, { last_seq: 0 });
      assert.deepEqual(ws.sentOfType("input").map((m) => m.seq), [1, 2], `round ${round}`);
    }
  });

  test("input_dropped with a seq removes that input", () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    const ws = admit(WS);
    for (let i = 0; i < 5; i++) session.sendInput(fields(0));
    ws.receive({ type: "error", code: "input_dropped", message: "input buffer full", seq: 2 });
    ws.receive({ type: "error", code: "invalid_message", message: "dx: too big" });
    assert.deepEqual(session.pending.seqs(), [1, 3, 4, 5]);
    assert.deepEqual(session.dropped, [2]);
    assert.equal(named("error").length, 2);
    ws.serverClose(1006);
    clock.advance(named("reconnecting")[0].delay);
    const ws2 = admit(WS, { last_seq: 0 });
    assert.deepEqual(ws2.sentOfType("input").map((m) => m.seq), [1, 3, 4, 5]);
  });

  test("seqs continue above the server's last_seq", () => {
    const { WS, session } = setup();
    session.connect();
    const ws = admit(WS, { last_seq: 41 });
    assert.equal(session.sendInput(fields(0)), 42);
    assert.equal(ws.sentOfType("input")[0].seq, 42);
  });

  test("no input before the welcome; numbers must be finite", () => {
    const { WS, session } = setup();
    session.connect();
    WS.last.open();
    assert.equal(session.sendInput(fields(1)), null);
    WS.last.receive(welcome());
    assert.throws(() => session.sendInput({ dx: NaN, dy: 0, aim: 0, fire: false }), RangeError);
    assert.throws(() => session.sendInput({ dx: Infinity, dy: 0, aim: 0, fire: false }), RangeError);
    assert.equal(session.sendInput(fields(1)), 1);
  });

  test("pingIntervalMs pings on a schedule", () => {
    const { WS, session, clock } = setup({ pingIntervalMs: 1000 });
    session.connect();
    const ws = admit(WS);
    for (let tick = 11; tick < 101; tick++) {
      clock.advance(33);
      ws.receive(snapshot(tick, 0));
    }
    assert.equal(ws.sentOfType("ping").length, 2);
  });
});

describe("leaving", () => {
  test("close() ends it: 1000, no reconnect, nothing pending fires", async () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    const ws = admit(WS);
    session.close();
    assert.deepEqual(ws.closedWith, { code: 1000, reason: "client" });
    ws.serverClose(1000);
    clock.advance(60000);
    assert.equal(WS.instances.length, 1);
    assert.equal(named("closed").length, 1);
    assert.notEqual(session.status, "finished");
    await flush();
  });

  test("close() during the back-off cancels the attempt", () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    admit(WS);
    WS.last.serverClose(1006);
    session.close();
    clock.advance(10000);
    assert.equal(WS.instances.length, 1);
    assert.equal(named("closed")[0].code, 1000);
  });
});

describe("the end of a match", () => {
  test("a 4010 without a result: the result from the API", async () => {
    const asked = [];
    const { WS, session } = setup({
      fetchMatch: async (id) => {
        asked.push(id);
        return { id, status: "finished", result: { match_id: id, winner: null, reason: "time_limit", tick: 5, players: [] } };
      },
    });
    session.connect();
    WS.last.open();
    WS.last.serverClose(4010, "match over");
    const closed = await session.done;
    assert.deepEqual(asked, ["m_1"]);
    assert.equal(closed.code, 4010);
    assert.equal(closed.result.type, "result");
    assert.equal(closed.result.reason, "time_limit");
    assert.equal(session.status, "finished");
  });

  test("leaving (1000 from us) asks nothing", async () => {
    let asked = 0;
    const { WS, session } = setup({ fetchMatch: async () => asked++ });
    session.connect();
    admit(WS);
    session.close();
    const closed = await session.done;
    assert.equal(closed.result, null);
    assert.equal(asked, 0);
  });
});

describe("Node's ws extras", () => {
  function nodeLikeClass() {
    const Base = fakeWebSocketClass();
    return class extends Base {
      constructor(url, protocols) {
        super(url, protocols);
        this.listeners = {};
      }
      on(name, fn) {
        (this.listeners[name] ||= []).push(fn);
        return this;
      }
      fire(name, ...args) {
        for (const fn of this.listeners[name] || []) fn(...args);
      }
      terminate() {
        super.terminate();
        this.serverClose(1006); // as ws does for an aborted handshake
      }
    };
  }

  test("the pod from the handshake's x-skirmish-pod", () => {
    const WS = nodeLikeClass();
    const { session } = setup({ WebSocket: WS });
    session.connect();
    WS.last.fire("upgrade", { headers: { "x-skirmish-pod": "pod-7" } });
    WS.last.open();
    assert.equal(session.pod, "pod-7");
  });

  test("a handshake refused with a 4xx is final, a 5xx is retried", async () => {
    const WS = nodeLikeClass();
    const { session, named, clock } = setup({ WebSocket: WS });
    session.connect();
    WS.last.fire("unexpected-response", {}, { statusCode: 503, resume() {} });
    assert.equal(named("reconnecting").length, 1);
    clock.advance(named("reconnecting")[0].delay);
    WS.last.fire("unexpected-response", {}, { statusCode: 404, resume() {} });
    const closed = await session.done;
    assert.equal(closed.httpStatus, 404);
    assert.equal(closed.code, 1006);
    assert.equal(WS.instances.length, 2);
  });
});

describe("before the welcome", () => {
  test("an open socket may wait openTimeoutMs for its welcome (a pod loading the match)", () => {
    const { WS, session, named, clock } = setup({ openTimeoutMs: 5000 });
    session.connect();
    const ws = WS.last;
    ws.open();
    clock.advance(500);
    assert.equal(ws.sentOfType("ping").length, 1);
    clock.advance(4499);
    assert.equal(named("reconnecting").length, 0);
    clock.advance(1);
    assert.equal(named("reconnecting")[0].reason, "silence");
  });

  test("after the welcome, the 1 s rule at once", () => {
    const { WS, named, session, clock } = setup({ openTimeoutMs: 5000 });
    session.connect();
    const ws = WS.last;
    ws.open();
    clock.advance(700); // pinged, still waiting
    ws.receive(welcome());
    clock.advance(999);
    assert.equal(named("reconnecting").length, 0);
    clock.advance(1);
    assert.equal(named("reconnecting").length, 1);
  });
});

test("socket.drop() breaks the socket like the network would: it reconnects", () => {
  const { WS, session, named, clock } = setup();
  session.connect();
  const ws = admit(WS);
  assert.equal(session.socket.drop("debug"), true);
  assert.equal(ws.terminated, true);
  assert.deepEqual([named("reconnecting")[0].code, named("reconnecting")[0].reason], [1006, "debug"]);
  assert.equal(session.socket.drop(), false);
  clock.advance(named("reconnecting")[0].delay);
  admit(WS);
  assert.equal(session.connection, "open");
});
