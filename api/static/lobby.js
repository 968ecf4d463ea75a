// A lobby: its members and their ready marks, its match settings (the host may change
// them), and the wait until the host starts it (the SDK polls it).

import { LobbyError, sleep } from "@skirmish/sdk";

import { enterMenu } from "./menu.js";
import { findMode } from "./modes.js";
import { startMatch } from "./play.js";
import { hasSettings, readSettings, settingsFields } from "./settings.js";
import { app, client } from "./state.js";
import { $, el, hideError, isTransient, setPhase, showError } from "./ui.js";

const RETRY_MS = 1000; // after a poll that got no answer

const current = {
  lobby: null,
  gen: 0, // a new lobby view (or none): what older calls answer is ignored
  controller: null, // aborts the wait
  settingsKey: "",
};

const LOBBY_ERRORS = {
  started_without_you: "The lobby started without you.",
  left: "You are no longer in this lobby.",
};

// the lobby shown, or null
export const currentLobby = () => current.lobby;

export function enterLobby(lobby) {
  stopLobby();
  setPhase("lobby");
  current.lobby = lobby;
  renderLobby(lobby);
  watch(lobby.id, current.gen);
}

export function stopLobby() {
  current.gen++;
  current.lobby = null;
  current.settingsKey = "";
  if (current.controller) current.controller.abort();
  current.controller = null;
}

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
      if (gen === current.gen) begin(access, current.lobby.mode);
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
      showError(e instanceof LobbyError ? LOBBY_ERRORS[e.status] || `Lobby: ${e.status}` : e);
      return;
    }
  }
}

function begin(access, mode) {
  stopLobby();
  startMatch(access, mode);
}

// A lobby as an answer brought it: render it while open (a started one is the wait's).
function show(lobby) {
  current.lobby = lobby;
  if (lobby.status === "open") renderLobby(lobby);
}

function renderLobby(lobby) {
  const myId = app.auth.player_id;
  const me = lobby.members.find((m) => m.player_id === myId);
  if (!me) return; // the wait says so
  const isHost = lobby.host_id === myId;
  const mode = findMode(lobby.mode);
  const teams = mode.teams >= 2 ? mode.teams : 0;
  const count = lobby.members.length;
  $("#lobby-title").textContent = lobby.name || "Lobby";
  $("#lobby-mode").textContent = lobby.mode;
  $("#lobby-info").textContent =
    `${count}/${lobby.max_players} players · at least ${mode.min_players} to start · ` +
    (teams ? `${teams} equal teams · ` : "") +
    (isHost ? "you are the host" : "waiting for the host to start");
  $("#lobby-members").replaceChildren(...lobby.members.map((m) => el("li", {},
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
// (or who hosts) change, so that a poll does not undo what the host is typing.
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

// A call on the lobby that answers with it (ready, settings, start).
async function lobbyAction(call) {
  const lobby = current.lobby;
  if (!lobby) return;
  const gen = current.gen;
  try {
    const next = await call(lobby.id);
    hideError();
    if (gen !== current.gen || app.phase !== "lobby") return;
    if (next.status === "started" && next.match) begin(next.match, next.mode);
    else show(next);
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
