// MatchSession's chat against a fake WebSocket: the line it sends (trimmed, `team` only
// when true), what it refuses before sending, nothing kept while disconnected, and the
// players' lines and the operators' announcements as events.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { CHAT_MAX_CHARS, MatchSession, chatLine } from "../../src/match.js";
import { ACCESS, FakeClock, fakeWebSocketClass, welcome } from "./fakes.js";

function setup() {
  const clock = new FakeClock();
  const WS = fakeWebSocketClass();
  const session = new MatchSession({
    access: ACCESS,
    url: (access) => `ws://example.test${access.ws_path}`,
    WebSocket: WS,
    clock,
    random: () => 0.5,
  });
  const events = [];
  for (const name of ["chat", "announcement", "error", "message", "reconnecting"]) {
    session.on(name, (ev) => events.push([name, ev]));
  }
  const named = (name) => events.filter(([n]) => n === name).map(([, ev]) => ev);
  return { clock, WS, session, named };
}

function admit(WS, fields = {}) {
  const ws = WS.last;
  ws.open();
  ws.receive(welcome(fields));
  return ws;
}

const CTF = { mode: "ctf", teams: 2, slot: 2 };

describe("match chat", () => {
  test("sends the trimmed line to all; `team` only when true", () => {
    const { WS, session } = setup();
    session.connect();
    const ws = admit(WS, CTF);
    assert.equal(session.chat("  <b>gg</b> ☃ "), true);
    assert.equal(session.chat("flag at their base", { team: true }), true);
    assert.equal(session.chat("to all", { team: false }), true);
    assert.deepEqual(ws.sentOfType("chat"), [
      { type: "chat", text: "<b>gg</b> ☃" },
      { type: "chat", text: "flag at their base", team: true },
      { type: "chat", text: "to all" },
    ]);
    assert.equal(session.chat("☃".repeat(CHAT_MAX_CHARS)), true, "200 characters, however many UTF-16 units");
    assert.equal(session.seq, 0, "a line is no input: seqs untouched");
    assert.deepEqual(session.pending.seqs(), []);
  });

  test("no string, blank or over 200 characters: an error before anything is sent", () => {
    const { WS, session } = setup();
    session.connect();
    const ws = admit(WS, CTF);
    assert.throws(() => session.chat(7), { name: "TypeError", message: /a chat line is a string, not number/ });
    assert.throws(() => session.chat(undefined), TypeError);
    assert.throws(() => session.chat(" \n\t "), { name: "RangeError", message: /1 to 200 characters once trimmed \(this one has 0\)/ });
    assert.throws(() => session.chat("x".repeat(201)), { name: "RangeError", message: /this one has 201/ });
    assert.throws(() => session.chat("hi", { team: "yes" }), TypeError);
    assert.deepEqual(ws.sent, [], "nothing went out");
    assert.equal(chatLine("  ok "), "ok");
  });

  test("a team line in a mode without teams is refused before sending", () => {
    const { WS, session } = setup();
    session.connect();
    const ws = admit(WS, { teams: 0 });
    assert.throws(() => session.chat("hi", { team: true }), { name: "RangeError", message: /needs a mode with teams/ });
    assert.equal(session.chat("hi"), true);
    assert.deepEqual(ws.sentOfType("chat"), [{ type: "chat", text: "hi" }]);
  });

  test("while not connected: false, nothing kept, nothing resent after the reconnect", () => {
    const { WS, session, named, clock } = setup();
    session.connect();
    assert.equal(session.chat("too early"), false, "no socket yet");
    WS.last.open();
    assert.equal(session.chat("before the welcome"), false, "open, not welcomed");
    WS.last.receive(welcome());
    const first = WS.last;
    assert.equal(session.chat("sent"), true);
    first.serverClose(1006);
    assert.equal(session.chat("while away"), false);
    clock.advance(named("reconnecting")[0].delay);
    const second = admit(WS, { last_seq: 0 });
    assert.notEqual(second, first);
    assert.deepEqual(first.sentOfType("chat").map((m) => m.text), ["sent"]);
    assert.deepEqual(second.sentOfType("chat"), [], "no line resent");
    assert.equal(session.chat("back"), true);
    assert.deepEqual(second.sentOfType("chat").map((m) => m.text), ["back"]);
  });

  test("the players' lines and the operators' announcements come as events", () => {
    const { WS, session, named } = setup();
    session.connect();
    const ws = admit(WS, CTF);
    const line = {
      type: "chat",
      player_id: "p_3",
      name: "bob",
      slot: 0,
      team: true,
      text: "<img src=x onerror=alert(1)>",
      at: "2026-01-01T00:00:01.000Z",
    };
    const notice = { type: "announcement", text: "restart at noon", at: "2026-01-01T00:00:02.000Z" };
    ws.receive(line);
    ws.receive(notice);
    ws.receive({ type: "error", code: "rate_limited", message: "slow down" });
    assert.deepEqual(named("chat"), [line], "as it came: the text is the app's to show as text");
    assert.deepEqual(named("announcement"), [notice]);
    assert.equal(named("error")[0].code, "rate_limited");
    assert.deepEqual(named("message").map((m) => m.type), ["welcome", "chat", "announcement", "error"]);
  });
});
