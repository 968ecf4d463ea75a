// A lobby: its members and their ready marks, its match settings (the host may change
// them), a private lobby's invite code, the members' chat and the operators'
// announcements. Every change comes pushed over the SDK's LobbyRoom (the lobby socket,
// kept connected by the reconnect policy); REST keeps every action (ready, settings,
// start, leave). The room's `started` carries this player's own match access: the page
// goes to the match with it. Should the socket end for good without the lobby ending
// (refused, or no way back within 30 s), the view falls back to polling the lobby.
// Chat lines and names are a member's words: only ever text (el's `text`: textContent).

import { ApiError, LobbyError, isOlderLobby, sleep } from "@skirmish/sdk";

import { enterMenu } from "./menu.js";
import { findMode } from "./modes.js";
import { startMatch } from "./play.js";
import { hasSettings, readSettings, settingsFields } from "./settings.js";
import { app, client } from "./state.js";
import { $, chatTime, el, hideError, isTransient, setPhase, showError } from "./ui.js";

const RETRY_MS = 1000; // after a poll that got no answer
const CHAT_KEEP = 100; // lines kept on screen

const current = {
  lobby: null,
  gen: 0, // a new lobby view (or none): what older calls and pushes answer is ignored
  room: null, // the SDK's LobbyRoom: pushed changes and chat
  controller: null, // aborts the fallback's polling
  settingsKey: "",
  chatLines: 0,
};

const GONE = {
  started_without_you: "The lobby started without you.",
  left: "You are no longer in this lobby.",
  closed: "The lobby was closed.",
};

// the lobby shown, or null
export const currentLobby = () => current.lobby;

// for window.skirmishDebug
export function lobbyDebug() {
  const room = current.room;
  return {
    lobbyRevision: current.lobby ? current.lobby.revision : null,
    lobbyCode: current.lobby ? current.lobby.code || null : null,
    lobbyConn: room ? room.connection : null,
    lobbySockets: room ? room.socket.sockets : 0,
    chatLines: current.chatLines,
  };
}

export function enterLobby(lobby) {
  stopLobby();
  setPhase("lobby");
  current.lobby = lobby;
  $("#lobby-chat-log").replaceChildren();
  $("#lobby-chat-input").value = "";
  renderLobby(lobby);
  listen(lobby, current.gen);
}

export function stopLobby() {
  current.gen++;
  current.lobby = null;
  current.settingsKey = "";
  current.chatLines = 0;
  if (current.room) current.room.close();
  current.room = null;
  if (current.controller) current.controller.abort();
  current.controller = null;
}

// ------------------------------------------------------------ the lobby socket

function listen(lobby, gen) {
  const room = client.lobbyRoom(lobby);
  current.room = room;
  const mine = (fn) => (ev) => {
    if (gen === current.gen) fn(ev);
  };
  room.on("lobby", mine(({ lobby: now }) => show(now)));
  room.on("chat", mine(addChat));
  room.on("announcement", mine((notice) => addNote(`📢 ${notice.text}`, "announcement", notice.at)));
  room.on("error", mine((err) => addNote(`${err.message} (${err.code})`, "error")));
  room.on("open", mine(() => setLive("connected")));
  room.on("reconnecting", mine(() => setLive("reconnecting…")));
  room.started.then(mine((access) => begin(access, gen)), () => {});
  room.done.then(mine((end) => ended(end, lobby.id, gen)));
}

// The room is over: the match (handled by `started`), gone, or the socket could not stay.
function ended(end, id, gen) {
  current.room = null;
  setLive("");
  if (end.outcome === "started" || end.outcome === "cancelled") return;
  if (end.outcome === "left" || end.outcome === "closed") {
    stopLobby();
    enterMenu();
    showError(GONE[end.outcome]);
    return;
  }
  if (end.code === 4001) { // the player token expired: sign in again
    showError(new ApiError(401, "unauthorized", "the player token expired"));
    return;
  }
  setLive("live updates unavailable: checking every second");
  watch(id, gen);
}

function setLive(text) {
  $("#lobby-live").textContent = text;
}

// ------------------------------------------------------------ the fallback: polling

// Wait until the lobby starts (rendering it at every poll): then play its match.
async function watch(id, gen) {
  const controller = new AbortController();
  current.controller = controller;
  const { signal } = controller;
  for (;;) {
    try {
      const access = await client.waitLobbyStarted(id, {
        signal,
        timeoutMs: Infinity, // until the host starts it, or the player leaves
        onLobby: (lobby) => {
          if (gen === current.gen) show(lobby);
        },
      });
      begin(access, gen);
      return;
    } catch (e) {
      if (gen !== current.gen || signal.aborted) return;
      if (isTransient(e)) {
        showError(e);
        await sleep(RETRY_MS, { signal }).catch(() => {});
        continue;
      }
      stopLobby();
      enterMenu();
      showError(e instanceof LobbyError ? GONE[e.status] || `Lobby: ${e.status}` : e);
      return;
    }
  }
}

function begin(access, gen) {
  if (gen !== current.gen) return; // begun already, or left
  const mode = current.lobby ? current.lobby.mode : undefined;
  stopLobby();
  startMatch(access, mode);
}

// ------------------------------------------------------------ rendering

// A lobby as a push or an answer brought it: render it while open, never an older one.
function show(lobby) {
  if (isOlderLobby(lobby, current.lobby)) return;
  current.lobby = lobby;
  if (lobby.status === "open") renderLobby(lobby);
}

function renderLobby(lobby) {
  const myId = app.auth.player_id;
  const me = lobby.members.find((m) => m.player_id === myId);
  if (!me) return; // the room (or the wait) says so
  const isHost = lobby.host_id === myId;
  const mode = findMode(lobby.mode);
  const teams = mode.teams >= 2 ? mode.teams : 0;
  const count = lobby.members.length;
  $("#lobby-title").textContent = lobby.name || "Lobby";
  $("#lobby-mode").textContent = lobby.mode;
  $("#lobby-private").hidden = !lobby.private;
  $("#lobby-code-line").hidden = !lobby.code;
  $("#lobby-code").textContent = lobby.code || "";
  $("#lobby-info").textContent =
    `${count}/${lobby.max_players} players · at least ${mode.min_players} to start · ` +
    (teams ? `${teams} equal teams · ` : "") +
    (isHost ? "you are the host" : "waiting for the host to start");
  $("#lobby-members").replaceChildren(...lobby.members.map((m) => el("li", { "data-player": m.player_id },
    el("span", { class: "grow", text: m.name + (m.player_id === myId ? " (you)" : "") }),
    m.player_id === lobby.host_id ? el("span", { class: "badge host", text: "host" }) : "",
    el("span", { class: m.ready ? "badge ok" : "badge", text: m.ready ? "ready" : "not ready" }))));
  const ready = $("#lobby-ready");
  ready.textContent = me.ready ? "Ready ✓" : "Ready";
  ready.classList.toggle("on", me.ready);
  const start = $("#lobby-start");
  start.hidden = !isHost;
  start.disabled = !(lobby.members.every((m) => m.ready) && count >= mode.min_players &&
    (!teams || count % teams === 0));
  start.title = teams && count % teams ? `The teams must be equal: ${teams} × n players` : "";
  renderSettings(lobby, mode, isHost);
}

// The lobby's settings: inputs for the host, text for the others. Rebuilt only when they
// (or who hosts) change, so that a push does not undo what the host is typing.
function renderSettings(lobby, mode, isHost) {
  const settings = lobby.settings || {};
  let schema = mode.settings_schema;
  if (!hasSettings(schema)) { // a mode this page does not know (yet): its values as they are
    schema = { properties: Object.fromEntries(Object.keys(settings).map((k) => [k, {}])) };
  }
  const key = JSON.stringify([lobby.id, isHost, settings, schema]);
  if (key === current.settingsKey) return;
  current.settingsKey = key;
  $("#lobby-settings").hidden = !hasSettings(schema);
  $("#lobby-settings-fields").replaceChildren(
    ...settingsFields(schema, settings, { editable: isHost, idPrefix: "lobby-setting" }));
  $("#lobby-settings-save").hidden = !isHost;
  $("#lobby-settings-note").textContent = isHost
    ? "Saving them clears everyone's ready mark." : "The host chooses these.";
}

// ------------------------------------------------------------ chat

function addLine(node) {
  const log = $("#lobby-chat-log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
  log.append(node);
  while (log.children.length > CHAT_KEEP) log.firstElementChild.remove();
  current.chatLines++;
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// A member's line: name and text as text, never HTML (they are what the member typed).
function addChat(line) {
  const mine = app.auth && line.player_id === app.auth.player_id;
  addLine(el("li", { class: mine ? "chat-line mine" : "chat-line", title: line.at },
    el("span", { class: "chat-time", text: chatTime(line.at) }),
    el("span", { class: "chat-name", text: line.name }),
    el("span", { class: "chat-text", text: line.text })));
}

function addNote(text, kind, at) {
  addLine(el("li", { class: `chat-note ${kind}`, title: at || "" },
    el("span", { class: "chat-time", text: at ? chatTime(at) : "" }),
    el("span", { class: "chat-text", text })));
}

export function sendChat(ev) {
  ev.preventDefault();
  const input = $("#lobby-chat-input");
  const text = input.value.trim();
  if (!text) return;
  const room = current.room;
  try {
    if (room && room.say(text)) input.value = "";
    else showError("Not connected to the lobby right now: try again in a moment.");
  } catch (e) {
    showError(e); // too long (the input allows 200 characters)
  }
}

// ------------------------------------------------------------ actions

// A call on the lobby that answers with it (ready, settings, start).
async function lobbyAction(call) {
  const lobby = current.lobby;
  if (!lobby) return;
  const gen = current.gen;
  try {
    const next = await call(lobby.id);
    hideError();
    if (gen !== current.gen || app.phase !== "lobby") return;
    if (current.room) current.room.apply(next); // its `lobby` event shows it
    else show(next);
    if (next.status === "started" && next.match) begin(next.match, gen);
  } catch (e) {
    showError(e);
  }
}

export function toggleReady() {
  const lobby = current.lobby;
  const me = lobby && lobby.members.find((m) => m.player_id === app.auth.player_id);
  lobbyAction((id) => client.setReady(id, !(me && me.ready)));
}

export function startLobby() {
  lobbyAction((id) => client.startLobby(id));
}

export function saveSettings(ev) {
  ev.preventDefault();
  const settings = readSettings($("#lobby-settings-fields"));
  lobbyAction((id) => client.setLobbySettings(id, settings));
}

export async function leaveLobby() {
  const lobby = current.lobby;
  stopLobby();
  if (lobby) {
    try {
      await client.leaveLobby(lobby.id);
    } catch (e) {
      showError(e);
    }
  }
  enterMenu();
}
