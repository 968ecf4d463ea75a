// Watching a match: the SDK's Spectator (a spectate access, then the spectator socket kept
// connected by the reconnect policy) feeds the same mode renderers a player's match screen
// uses, with the whole field and no seat. A running match is watched live, a couple of
// seconds behind; a finished one from its recording, at the speed chosen. A small bar over
// the field says which ("● Live · 2 s behind" / "Replay ×4") and how many watch; the
// result screen ends it. Opened by a watch link (links.js), the menu's form, or the
// result screen's "Watch replay".

import { stopLobby } from "./lobby.js";
import { enterMenu, stopSearching } from "./menu.js";
import { forgetWatchLink, parseWatchInput, setWatchHash, watchTarget } from "./links.js";
import { addMatchNote, resetMatchChat } from "./match-chat.js";
import { showResult } from "./result.js";
import { releaseControls, render } from "./stage.js";
import { app, client, savedMatch } from "./state.js";
import { $, setPhase, showError } from "./ui.js";
import { CLOSE_TEXT, MatchView, clearMatchScreen } from "./view.js";

export const SPEEDS = [1, 2, 4, 8, 16];
const REPLAY_TRIES = 6; // a match that just ended may take a moment to be a recording
const REPLAY_RETRY_MS = 500;

const WATCH_CLOSE_TEXT = {
  ...CLOSE_TEXT,
  1013: "the match is not on a server yet, or the server is busy",
  4001: "not allowed to watch this match any more",
  4003: "you may not watch this match",
};

const REFUSED = {
  403: "You may not watch this match: ask one of its players for its watch link.",
  404: "There is no such match.",
  409: "This match is over and has no recording to watch.",
};

export class Watch extends MatchView {
  constructor(spectator, { code = null, speed = null } = {}) {
    super(spectator.matchId, null, spectator, spectator.buffer);
    this.code = code; // the watch code it was opened with (a `link` match's)
    this.speed = speed; // the speed asked for a recording
    this.listen();
  }

  get spectating() {
    return true;
  }

  // what the result screen's "Watch replay" reuses
  get watchCode() {
    return this.code;
  }

  get live() {
    return this.session.live;
  }

  connect() {
    this.session.connect();
  }

  listen() {
    const s = this.session;
    s.on("spectating", (msg) => this.onSpectating(msg));
    s.on("snapshot", (msg) => {
      this.snapshotSeen(msg, performance.now());
      this.updateHud();
    });
    for (const name of ["spectators", "pong", "drop"]) s.on(name, () => this.updateHud());
    s.on("result", () => this.finish());
    s.on("error", (msg) => this.serverError(msg));
    s.on("announcement", ({ text, at }) => { // no players' lines: the panel shows only these
      if (this.current) addMatchNote(`📢 ${text}`, "announcement", at);
    });
    s.on("reconnect", () => this.showOverlay("Server restarting — reconnecting…"));
    s.on("reconnecting", ({ delay, code }) => {
      const why = WATCH_CLOSE_TEXT[code] || "connection lost";
      this.showOverlay(`${why} — reconnecting in ${(delay / 1000).toFixed(2)} s…`);
      this.updateHud();
    });
    s.on("closed", (ev) => this.onClosed(ev));
  }

  onSpectating(msg) {
    this.welcomed(msg);
    this.hideOverlay();
    this.renderScoreboard();
    this.updateHud();
  }

  onClosed({ code, reason, gaveUp, result }) {
    if (this.done) return;
    if (result || code === 1000 || code === 4010) {
      this.finish();
      return;
    }
    const why = WATCH_CLOSE_TEXT[code] || reason || `connection closed (${code})`;
    this.fail(gaveUp && code !== 1013 ? "cannot reach the server" : why);
  }

  finish() {
    if (this.done) return;
    this.done = true;
    this.updateHud();
    showResult(this);
  }

  fail(message) {
    this.dispose();
    if (!this.current) return;
    leaveWatch();
    showError(`Watching: ${message}`);
  }

  dispose() {
    this.done = true;
    if (this.renderer && this.renderer.dispose) this.renderer.dispose();
    this.session.close(1000, "stopped watching");
  }

  // "● Live · 2 s behind" or "Replay ×4"
  stateText() {
    const s = this.session;
    if (s.live === false) return `Replay ×${(s.welcome && s.welcome.speed) || this.speed || 1}`;
    const behind = s.delayMs >= 1000 ? `${+(s.delayMs / 1000).toFixed(1)} s` : `${s.delayMs} ms`;
    return s.delayMs ? `● Live · ${behind} behind` : "● Live";
  }

  statusWord() {
    if (this.session.connection === "reconnecting" && !this.done) return "reconnecting";
    if (this.done) return "finished";
    if (this.status === "waiting") return "waiting";
    return this.session.live === false ? "replay" : this.session.welcome ? "live" : "connecting";
  }

  updateHud() {
    if (!this.current) return;
    this.renderHud(this.statusWord());
    const s = this.session;
    $("#watch-bar").hidden = !s.welcome;
    $("#watch-state").textContent = !s.welcome ? "" : `${this.stateText()}${this.done ? " · ended" : ""}`;
    $("#watch-state").classList.toggle("live", s.live === true);
    $("#watch-count").textContent = s.spectators === null ? "" : `${s.spectators} watching`;
    $("#watch-speed-box").hidden = s.live !== false || this.done;
    if (s.live === false) $("#watch-speed").value = String(s.welcome ? s.welcome.speed : this.speed || 1);
    if (this.status === "waiting" && s.connection === "open") {
      this.showOverlay("Waiting for the players to connect…");
    } else if (s.connection === "open" && !this.done) {
      this.hideOverlay();
    }
  }

  // for window.skirmishDebug
  debug() {
    const s = this.session;
    return {
      live: s.live,
      delayMs: s.delayMs,
      speed: s.welcome ? s.welcome.speed : this.speed,
      spectators: s.spectators,
      welcomes: s.stats.welcomes,
      sockets: s.socket.sockets,
      text: s.welcome ? this.stateText() : null,
    };
  }
}

// ------------------------------------------------------------ opening a watch

const watching = { gen: 0 };

// The spectate access, a recording's if `replay`: a match that just ended may still be
// live, or not yet a recording (409), for a moment.
async function accessFor(matchId, code, replay, gen) {
  for (let attempt = 1; ; attempt++) {
    try {
      const access = await client.spectateAccess(matchId, { code });
      if (!replay || !access.live || attempt >= REPLAY_TRIES) return access;
    } catch (e) {
      if (!replay || e.status !== 409 || attempt >= REPLAY_TRIES) throw e;
    }
    await new Promise((resolve) => setTimeout(resolve, REPLAY_RETRY_MS));
    if (gen !== watching.gen) return null;
  }
}

// Watch `matchId` (with a `link` match's `code`): live while it runs, its recording at
// `speed` once it is over. `replay`: the match just ended, its recording is wanted.
export async function startWatch(matchId, { code = null, speed = null, replay = false } = {}) {
  const gen = ++watching.gen;
  showWatchScreen(matchId, code);
  let access;
  try {
    access = await accessFor(matchId, code, replay, gen);
  } catch (e) {
    if (gen !== watching.gen) return;
    leaveWatch();
    showError(REFUSED[e.status] || e);
    return;
  }
  if (!access || gen !== watching.gen) return;
  const pace = access.live ? null : speed || 1;
  const watch = new Watch(client.spectator(access, { code, speed: pace }), { code, speed: pace });
  app.match = watch;
  watch.connect();
}

// The match screen, emptied, for a watch about to connect (whatever was on it is left).
function showWatchScreen(matchId, code) {
  stopSearching();
  stopLobby();
  if (app.match) app.match.dispose();
  app.match = null;
  savedMatch.clear();
  clearMatchScreen();
  resetMatchChat(false);
  forgetWatchLink();
  releaseControls();
  setWatchHash(matchId, code);
  $("#leave").textContent = "Stop watching";
  $("#watch-bar").hidden = true;
  setPhase("watching");
  render({ renderer: null }, 0); // an empty field, not the last match's
  $("#overlay").textContent = "Connecting…";
  $("#overlay").hidden = false;
}

// Back to the menu from a watch (the address bar forgets it).
export function leaveWatch() {
  watching.gen++;
  if (app.match) app.match.dispose();
  app.match = null;
  setWatchHash(null);
  enterMenu();
}

// The result screen's "Watch replay": the finished match, from its recording.
export function watchReplay() {
  const m = app.match;
  if (!m) return;
  const speed = m.spectating && m.live === false ? m.speed : null;
  startWatch(m.id, { code: m.watchCode, speed, replay: true });
}

// A recording's speed changed: it plays again from its start at that speed.
export function changeSpeed() {
  const m = app.match;
  const speed = Number($("#watch-speed").value);
  if (!m || !m.spectating || !SPEEDS.includes(speed)) return;
  startWatch(m.id, { code: m.watchCode, speed, replay: true });
}

// The menu's "Watch a match" form: a link or a match id.
export function watchFromForm(ev) {
  ev.preventDefault();
  const input = $("#watch-input");
  const target = parseWatchInput(input.value);
  if (!target) {
    showError("Paste a watch link, or a match id (m_…).");
    return;
  }
  input.value = "";
  startWatch(target.matchId, { code: target.code });
}

// The page's address asks to watch a match: true when a watch started.
export function watchFromHash() {
  const target = watchTarget();
  if (!target || !app.auth) return false;
  const m = app.match;
  if (m && m.spectating && m.id === target.matchId && !m.done) return true; // already
  startWatch(target.matchId, { code: target.code });
  return true;
}
