// The match screen of a player: the SDK's MatchSession keeps the socket connected (the
// reconnect policy of docs/protocol.md, resending unacknowledged inputs) and a
// SnapshotBuffer keeps the snapshots to interpolate; this module paces the inputs, feeds
// the mode's renderer and shows what it says (view.js: HUD, scoreboard, feed, overlay).
// The side panel offers the match's watch link (links.js) and the players' chat
// (match-chat.js).

import { enterMenu, quickMatch } from "./menu.js";
import { forgetWatchLink, setWatchHash, showWatchLink } from "./links.js";
import { addMatchLine, addMatchNote, closeMatchChat, matchChatWelcome,
  resetMatchChat } from "./match-chat.js";
import { modeDef } from "./modes.js";
import { showResult } from "./result.js";
import { controls, releaseControls, stage } from "./stage.js";
import { app, client, savedMatch } from "./state.js";
import { $, setPhase, showError } from "./ui.js";
import { CLOSE_TEXT, MatchView, clearMatchScreen, showModeChrome } from "./view.js";

const PING_MS = 1000; // pings for the RTT shown (the SDK pings on silence anyway)

export class Match extends MatchView {
  constructor(access, modeHint) {
    super(access.match_id, modeHint, client.session(access, { pingIntervalMs: PING_MS }));
    this.waiting = null;
    this.waitingAt = 0;
    this.nextSendAt = 0;
    this.lastSentAt = -Infinity;
    this.lastInputKey = null;
    this.watchCode = null; // a `link` match's watch code (links.js asks for it)
    this.listen();
  }

  connect() {
    this.session.connect();
  }

  listen() {
    const s = this.session;
    s.on("welcome", (msg) => this.onWelcome(msg));
    s.on("waiting", (msg) => {
      this.waiting = msg;
      this.waitingAt = performance.now();
      this.renderScoreboard();
      this.updateHud();
    });
    s.on("start", () => {
      this.waiting = null;
      this.updateHud();
    });
    s.on("snapshot", (msg) => this.onSnapshot(msg));
    s.on("pong", () => this.updateHud());
    s.on("spectators", () => this.updateHud());
    s.on("chat", (line) => {
      if (this.current) addMatchLine(this, line);
    });
    s.on("announcement", ({ text, at }) => {
      if (this.current) addMatchNote(`📢 ${text}`, "announcement", at);
    });
    s.on("result", () => this.finish());
    s.on("error", (msg) => this.serverError(msg));
    s.on("reconnect", () => this.showOverlay("Server restarting — reconnecting…"));
    s.on("reconnecting", ({ delay, code }) => {
      const why = CLOSE_TEXT[code] || "connection lost";
      this.showOverlay(`${why} — reconnecting in ${(delay / 1000).toFixed(2)} s…`);
      this.updateHud();
    });
    s.on("drop", () => this.updateHud());
    s.on("token", (access) => { // a fresh match token (after a 4001): kept for a reload
      if (this.current && !this.done) savedMatch.set(access);
    });
    s.on("closed", (ev) => this.onClosed(ev));
  }

  onWelcome(msg) {
    this.buffer.setTickRate(msg.tick_rate);
    const first = !this.renderer;
    this.welcomed(msg);
    this.lastInputKey = null; // tell the server where we are at once
    this.hideOverlay();
    this.renderScoreboard();
    this.updateHud();
    if (this.current) matchChatWelcome(msg);
    if (first) showWatchLink(this);
  }

  onSnapshot(msg) {
    const now = performance.now();
    this.waiting = null;
    this.buffer.push(msg, now);
    this.snapshotSeen(msg, now);
    this.updateHud();
  }

  // The session is over for good: a result (as it came, or from GET /v1/matches/{id}
  // after a 1000 or 4010), or a close the policy does not come back from.
  onClosed({ code, reason, gaveUp, result }) {
    if (this.done) return;
    if (result || code === 1000 || code === 4010) {
      this.finish();
      return;
    }
    this.fail(gaveUp ? "cannot reach the server" : CLOSE_TEXT[code] || reason || `connection closed (${code})`);
  }

  finish() {
    if (this.done) return;
    this.done = true; // the renderer stays: the result screen shows the field behind it
    if (this.current) {
      savedMatch.clear();
      closeMatchChat();
    }
    this.updateHud();
    showResult(this);
  }

  fail(message) {
    this.dispose();
    if (!this.current) return;
    savedMatch.clear();
    app.match = null;
    enterMenu();
    showError(`Match: ${message}`);
  }

  // Leave: close the socket with 1000 (no reconnect).
  dispose() {
    this.done = true;
    if (this.renderer && this.renderer.dispose) this.renderer.dispose();
    this.session.close(1000, "left");
  }

  // ---- per frame

  // One input per tick; when it changes, at once (at most half a tick after the last
  // one), in place of the next one due: the server applies one a tick, so sending more
  // than one a tick on average would only queue them up there (latency)
  sendInput(now) {
    if (this.status !== "running" || !this.renderer || !this.session.canSend) return;
    const fields = this.renderer.input(controls, now);
    if (!fields) return;
    const interval = 1000 / Math.min(30, this.tickRate);
    const key = this.renderer.inputKey ? this.renderer.inputKey(fields) : JSON.stringify(fields);
    const due = now >= this.nextSendAt - 3;
    const changed = key !== this.lastInputKey && now - this.lastSentAt >= interval / 2;
    if (!due && !changed) return;
    const seq = this.session.sendInput(fields);
    if (seq === null) return;
    this.lastInputKey = key;
    this.lastSentAt = now;
    if (!due) this.nextSendAt = Math.min(this.nextSendAt + interval, now + 2 * interval);
    else if (now - this.nextSendAt > interval) this.nextSendAt = now + interval; // fell behind
    else this.nextSendAt += interval;
    this.renderer.inputSent(seq, fields, now);
  }

  // ---- DOM

  online() {
    if (this.last) return super.online();
    return (this.waiting && this.waiting.connected) || [];
  }

  updateHud() {
    if (!this.current) return;
    const conn = this.session.connection;
    this.renderHud(conn === "reconnecting" && !this.done ? "reconnecting" : this.status);
    const watching = this.session.spectators;
    $("#watchers").textContent = watching ? `${watching} watching` : "";
    if (this.status === "waiting" && this.waiting && conn === "open") {
      const n = (this.waiting.connected || []).length;
      const total = this.names.size || "?";
      const ms = this.waiting.starts_in_ms - (performance.now() - this.waitingAt);
      this.showOverlay(`Waiting for players · ${n}/${total} connected · ` +
        `starts in ${Math.max(0, Math.ceil(ms / 1000))} s`);
    } else if (conn === "open" && !this.done) {
      this.hideOverlay();
    }
  }
}

export function startMatch(access, modeHint) {
  if (app.match) app.match.dispose();
  savedMatch.set(access);
  const match = new Match(access, modeHint);
  app.match = match;
  clearMatchScreen();
  resetMatchChat(true);
  forgetWatchLink();
  setWatchHash(null);
  $("#leave").textContent = "Leave match";
  const hinted = modeDef(modeHint);
  if (hinted) showModeChrome(hinted, modeHint);
  releaseControls();
  setPhase("playing");
  match.updateHud();
  match.showOverlay("Connecting…");
  stage.canvas.focus();
  match.connect();
}

export function leaveMatch() {
  if (app.match) app.match.dispose();
  app.match = null;
  savedMatch.clear();
  enterMenu();
}

export function playAgain() {
  const mode = app.match && app.match.mode;
  leaveMatch();
  if (mode && [...$("#mode").options].some((o) => o.value === mode)) $("#mode").value = mode;
  quickMatch(mode || undefined);
}
