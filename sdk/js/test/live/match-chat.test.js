// Chat inside a match against a real server (one pod, started here): the two players of
// an arena match exchange lines (markup kept as typed: it is text), an operator's
// announcement reaches both match sockets; in a capture-the-flag match of four (two
// teams: slot % 2) a team line reaches the sender and their teammate, never the other team.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import WebSocket from "ws";

import { SkirmishClient } from "../../src/skirmish.js";
import { within } from "./play.js";
import { ADMIN_TOKEN, LIVE, startServer } from "./servers.js";

const ENV = {
  SKIRMISH_MATCH_START_WAIT_SECONDS: "5",
  SKIRMISH_ADMIN_TOKEN: ADMIN_TOKEN,
  SKIRMISH_LOG_FORMAT: "text",
};

/** Every `chat` a session gets, as [slot, team, text]. */
function heard(session) {
  const lines = [];
  session.on("chat", (line) => lines.push([line.slot, line.team, line.text]));
  return lines;
}

/** Wait until `lines` has `n` entries (or fail after 5 s). */
async function until(lines, n, what) {
  const deadline = Date.now() + 5000;
  while (lines.length < n) {
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(lines)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return lines;
}

describe("match chat, one pod", { skip: !LIVE && "SKIRMISH_LIVE=0" }, () => {
  let server;
  const client = () => new SkirmishClient(server.url, { WebSocket });

  before(async () => {
    server = await startServer(ENV);
  });
  after(async () => {
    if (server) await server.stop();
  });

  /** A started lobby of `names.length` players in `mode`; each one's welcomed session. */
  async function lobbyMatch(mode, names) {
    const clients = names.map(() => client());
    await Promise.all(clients.map((c, i) => c.guest(names[i])));
    const [host, ...rest] = clients;
    const lobby = await host.createLobby({ mode, name: names.join("-"), maxPlayers: names.length });
    for (const c of rest) await c.joinLobby(lobby.id);
    await Promise.all(clients.map((c) => c.setReady(lobby.id)));
    const started = await host.startLobby(lobby.id);
    const accesses = [started.match, ...(await Promise.all(rest.map((c) => c.waitLobbyStarted(lobby.id))))];
    const sessions = clients.map((c, i) => c.connect(accesses[i]));
    await within(5000, Promise.all(sessions.map((s) => s.ready)), "the welcomes");
    return { clients, sessions };
  }

  test("two players of an arena match exchange lines; an announcement reaches both", async () => {
    const { clients, sessions } = await lobbyMatch("arena", ["ada", "bob"]);
    const [sa, sb] = sessions;
    const [la, lb] = sessions.map(heard);
    const raw = [];
    sb.on("chat", (line) => raw.push(line));

    assert.equal(sa.chat("  gl hf  "), true);
    await until(lb, 1, "bob hears ada");
    assert.equal(sb.chat("<b>gg</b>"), true);
    await until(la, 2, "ada hears both");
    await until(lb, 2, "bob hears both");
    const expected = [[sa.slot, false, "gl hf"], [sb.slot, false, "<b>gg</b>"]];
    assert.deepEqual(la, expected, "each line to every player, the sender's own included");
    assert.deepEqual(lb, expected);
    assert.equal(raw[0].player_id, clients[0].player.player_id);
    assert.equal(raw[0].name, "ada");
    assert.match(raw[0].at, /Z$/);

    // a team line in a mode without teams: refused here, before the server would
    assert.throws(() => sa.chat("hi team", { team: true }), RangeError);
    // the server checks too: the same message sent raw is an invalid_message
    const refused = sa.next("error");
    sa.send({ type: "chat", text: "hi team", team: true });
    const error = await within(5000, refused, "the refusal");
    assert.equal(error.code, "invalid_message");
    assert.match(error.message, /team/);

    const announced = Promise.all(sessions.map((s) => s.next("announcement")));
    const said = await fetch(`${server.url}/admin/announce`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ text: "back in 5" }),
    });
    assert.equal(said.status, 200);
    for (const notice of await within(5000, announced, "the announcement")) {
      assert.equal(notice.text, "back in 5");
    }
    assert.equal(la.length + lb.length, 4, "no more lines than were said");
    for (const s of sessions) s.close();
    await Promise.all(sessions.map((s) => s.done));
  });

  test("capture the flag, four players: a team line reaches the sender's team only", async () => {
    const { sessions } = await lobbyMatch("ctf", ["red1", "blue1", "red2", "blue2"]);
    assert.ok(sessions.every((s) => s.welcome.teams === 2));
    const bySlot = new Map(sessions.map((s) => [s.slot, s]));
    assert.deepEqual([...bySlot.keys()].sort(), [0, 1, 2, 3]);
    const lines = new Map(sessions.map((s) => [s.slot, heard(s)]));

    const sender = bySlot.get(0); // team 0: slots 0 and 2; team 1: slots 1 and 3
    assert.equal(sender.chat("flag at their base", { team: true }), true);
    assert.equal(sender.chat("to all"), true); // after it on every socket: the team line's fence
    const teamLine = [0, true, "flag at their base"];
    const allLine = [0, false, "to all"];
    for (const slot of [0, 2]) {
      assert.deepEqual(await until(lines.get(slot), 2, `slot ${slot}`), [teamLine, allLine]);
    }
    for (const slot of [1, 3]) {
      assert.deepEqual(await until(lines.get(slot), 1, `slot ${slot}`), [allLine], `slot ${slot}: the other team`);
    }

    // the other team's own team line stays with them
    assert.equal(bySlot.get(3).chat("they are coming", { team: true }), true);
    assert.equal(bySlot.get(3).chat("gg"), true);
    for (const slot of [1, 3]) {
      assert.deepEqual((await until(lines.get(slot), 3, `slot ${slot}`)).slice(1), [
        [3, true, "they are coming"],
        [3, false, "gg"],
      ]);
    }
    for (const slot of [0, 2]) {
      assert.deepEqual((await until(lines.get(slot), 3, `slot ${slot}`)).slice(2), [[3, false, "gg"]]);
    }
    for (const s of sessions) s.close();
    await Promise.all(sessions.map((s) => s.done));
  });
});
