// Skirmish browser client: guest sign-in, quick match, lobbies and the match screen. An ES
// module, no build step: a thin UI over the JavaScript SDK ("@skirmish/sdk", which the
// import map of index.html maps to /sdk/skirmish.js: sdk/js/src as the server serves it),
// which makes every REST call, keeps the match socket connected by the reconnect policy
// of docs/protocol.md and interpolates and predicts. The modules:
//   state.js     the SDK client, the page's state, what survives a reload
//   ui.js        DOM helpers, errors, phases (server strings are only ever text)
//   modes.js     the modes on offer and their renderers
//   settings.js  per-mode match settings: a form built from a mode's settings_schema
//   menu.js      quick match (matchmaking), the lobby list, the lobby form (public or
//                private) and the join by a private lobby's code
//   lobby.js     a lobby over the SDK's LobbyRoom (its socket: every change pushed):
//                members, ready marks, its settings, its code, chat and announcements,
//                and its start (the pushed match access)
//   view.js      the match screen, played or watched: the renderer fed, the side panel
//   play.js      a player's match over the SDK's MatchSession; result.js its result
//   match-chat.js  the match screen's chat (players: to all, or to their team) and the
//                operators' announcements
//   watch.js     watching a match over the SDK's Spectator: live behind its delay, or a
//                finished one from its recording; links.js the watch links
//                (/#watch=<match_id>[.<code>]) and the one a player copies
//   stage.js     the canvas and the controls
//
// What is on the field is each game mode's own: mode-<name>.js, a classic script loaded
// by index.html before this module, registers
//   window.SkirmishModes[name] = {
//     title, blurb,          shown in the mode pickers
//     teams,                 0: every player for themself; T: slot s plays for team s % T
//     keys,                  the KeyboardEvent.code values it reads (kept from the page)
//     help,                  the controls line: strings, and arrays of key names
//     feedTitle, canvasLabel, cursor, teamName(team), resultColumns [{label, value(p)}],
//     create(match, kit) →   a renderer, one per match
//   }
// and the match picks the one welcome.mode names (a mode without one is only listed). A
// watched match uses the same renderer: its `spectating` is true, its `slot` null, its
// snapshots the whole field, and input() is never called.
// A renderer:
//   world() → {width, height}          the field, fitted into the canvas
//   onWelcome(welcome)                 after every (re)connect
//   onSnapshot(snap, now) → entries    for the feed: arrays of strings and {text, color, cls}
//   input(controls, now) → fields      the input's mode fields, or null to send nothing;
//                                      sent at the tick rate and at once when they change:
//   inputKey(fields) → string          what counts as a change
//   inputSent(seq, fields)             after the session sent it
//   draw(stage, now) → players drawn
//   timeLeft() → seconds or null
//   scores() → [{slot, score, team?, note?}]   the scoreboard (names and `online` added here)
//   teams() → [{team, name, color, score}] or null
//   hud() → [{key, label, text}]       extra HUD values (#hud-<key>)
//   color(slot), debug() → {...}       (merged into window.skirmishDebug.state())
//   dispose()                          optional: the match is left
// It reads the match's slot, spectating, config, tickRate, status, names, name(slot), last
// (the newest snapshot), buffer (the SDK's SnapshotBuffer of the snapshots, on
// performance.now(); a spectator's snapshots are rate_hz a second, not one a tick) and
// session (the SDK's MatchSession or Spectator: e.g. for Predictor.attach). kit has clamp, lerp,
// lerpAngle, fmtTime, movement(controls) (WASD/arrows → dx, dy) and, from the SDK,
// interpolateRows, snapWhen and Predictor.

import { cancelSearch, createLobby, enterMenu, joinByCode, onModeChange, quickMatch,
  refreshLobbies, renderLobbyForm, stopSearching } from "./menu.js";
import { currentLobby, leaveLobby, lobbyDebug, saveSettings, sendChat, startLobby, stopLobby,
  toggleReady } from "./lobby.js";
import { copyWatchLink, setWatchHash, watchTarget } from "./links.js";
import { bindMatchChat, matchChatDebug } from "./match-chat.js";
import { leaveMatch, playAgain, startMatch } from "./play.js";
import { bindStage, render, stage } from "./stage.js";
import { app, client, restoreAuth, savedMatch, setAuth } from "./state.js";
import { $, hideError, setPhase, setUnauthorizedHandler, showError } from "./ui.js";
import { changeSpeed, leaveWatch, watchFromForm, watchFromHash, watchReplay } from "./watch.js";

// ---------------------------------------------------------------- sign-in

async function signIn(ev) {
  ev.preventDefault();
  const name = $("#name").value.trim();
  const button = $("#signin");
  button.disabled = true;
  try {
    setAuth(null);
    setAuth(await client.guest(name || undefined));
    hideError();
    if (!watchFromHash()) enterMenu();
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
  }
}

function signOut(message) {
  stopSearching();
  stopLobby();
  if (app.match) app.match.dispose();
  app.match = null;
  setAuth(null);
  savedMatch.clear();
  setWatchHash(null);
  setPhase("signin");
  if (message) showError(message);
}

// Leave the match screen: a watch, or the match played.
function leaveScreen() {
  if (app.match && app.match.spectating) leaveWatch();
  else leaveMatch();
}

// The address asks to watch a match (a watch link opened, or typed): watch it once signed in.
function onHashChange() {
  if (!watchTarget()) return;
  if (app.auth) watchFromHash();
  else $("#signin-note").textContent = "Sign in to watch the match.";
}

// ------------------------------------------------------------------ frames

function frame(now) {
  const m = app.match;
  if (m && app.phase === "playing") {
    m.sendInput(now);
    if (m.status === "waiting") m.updateHud();
  }
  if (m && ["playing", "watching", "result"].includes(app.phase)) render(m, now);
  requestAnimationFrame(frame);
}

// ------------------------------------------------------------ debug hook

window.skirmishDebug = {
  state() {
    const m = app.match;
    const s = m ? m.session : null;
    const scores = m ? m.scores() : [];
    const mine = m ? scores.find((r) => r.slot === m.slot) : undefined;
    return {
      // the mode's own (arena: self, players, shots, left), then the page's
      self: null,
      players: [],
      shots: 0,
      left: null,
      ...(m && m.renderer ? m.renderer.debug() : {}),
      phase: app.phase,
      mode: m ? m.mode : null,
      matchId: m ? m.id : null,
      lobbyId: currentLobby() ? currentLobby().id : null,
      ...lobbyDebug(), // lobbyRevision, lobbyCode, lobbyConn, lobbySockets, chatLines
      ...matchChatDebug(), // matchChatLines, matchChatOpen
      snapshotsReceived: m ? m.snapshotsReceived : 0,
      lastTick: m ? m.lastTick : 0,
      ack: s ? s.ack ?? 0 : 0,
      scores,
      myScore: mine && mine.score !== undefined ? mine.score : null,
      playersDrawn: stage.playersDrawn,
      framesDrawn: stage.frames,
      status: m ? m.status : null,
      conn: s ? s.connection : null,
      mySlot: m ? m.slot : null,
      online: m ? [...m.online()] : [],
      rtt: s ? s.rtt : null,
      seq: s ? s.seq ?? 0 : 0,
      welcomes: s ? s.stats.welcomes : 0,
      resent: s ? s.stats.resent ?? 0 : 0,
      serverErrors: m ? m.serverErrors : 0,
      result: s ? s.result : null,
      playerId: app.auth ? app.auth.player_id : null,
      spectating: m ? m.spectating : false,
      watch: m && m.spectating ? m.debug() : null, // live, delayMs, speed, spectators, ...
      watchLink: $("#watch-link-box").hidden ? null : $("#watch-link").value,
      watchers: s && !(m && m.spectating) ? s.spectators : null,
    };
  },
  // break the socket as the network would (a 1006): the SDK reconnects with back-off
  drop() {
    return !!(app.match && app.match.session.socket.drop("debug drop"));
  },
  // field coordinates → page (CSS pixel) coordinates, for driving the mouse in tests
  toPage(x, y) {
    const rect = stage.canvas.getBoundingClientRect();
    const p = stage.toCanvas(x, y);
    return { x: rect.left + p.x, y: rect.top + p.y };
  },
};

// ------------------------------------------------------------------ boot

function bind() {
  bindStage($("#arena"));
  bindMatchChat();
  setUnauthorizedHandler(() => signOut("Your session expired, please sign in again."));
  const on = (sel, event, fn) => $(sel).addEventListener(event, fn);
  on("#signin-form", "submit", signIn);
  on("#signout", "click", () => signOut());
  on("#error-close", "click", hideError);
  on("#mode", "change", onModeChange);
  on("#lobby-form-mode", "change", renderLobbyForm);
  on("#quick", "click", () => quickMatch());
  on("#cancel", "click", cancelSearch);
  on("#lobby-form", "submit", createLobby);
  on("#lobby-code-form", "submit", joinByCode);
  on("#lobby-refresh", "click", () => refreshLobbies());
  on("#lobby-more", "click", () => refreshLobbies(true));
  on("#lobby-ready", "click", toggleReady);
  on("#lobby-start", "click", startLobby);
  on("#lobby-settings", "submit", saveSettings);
  on("#lobby-chat-form", "submit", sendChat);
  on("#lobby-leave", "click", leaveLobby);
  on("#leave", "click", leaveScreen);
  on("#again", "click", playAgain);
  on("#back-menu", "click", leaveScreen);
  on("#watch-replay", "click", watchReplay);
  on("#watch-speed", "change", changeSpeed);
  on("#watch-link-copy", "click", copyWatchLink);
  on("#watch-form", "submit", watchFromForm);
  window.addEventListener("hashchange", onHashChange);
}

async function boot() {
  bind();
  requestAnimationFrame(frame);
  if (!restoreAuth()) {
    setPhase("signin");
    onHashChange();
    return;
  }
  if (watchFromHash()) return; // a watch link opened

  // back to a match this tab was playing before a reload?
  const access = savedMatch.get();
  if (access && access.match_id) {
    try {
      const info = await client.getMatch(access.match_id);
      if (info.status !== "finished") {
        startMatch(access, info.mode);
        return;
      }
    } catch (e) {
      if (e.status === 401) showError(e); // signs out
    }
    savedMatch.clear();
  }
  if (app.auth) enterMenu();
}

boot();
