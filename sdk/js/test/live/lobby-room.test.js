// Lobby rooms against a real server (one pod, started here): two members' rooms see each
// other's ready marks pushed and each other's chat, an announcement reaches both, the
// start gives each member their own match access and ends both rooms with 1000; a private
// lobby is reachable by its code only; a dropped room comes back with what it missed.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import WebSocket from "ws";

import { ApiError, LobbyError, SkirmishClient } from "../../src/skirmish.js";
import { within } from "./play.js";
import { ADMIN_TOKEN, LIVE, startServer } from "./servers.js";

/** The claims of a token (its payload, unverified: the server checks the signature). */
function claims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

/** The next `lobby` event whose lobby passes `test`. */
function lobbyWhere(room, test, what) {
  if (room.lobby && test(room.lobby)) return Promise.resolve(room.lobby);
  return within(5000, new Promise((resolve) => {
    const off = room.on("lobby", ({ lobby }) => {
      if (test(lobby)) {
        off();
        resolve(lobby);
      }
    });
  }), what);
}

describe("lobby rooms, one pod", { skip: !LIVE && "SKIRMISH_LIVE=0" }, () => {
  let server;
  const client = () => new SkirmishClient(server.url, { WebSocket });

  before(async () => {
    server = await startServer({ SKIRMISH_ADMIN_TOKEN: ADMIN_TOKEN, POD_NAME: "lobby-pod" });
  });
  after(async () => {
    if (server) await server.stop();
  });

  test("two members: ready marks and chat pushed, the start gives each their own seat", async () => {
    const [ada, bob] = [client(), client()];
    await Promise.all([ada.guest("ada"), bob.guest("bob")]);
    const created = await ada.createLobby({ name: "rooms", maxPlayers: 2, private: true });
    const roomA = ada.lobbyRoom(created);
    const firstA = await within(5000, roomA.ready, "ada's snapshot");
    assert.equal(firstA.code, created.code);
    assert.equal(roomA.pod, "lobby-pod");

    const joined = await bob.joinLobbyByCode(created.code.toLowerCase());
    const seen = await lobbyWhere(roomA, (l) => l.members.length === 2, "bob's join, pushed");
    assert.equal(seen.revision, joined.revision);
    const roomB = bob.lobbyRoom(joined);
    await within(5000, roomB.ready, "bob's snapshot");

    const chatA = [];
    const chatB = [];
    roomA.on("chat", (line) => chatA.push(line));
    roomB.on("chat", (line) => chatB.push(line));
    const announcedB = roomB.next("announcement");

    // each sees the other's ready mark, pushed
    await bob.setReady(joined.id, true);
    await lobbyWhere(roomA, (l) => l.members.find((m) => m.name === "bob").ready, "bob ready at ada");
    const readyA = await ada.setReady(joined.id, true);
    roomA.apply(readyA);
    await lobbyWhere(roomB, (l) => l.members.every((m) => m.ready), "ada ready at bob");

    // chat both ways, as text, with who said it
    assert.equal(roomA.say("gl hf"), true);
    assert.equal(roomB.say("  <b>you too</b>  "), true);
    const until = async (lines) => {
      const deadline = Date.now() + 5000;
      while (lines.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return lines.map((l) => [l.name, l.text]).sort();
    };
    const expected = [["ada", "gl hf"], ["bob", "<b>you too</b>"]];
    assert.deepEqual(await until(chatA), expected);
    assert.deepEqual(await until(chatB), expected);
    assert.equal(chatB.find((l) => l.name === "ada").player_id, ada.player.player_id);
    assert.match(chatB[0].at, /Z$/);

    const said = await fetch(`${server.url}/admin/announce`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ text: "back in 5" }),
    });
    assert.equal(said.status, 200);
    assert.equal((await within(5000, announcedB, "the announcement")).text, "back in 5");

    // the start: each room gets its member's own match access, then the server's 1000
    await ada.startLobby(joined.id);
    const [seatA, seatB] = await within(5000, Promise.all([roomA.started, roomB.started]), "the start");
    assert.equal(seatA.match_id, seatB.match_id);
    assert.equal(claims(seatA.token).sub, ada.player.player_id);
    assert.equal(claims(seatB.token).sub, bob.player.player_id);
    const [endA, endB] = await within(5000, Promise.all([roomA.done, roomB.done]), "the close");
    for (const end of [endA, endB]) {
      assert.deepEqual([end.code, end.outcome, end.gaveUp], [1000, "started", false]);
    }
    assert.deepEqual(endB.match, seatB);
    assert.equal(roomA.socket.sockets + roomB.socket.sockets, 2, "no reconnect");

    // the access is a seat: the match welcomes it
    const session = bob.connect(seatB);
    const welcome = await within(5000, session.ready, "bob's welcome");
    assert.equal(welcome.player_id, bob.player.player_id);
    session.close();
  });

  test("a private lobby: joined by its code only; an outsider's room is refused (4004)", async () => {
    const [host, eve] = [client(), client()];
    await Promise.all([host.guest("host"), eve.guest("eve")]);
    const secret = await host.createLobby({ name: "hidden", private: true });
    assert.equal(secret.private, true);
    assert.match(secret.code, /^[A-Z2-9]{6}$/);
    const listed = await eve.listAllLobbies();
    assert.ok(!listed.some((l) => l.id === secret.id), "never listed");
    await assert.rejects(eve.getLobby(secret.id), (err) => err instanceof ApiError && err.status === 404);
    const outsider = eve.lobbyRoom(secret.id);
    const refused = await within(5000, outsider.done, "the refusal");
    assert.deepEqual([refused.code, refused.outcome], [4004, "socket_closed"]);
    assert.equal(outsider.socket.sockets, 1, "no reconnect after 4004");
    await assert.rejects(outsider.started, (err) => err instanceof LobbyError && err.code === 4004);
    const wrong = secret.code === "AAAAAA" ? "BBBBBB" : "AAAAAA";
    await assert.rejects(eve.joinLobbyByCode(wrong), (err) => err.status === 404);

    const member = await eve.joinLobbyByCode(secret.code.toLowerCase());
    assert.equal(member.id, secret.id);
    assert.equal(member.code, secret.code, "members see the code");
    const room = eve.lobbyRoom(member);
    assert.equal((await within(5000, room.ready, "eve's snapshot")).code, secret.code);

    // a broken socket: the room reconnects; eve's own leave meanwhile ends it
    const revisions = [];
    room.on("lobby", ({ lobby }) => revisions.push(lobby.revision));
    room.socket.drop("test");
    await eve.leaveLobby(secret.id); // while it is away, or just back: either way, "left"
    const end = await within(5000, room.done, "the close after eve's own leave");
    assert.equal(end.outcome, "left");
    assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b));
    const again = await host.getLobby(secret.id);
    assert.deepEqual(again.members.map((m) => m.name), ["host"]);
  });
});
