// The headline test: two pods sharing a private Redis behind nginx (`skirmish cluster`).
// Two SDK clients play an arena match through nginx; mid-match the pod holding the match
// is drained (POST /admin/drain): the server says `reconnect` and closes with 1012, the
// SDK resumes on the other pod, the match finishes, and its recorded replay shows every
// input each client sent applied exactly once, in order (minus any the server reported
// with `input_dropped`).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import WebSocket from "ws";

import { SkirmishClient } from "../../src/skirmish.js";
import { autoplay, within } from "./play.js";
import { ADMIN_TOKEN, LIVE, startCluster } from "./servers.js";

const ENV = {
  SKIRMISH_ADMIN_TOKEN: ADMIN_TOKEN,
  SKIRMISH_RECORD_REPLAYS: "true",
  SKIRMISH_ARENA_TIME_LIMIT_SECONDS: "6",
  SKIRMISH_ARENA_SCORE_LIMIT: "1000",
  SKIRMISH_MATCH_START_WAIT_SECONDS: "5",
  SKIRMISH_MATCH_FILL_SECONDS: "1",
};

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

async function stats(url) {
  const res = await fetch(`${url}/admin/stats`, { headers: admin });
  assert.equal(res.status, 200, `${url}/admin/stats`);
  return res.json();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a cluster of two pods behind nginx", { skip: !LIVE && "SKIRMISH_LIVE=0" }, () => {
  let cluster;

  before(async () => {
    cluster = await startCluster(2, ENV);
  });
  after(async () => {
    if (cluster) await cluster.stop();
  });

  test("a drained pod's match resumes on the other pod; every input applied once, in order", async (t) => {
    assert.deepEqual(Object.keys(cluster.pods).sort(), ["pod-1", "pod-2"]);
    const [ada, bob] = [0, 1].map(() => new SkirmishClient(cluster.url, { WebSocket }));
    await Promise.all([ada.guest("ada"), bob.guest("bob")]);
    const lobby = await ada.createLobby({ mode: "arena", name: "drain", maxPlayers: 2 });
    await bob.joinLobby(lobby.id);
    await Promise.all([ada.setReady(lobby.id), bob.setReady(lobby.id)]);
    const accessA = (await ada.startLobby(lobby.id)).match;
    const accessB = await bob.waitLobbyStarted(lobby.id);
    const matchId = accessA.match_id;

    const sessions = [ada.connect(accessA), bob.connect(accessB)];
    const records = sessions.map((s, i) => autoplay(s, 10 + i));
    await within(10000, Promise.all(sessions.map((s) => s.ready)), "both welcomed");

    // a second of play, then find the pod holding the match
    const deadline = Date.now() + 10000;
    while (records.some((r) => r.lastTick < 30) && Date.now() < deadline) await sleep(50);
    assert.ok(records.every((r) => r.lastTick >= 30), "the match runs");
    const holding = [];
    for (const [name, url] of Object.entries(cluster.pods)) {
      if ((await stats(url)).matches > 0) holding.push(name);
    }
    assert.equal(holding.length, 1, `one pod holds the match: ${holding}`);
    const [owner] = holding;
    const [other] = Object.keys(cluster.pods).filter((n) => n !== owner);
    for (const s of sessions) assert.equal(s.pod, owner, "through nginx, each socket lands on the owner");

    const res = await fetch(`${cluster.pods[owner]}/admin/drain`, { method: "POST", headers: admin });
    assert.equal(res.status, 200);
    const drained = await res.json();
    assert.equal(drained.told, 2);

    // nginx hashes the match's path to the owner still: a drained pod is taken out of
    // service by stopping it (as a Deployment's preStop drain is followed by SIGTERM)
    const waitMoved = async (ms) => {
      const moveBy = Date.now() + ms;
      while (Date.now() < moveBy) {
        if (sessions.every((s, i) => s.connection === "open" && records[i].welcomes.length >= 2)) return true;
        await sleep(50);
      }
      return false;
    };
    let stoppedOwner = false;
    if (!(await waitMoved(1500))) {
      const pid = cluster.podPid(owner);
      assert.ok(pid, `the pid of ${owner}`);
      process.kill(pid, "SIGTERM");
      stoppedOwner = true;
      assert.ok(await waitMoved(10000), "both sessions welcomed again after the owner stopped");
    }
    t.diagnostic(`drained ${owner}; ${stoppedOwner ? "stopped it too; " : ""}resumed on ${sessions.map((s) => s.pod)}`);

    const closed = await within(20000, Promise.all(sessions.map((s) => s.done)), "the match to end");
    for (const [i, c] of closed.entries()) {
      const rec = records[i];
      assert.equal(c.code, 1000, `session ${i}: closed ${c.code} ${c.reason}`);
      assert.ok(c.result, `session ${i}: a result`);
      assert.ok(rec.reconnectNotices >= 1, `session ${i}: the server said reconnect`);
      assert.equal(rec.drops[0].code, 1012, `session ${i}: 1012 after the drain`);
      assert.ok(rec.reconnecting[0].delay <= 250, `session ${i}: the first attempt after 1012 within 250 ms`);
      assert.equal(rec.podsByWelcome[0], owner);
      assert.equal(rec.podsByWelcome.at(-1), other, `session ${i}: resumed on the other pod`);
    }
    assert.deepEqual(closed[0].result, closed[1].result);
    assert.equal((await stats(cluster.pods[other])).draining, false);

    const replay = await ada.replay(matchId);
    const problems = [];
    for (const [i, session] of sessions.entries()) {
      const rec = records[i];
      const applied = replay.inputs
        .filter(([, slot, msg]) => slot === session.slot && msg)
        .map(([, , msg]) => msg.seq);
      const dropped = new Set(session.dropped);
      const expected = rec.sent.filter((s) => s <= rec.lastAck && !dropped.has(s));
      const seen = new Set();
      for (const [k, seq] of applied.entries()) {
        if (seen.has(seq)) problems.push(`slot ${session.slot}: seq ${seq} applied twice`);
        if (k && seq <= applied[k - 1]) problems.push(`slot ${session.slot}: seq ${seq} after ${applied[k - 1]}`);
        seen.add(seq);
      }
      const missing = expected.filter((s) => !seen.has(s));
      const unknown = applied.filter((s) => !rec.sent.includes(s));
      if (missing.length) {
        problems.push(
          `slot ${session.slot}: sent but never applied: ${missing.join(",")} ` +
            `(welcomes' last_seq ${rec.welcomes.map((w) => w.last_seq)}, resent ${JSON.stringify(rec.resent)})`,
        );
      }
      if (unknown.length) problems.push(`slot ${session.slot}: applied but never sent: ${unknown}`);
      t.diagnostic(
        `slot ${session.slot}: sent ${rec.sent.length} (up to ack ${rec.lastAck}), applied ${applied.length}, ` +
          `dropped ${[...dropped]}, welcomes ${JSON.stringify(rec.welcomes)}, resent ${JSON.stringify(rec.resent)}`,
      );
    }
    assert.deepEqual(problems, []);
  });
});
