// Against a real server (one pod, started here): REST calls, two SDK clients playing an
// arena match to its result, lobbies, errors, and the socket's refusals.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import WebSocket from "ws";

import { ApiError, LobbyError, SkirmishClient } from "../../src/skirmish.js";
import { autoplay, within } from "./play.js";
import { ADMIN_TOKEN, LIVE, freezingProxy, startServer } from "./servers.js";

const ENV = {
  SKIRMISH_MATCH_TARGET_SIZE: "2",
  SKIRMISH_MATCH_FILL_SECONDS: "1",
  SKIRMISH_MATCH_START_WAIT_SECONDS: "5",
  SKIRMISH_MATCHER_INTERVAL_SECONDS: "0.1",
  SKIRMISH_ARENA_TIME_LIMIT_SECONDS: "4",
  SKIRMISH_ARENA_SCORE_LIMIT: "1000",
  SKIRMISH_RECORD_REPLAYS: "true",
  SKIRMISH_ADMIN_TOKEN: ADMIN_TOKEN,
  SKIRMISH_LOG_FORMAT: "text",
  POD_NAME: "sdk-pod",
};

/** Seqs applied for `slot` in a replay, in the order applied. */
export function appliedSeqs(replay, slot) {
  return replay.inputs.filter(([, s, msg]) => s === slot && msg).map(([, , msg]) => msg.seq);
}

describe("one pod", { skip: !LIVE && "SKIRMISH_LIVE=0" }, () => {
  let server;
  const client = (name) => new SkirmishClient(server.url, { WebSocket });

  before(async () => {
    server = await startServer(ENV);
  });
  after(async () => {
    if (server) await server.stop();
  });

  test("two clients queue for the arena and play to the result", async () => {
    const [ada, bob] = [client(), client()];
    const [pa, pb] = await Promise.all([ada.guest("ada"), bob.guest("bob")]);
    assert.ok(pa.token && pa.player_id.length > 0);
    const modes = await ada.modes();
    const arena = modes.find((m) => m.name === "arena");
    assert.equal(arena.tick_rate, 30);
    assert.deepEqual(arena.input_schema.required, ["dx", "dy", "aim", "fire"]);

    const polls = [];
    const [accessA, accessB] = await within(
      15000,
      Promise.all([
        ada.queue("arena", { onTicket: (t) => polls.push(t.status) }),
        bob.queue("arena"),
      ]),
      "matchmaking",
    );
    assert.equal(accessA.match_id, accessB.match_id);
    assert.match(accessA.ws_path, /^\/ws\/matches\//);

    const sa = ada.connect(accessA);
    const sb = bob.connect(accessB);
    const ra = autoplay(sa, 1);
    const rb = autoplay(sb, 2);
    const welcome = await sa.ready;
    assert.equal(welcome.mode, "arena");
    assert.equal(welcome.last_seq, 0);
    assert.equal(sa.pod, "sdk-pod", "x-skirmish-pod of the handshake");
    const [ca, cb] = await within(20000, Promise.all([sa.done, sb.done]), "the match to end");
    for (const [closed, rec] of [[ca, ra], [cb, rb]]) {
      assert.equal(closed.code, 1000);
      assert.equal(closed.gaveUp, false);
      assert.ok(rec.result, "a result came");
      assert.equal(rec.reconnecting.length, 0);
      assert.ok(rec.sent.length > 60, `${rec.sent.length} inputs sent`);
    }
    assert.equal(ca.result.match_id, accessA.match_id);
    assert.deepEqual(ca.result, cb.result);
    assert.equal(ca.result.reason, "time_limit");
    assert.equal(sa.status, "finished");

    const info = await bob.getMatch(accessA.match_id);
    assert.equal(info.status, "finished");
    assert.equal(info.result.winner, ca.result.winner);

    // every input each client sent, up to the last ack it saw, applied once and in order
    const replay = await ada.replay(accessA.match_id);
    for (const [session, rec] of [[sa, ra], [sb, rb]]) {
      const applied = appliedSeqs(replay, session.slot);
      assert.deepEqual(applied, rec.sent.filter((s) => s <= rec.lastAck));
    }
  });

  test("lobbies: create, list, join, ready, start; both get their match access", async () => {
    const [host, guest, third] = [client(), client(), client()];
    await Promise.all([host.guest("host"), guest.guest("guest"), third.guest("third")]);
    const lobby = await host.createLobby({ mode: "arena", name: "sdk lobby", maxPlayers: 2 });
    assert.equal(lobby.status, "open");
    assert.equal(lobby.host_id, host.player.player_id);

    const extra = await third.createLobby({ mode: "arena", name: "another", maxPlayers: 2 });
    const page = await guest.listLobbies({ limit: 1 });
    assert.equal(page.lobbies.length, 1);
    assert.ok(page.next, "a next page");
    const all = await guest.listAllLobbies({ pageSize: 1 });
    const ids = all.map((l) => l.id);
    assert.ok(ids.includes(lobby.id) && ids.includes(extra.id), ids.join());

    const joined = await guest.joinLobby(lobby.id);
    assert.equal(joined.members.length, 2);
    await assert.rejects(guest.joinLobby(extra.id), (err) => err instanceof ApiError && err.status === 409 && err.code === "already_in_lobby");
    await third.leaveLobby(extra.id);

    const waiting = guest.waitLobbyStarted(lobby.id, { pollMs: 250 });
    await host.setReady(lobby.id, true);
    const ready = await guest.setReady(lobby.id, true);
    assert.ok(ready.members.every((m) => m.ready));
    const started = await host.startLobby(lobby.id);
    assert.equal(started.status, "started");
    const guestAccess = await within(5000, waiting, "the guest's wait");
    assert.equal(guestAccess.match_id, started.match.match_id);
    assert.notEqual(guestAccess.token, started.match.token);

    const outsider = third.waitLobbyStarted(lobby.id);
    await assert.rejects(outsider, (err) => err instanceof LobbyError && err.status === "started_without_you");

    // a fresh token, and the match as REST shows it
    const fresh = await guest.matchToken(guestAccess.match_id);
    assert.equal(fresh.match_id, guestAccess.match_id);
    const info = await host.getMatch(started.match.match_id);
    assert.deepEqual(info.players.map((p) => p.name).sort(), ["guest", "host"]);
    await assert.rejects(host.replay(info.id), (err) => err.status === 409);
  });

  test("REST errors are ApiErrors with the body's code", async () => {
    const anon = client();
    await assert.rejects(anon.createTicket("arena"), (err) => err instanceof ApiError && err.status === 401 && err.code === "unauthorized");
    const c = client();
    await c.guest("errs");
    await assert.rejects(c.createTicket("nope"), (err) => err.status === 404 && err.code === "not_found" && /nope/.test(err.message));
    await assert.rejects(c.request("POST", "/v1/matchmaking/tickets", { mode: "arena", x: 1 }), (err) => err.status === 422 && err.code === "invalid_body" && /^x: /.test(err.message));
    await assert.rejects(c.getMatch("m_doesnotexist"), (err) => err.status === 404 && err.code === "not_found");
    await assert.rejects(c.listLobbies({ limit: 0 }), (err) => err.status === 422 && err.code === "invalid_query");
    await assert.rejects(c.guest("!!"), (err) => err.status === 422 && err.code === "invalid_body");
  });

  /** A started two-player lobby: [clientA, accessA, clientB, accessB]. */
  async function lobbyMatch(names) {
    const [a, b] = [client(), client()];
    await Promise.all([a.guest(names[0]), b.guest(names[1])]);
    const lobby = await a.createLobby({ mode: "arena", name: names.join("-"), maxPlayers: 2 });
    await b.joinLobby(lobby.id);
    await Promise.all([a.setReady(lobby.id), b.setReady(lobby.id)]);
    const started = await a.startLobby(lobby.id);
    const accessB = await b.waitLobbyStarted(lobby.id);
    return [a, started.match, b, accessB];
  }

  test("a bad token (4001): a fresh one from the API, then in", async () => {
    const [a, access] = await lobbyMatch(["tok1", "tok2"]);
    const session = a.connect({ ...access, token: `${access.token}x` });
    const events = [];
    session.on("reconnecting", (ev) => events.push(ev));
    session.on("token", () => events.push("token"));
    const welcome = await within(5000, session.ready, "welcome after a fresh token");
    assert.equal(welcome.match_id, access.match_id);
    assert.equal(events[0].code, 4001);
    assert.equal(events[0].refresh, true);
    assert.equal(events[1], "token");
    assert.notEqual(session.access.token, `${access.token}x`);
    session.close();
    const closed = await session.done;
    assert.equal(closed.code, 1000);
  });

  test("not a player of the match (4003) and replaced (4009) are final", async () => {
    const [a, access, b] = await lobbyMatch(["own1", "own2"]);
    const [, otherAccess] = await lobbyMatch(["oth1", "oth2"]);
    // the path of one match, a token for another
    const wrong = b.connect({ ...otherAccess, token: access.token });
    const closedWrong = await within(5000, wrong.done, "4003");
    assert.equal(closedWrong.code, 4003);
    await assert.rejects(wrong.ready, (err) => err.code === 4003);

    const first = a.connect(access);
    await first.ready;
    const second = a.connect(access);
    await second.ready;
    const closedFirst = await within(5000, first.done, "4009");
    assert.equal(closedFirst.code, 4009);
    assert.equal(first.socket.sockets, 1, "no reconnect after 4009");
    second.close();
  });

  test("a frozen connection: a ping after 500 ms, a new socket after 1 s, play goes on", async () => {
    const [a, accessA, b, accessB] = await lobbyMatch(["ice1", "ice2"]);
    const proxy = await freezingProxy(new URL(server.url).port);
    try {
      const frozen = a.connect(accessA, { url: (acc) => `ws://127.0.0.1:${proxy.port}${acc.ws_path}` });
      const direct = b.connect(accessB);
      const [ra] = [autoplay(frozen, 5), autoplay(direct, 6)];
      const deadline = Date.now() + 10000;
      while (ra.lastTick < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(ra.lastTick >= 20, "the match runs");
      const pings = [];
      const send = frozen.socket.send.bind(frozen.socket);
      frozen.socket.send = (msg) => {
        if (msg.type === "ping") pings.push(Date.now());
        return send(msg);
      };
      const frozenAt = Date.now();
      proxy.freeze();
      const drop = await within(5000, frozen.next("drop"), "the silence rule");
      const silentFor = Date.now() - frozenAt;
      assert.equal(drop.code, 1006);
      assert.equal(drop.reason, "silence");
      assert.ok(silentFor >= 950 && silentFor < 1800, `dropped after ${silentFor} ms`);
      assert.ok(proxy.held > 0, "bytes went into the frozen connection");
      assert.equal(pings.length, 1, "one ping into the silence");
      const pingAfter = pings[0] - frozenAt;
      assert.ok(pingAfter >= 450 && pingAfter < 1000, `pinged after ${pingAfter} ms`);
      await within(5000, frozen.next("welcome"), "a welcome on a new socket");
      const closed = await within(15000, Promise.all([frozen.done, direct.done]), "the result");
      assert.deepEqual(closed.map((c) => c.code), [1000, 1000]);
      assert.ok(closed[0].result);
      assert.equal(frozen.socket.sockets, 2);
    } finally {
      proxy.close();
    }
  });
});
