// Against a real server (one pod, started here): watching a match. Two SDK clients play a
// short arena match of a `link` lobby; a third guest watches it live with the watch code
// its players were given (without it: 403), behind the delay, and gets the players'
// result; the finished match is then watched again from its recording at ×16, to the
// result the API has for it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import WebSocket from "ws";

import { ApiError, SkirmishClient, matchProtocols } from "../../src/skirmish.js";
import { autoplay, within } from "./play.js";
import { LIVE, startServer } from "./servers.js";

const DELAY_S = 1;
const RATE_HZ = 10;
const ENV = {
  SKIRMISH_MATCH_START_WAIT_SECONDS: "5",
  SKIRMISH_SPECTATOR_DELAY_SECONDS: String(DELAY_S),
  SKIRMISH_SPECTATOR_RATE_HZ: String(RATE_HZ),
  SKIRMISH_RECORD_REPLAYS: "true",
  SKIRMISH_LOG_FORMAT: "text",
};
// the arena's settings (its settings_schema at GET /v1/modes): a 3 s match
const SETTINGS = { time_limit_seconds: 3, score_limit: 1000 };

/** Everything a spectator said, in order, with when it came (ms, Date.now()). */
function record(spectator) {
  const seen = { spectating: [], snapshots: [], counts: [], errors: [], result: null, resultAt: 0 };
  spectator.on("spectating", (msg) => seen.spectating.push({ ...msg, at: Date.now() }));
  spectator.on("snapshot", (msg) => seen.snapshots.push({ tick: msg.tick, ack: msg.ack, at: Date.now(), players: msg.players }));
  spectator.on("spectators", (msg) => seen.counts.push(msg.count));
  spectator.on("error", (msg) => seen.errors.push(msg));
  spectator.on("result", (msg) => {
    seen.result = msg;
    seen.resultAt = Date.now();
  });
  return seen;
}

describe("spectators, one pod", { skip: !LIVE && "SKIRMISH_LIVE=0" }, () => {
  let server;
  let played = null; // the match of the first test: {matchId, code, result}
  const client = () => new SkirmishClient(server.url, { WebSocket });

  before(async () => {
    server = await startServer(ENV);
  });
  after(async () => {
    if (server) await server.stop();
  });

  /** A started two-player `link` lobby: [a, accessA, b, accessB]. */
  async function linkMatch() {
    const [a, b] = [client(), client()];
    await Promise.all([a.guest("ada"), b.guest("bob")]);
    const lobby = await a.createLobby({ name: "watched", settings: SETTINGS, spectators: "link" });
    await b.joinLobby(lobby.id);
    await Promise.all([a.setReady(lobby.id), b.setReady(lobby.id)]);
    const started = await a.startLobby(lobby.id);
    const accessB = await b.waitLobbyStarted(lobby.id);
    return [a, started.match, b, accessB];
  }

  test("a running match, live: behind the delay, ack 0, the players' result, then 1000", async () => {
    const [a, accessA, b, accessB] = await linkMatch();
    const matchId = accessA.match_id;
    const sa = a.connect(accessA);
    const sb = b.connect(accessB);
    const [ra, rb] = [autoplay(sa, 11), autoplay(sb, 12)];
    const counts = [];
    sa.on("spectators", ({ count }) => counts.push(count));
    const ticks = []; // the players' ticks as they came: [Date.now(), tick]
    sa.on("snapshot", (snap) => ticks.push([Date.now(), snap.tick]));
    await within(10000, sa.next("snapshot"), "the match to run");

    // the players are given the watch code; an outsider needs it
    const mine = await a.spectateAccess(matchId);
    assert.equal(mine.live, true);
    assert.match(mine.code, /^\S+$/);
    assert.equal((await b.spectateAccess(matchId)).code, mine.code);
    const eve = client();
    await eve.guest("eve");
    await assert.rejects(eve.spectateAccess(matchId), (err) => err instanceof ApiError && err.status === 403);
    await assert.rejects(eve.spectateAccess(matchId, { code: "not-the-code" }), (err) => err.status === 403);
    const access = await eve.spectateAccess(matchId, { code: mine.code });
    assert.equal(access.ws_path, `/ws/matches/${matchId}/spectate`);
    assert.equal(access.code, null, "the code is the players' to share");
    assert.equal(access.delay_ms, DELAY_S * 1000);
    assert.equal(access.rate_hz, RATE_HZ);

    const watcher = await eve.spectate(matchId, { code: mine.code });
    const seen = record(watcher);
    const welcome = await within(5000, watcher.ready, "the spectating");
    assert.equal(welcome.live, true);
    assert.equal(welcome.mode, "arena");
    assert.equal(welcome.speed, 1);
    assert.equal(welcome.delay_ms, DELAY_S * 1000);
    assert.deepEqual(welcome.players.map((p) => p.name).sort(), ["ada", "bob"]);
    await within(DELAY_S * 1000 + 1000, watcher.next("snapshot"), "the first snapshot");
    assert.ok(watcher.spectators >= 1, `${watcher.spectators} watching`);

    // an input on a spectator socket is refused (the SDK's Spectator has no send: a raw one)
    const raw = new WebSocket(`${server.url.replace("http", "ws")}${access.ws_path}`, matchProtocols(access.token));
    const refusal = new Promise((resolve, reject) => {
      raw.on("message", (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.type === "error") resolve(msg);
      });
      raw.on("error", reject);
    });
    raw.on("open", () => raw.send(JSON.stringify({ type: "input", seq: 1, dx: 1, dy: 0, aim: 0, fire: true })));
    assert.equal((await within(5000, refusal, "input_refused")).code, "input_refused");
    raw.close();

    const closed = await within(15000, watcher.done, "the spectator's end");
    await Promise.all([sa.done, sb.done]);
    assert.equal(closed.code, 1000);
    assert.equal(closed.gaveUp, false);
    assert.equal(watcher.socket.sockets, 1, "no reconnect");
    assert.deepEqual(seen.errors, []);

    // snapshots: ack 0, one every tick_rate / rate_hz ticks, at most the delay after the welcome
    assert.ok(seen.snapshots.length >= 10, `${seen.snapshots.length} snapshots`);
    assert.ok(seen.snapshots.every((s) => s.ack === 0));
    // (the match's last tick may come off that beat: the final state is shown)
    const every = welcome.tick_rate / RATE_HZ;
    const steps = seen.snapshots.slice(1).map((s, i) => s.tick - seen.snapshots[i].tick);
    const beat = seen.snapshots.map((s) => s.tick).join();
    assert.deepEqual([...new Set(steps.slice(0, -1))], [every], beat);
    assert.ok(steps.at(-1) >= 1 && steps.at(-1) <= every, beat);
    const firstAfter = seen.snapshots[0].at - seen.spectating[0].at;
    assert.ok(firstAfter <= DELAY_S * 1000 + 300, `first snapshot ${firstAfter} ms after the welcome`);
    assert.ok(seen.snapshots.every((s) => s.players.length === 2), "the whole field");

    // behind the match by about the delay: when a tick reaches the spectator, the players
    // had it about delay_ms earlier
    const lags = seen.snapshots.map((s) => {
      const seenByPlayers = ticks.find(([, tick]) => tick >= s.tick);
      return seenByPlayers ? s.at - seenByPlayers[0] : null;
    }).filter((lag) => lag !== null);
    assert.ok(lags.length >= 5, "ticks both sides saw");
    const median = lags.sort((x, y) => x - y)[Math.floor(lags.length / 2)];
    assert.ok(median > DELAY_S * 1000 * 0.7 && median < DELAY_S * 1000 * 1.5, `${median} ms behind`);

    // the players' result, once the delayed view reached the end
    assert.deepEqual(seen.result.winner, ra.result.winner);
    assert.equal(seen.result.reason, "time_limit");
    assert.equal(seen.result.match_id, matchId);
    assert.deepEqual(ra.result, rb.result);
    assert.ok(seen.snapshots.at(-1).tick <= seen.result.tick);
    assert.ok(counts.some((n) => n >= 1), `the players heard of their audience: ${counts}`);
    played = { matchId, code: mine.code, result: ra.result, eve };
  });

  test("a finished match: its recording at ×16, to the result the API has", async () => {
    assert.ok(played, "the live test played a match");
    const { matchId, code, eve } = played;
    const info = await eve.getMatch(matchId);
    assert.equal(info.status, "finished");

    const started = Date.now();
    const watcher = await eve.spectate(matchId, { code, speed: 16 });
    const seen = record(watcher);
    const welcome = await within(5000, watcher.ready, "the spectating");
    assert.equal(welcome.live, false);
    assert.equal(welcome.status, "finished");
    assert.equal(welcome.speed, 16);
    assert.equal(welcome.delay_ms, 0);
    const closed = await within(10000, watcher.done, "the recording's end");
    const took = Date.now() - started;
    assert.equal(closed.code, 1000);
    assert.equal(seen.result.replayed, true);
    assert.equal(seen.result.winner, info.result.winner);
    assert.equal(seen.result.reason, info.result.reason);
    assert.equal(seen.result.tick, info.result.tick);
    // from its first tick to its last, 16 times as fast as it was played (3 s)
    assert.ok(seen.snapshots[0].tick <= welcome.tick_rate / RATE_HZ, `first tick ${seen.snapshots[0].tick}`);
    assert.ok(seen.snapshots.at(-1).tick >= info.result.tick - welcome.tick_rate / RATE_HZ);
    assert.ok(seen.snapshots.every((s) => s.ack === 0));
    assert.ok(took < 2500, `×16 of a 3 s match took ${took} ms`);
    const scores = (rows) => rows.map((p) => [p.player_id, p.score, p.kills, p.deaths]).sort();
    assert.deepEqual(scores(seen.result.players), scores(info.result.players));
  });

  test("a recording without the code of its link match is refused", async () => {
    assert.ok(played, "the live test played a match");
    const stranger = client();
    await stranger.guest("mallory");
    await assert.rejects(stranger.spectate(played.matchId, { speed: 4 }), (err) => err.status === 403);
  });
});
