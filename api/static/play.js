// The match screen: the SDK's MatchSession keeps the socket connected (the reconnect
// policy of docs/protocol.md, resending unacknowledged inputs) and a SnapshotBuffer keeps
// the snapshots to interpolate; this module paces the inputs, feeds the mode's renderer
// and shows what it says (HUD, scoreboard, feed, overlay).

import {
  Predictor,
  SnapshotBuffer,
  interpolateRows,
  lerp,
  lerpAngle,
  snapWhen,
} from "@skirmish/sdk";

import { enterMenu, quickMatch } from "./menu.js";
import { FALLBACK_MODE, GREYS, modeDef } from "./modes.js";
import { showResult } from "./result.js";
import { controls, movement, releaseControls, stage } from "./stage.js";
import { app, client, savedMatch } from "./state.js";
import { $, clamp, el, fmtTime, setPhase, showError } from "./ui.js";

const PING_MS = 1000; // pings for the RTT shown (the SDK pings on silence anyway)
const FEED_LENGTH = 6;
const CLOSE_TEXT = {
  1001: "the server went away",
  1006: "connection lost",
  1008: "closed by the server (policy violation)",
  1009: "closed by the server (frame too big)",
  1011: "server error",
  1012: "server restarting",
  1013: "server busy",
  4001: "not authorised for this match",
  4003: "you are not a player of this match",
  4004: "match not found",
  4008: "idle for too long",
  4009: "this match was opened in another tab or window",
  4010: "the match is already over",
  4029: "too many connections",
};

// what a renderer gets besides the match: small helpers and the SDK's interpolation and
// prediction
const kit = { clamp, lerp, lerpAngle, fmtTime, movement, interpolateRows, snapWhen, Predictor };

export class Match {
  constructor(access, modeHint) {
    this.id = access.match_id;
    this.mode = modeHint || null; // welcome.mode decides
    this.def = null; // the mode's registration (window.SkirmishModes)
    this.keys = null; // the key codes the mode reads
    this.renderer = null;
    this.names = new Map();
    this.ids = new Map();
    this.buffer = new SnapshotBuffer(); // tick rate from the welcome
    this.snapshotsReceived = 0;
    this.lastTick = 0;
    this.feed = [];
    this.waiting = null;
    this.waitingAt = 0;
    this.done = false;
    this.serverErrors = 0;
    this.nextSendAt = 0;
    this.lastSentAt = -Infinity;
    this.lastInputKey = null;
    this.scoreKey = "";
    this.hudKey = "";
    this.session = client.session(access, { pingIntervalMs: PING_MS });
    this.listen();
  }

  // ---- what renderers read

  get slot() {
    return this.session.slot;
  }

  get config() {
    return this.session.config || {};
  }

  get tickRate() {
    return this.session.tickRate || 30;
  }

  // connecting | waiting | running | finished
  get status() {
    return this.session.status;
  }

  // the newest snapshot, or null
  get last() {
    return this.buffer.latest;
  }

  name(slot) {
    return this.names.get(slot) || `player ${slot}`;
  }

  teamOf(slot) {
    const teams = this.def ? this.def.teams : 0;
    return teams >= 2 && slot !== null ? slot % teams : null;
  }

  // ---- the session

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
    s.on("result", () => this.finish());
    s.on("error", (msg) => {
      this.serverErrors++;
      $("#server-msg").textContent = `server: ${msg.code} — ${msg.message}`;
    });
    s.on("reconnect", () => this.showOverlay("Server restarting — reconnecting…"));
    s.on("reconnecting", ({ delay, code }) => {
      const why = CLOSE_TEXT[code] || "connection lost";
      this.showOverlay(`${why} — reconnecting in ${(delay / 1000).toFixed(2)} s…`);
      this.updateHud();
    });
    s.on("drop", () => this.updateHud());
    s.on("token", (access) => { // a fresh match token (after a 4001): kept for a reload
      if (this === app.match && !this.done) savedMatch.set(access);
    });
    s.on("closed", (ev) => this.onClosed(ev));
  }

  useMode(name) {
    if (this.renderer && this.renderer.dispose) this.renderer.dispose();
    this.mode = name;
    this.def = modeDef(name) || FALLBACK_MODE;
    this.keys = new Set(this.def.keys || []);
    this.buffer.clear();
    this.renderer = this.def.create(this, kit);
    this.scoreKey = "";
    this.hudKey = "";
    if (this === app.match) showModeChrome(this.def, name);
  }

  onWelcome(msg) {
    for (const p of msg.players || []) {
      this.names.set(p.slot, p.name);
      this.ids.set(p.slot, p.player_id);
    }
    this.buffer.setTickRate(msg.tick_rate);
    if (!this.renderer || this.mode !== msg.mode) this.useMode(msg.mode);
    this.renderer.onWelcome(msg);
    this.lastInputKey = null; // tell the server where we are at once
    this.hideOverlay();
    this.renderScoreboard();
    this.updateHud();
  }

  onSnapshot(msg) {
    const now = performance.now();
    this.waiting = null;
    this.buffer.push(msg, now);
    this.snapshotsReceived++;
    this.lastTick = msg.tick;
    const entries = this.renderer ? this.renderer.onSnapshot(msg, now) || [] : [];
    if (entries.length) {
      this.feed.unshift(...[...entries].reverse());
      this.feed.length = Math.min(this.feed.length, FEED_LENGTH);
      this.renderFeed();
    }
    this.renderScoreboard();
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
    if (this === app.match) savedMatch.clear();
    this.updateHud();
    showResult(this);
  }

  fail(message) {
    this.dispose();
    if (this !== app.match) return;
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
    const last = this.last;
    if (last) return last.online || [];
    return (this.waiting && this.waiting.connected) || [];
  }

  showOverlay(text) {
    const o = $("#overlay");
    o.textContent = text;
    o.hidden = false;
  }

  hideOverlay() {
    $("#overlay").hidden = true;
  }

  updateHud() {
    if (this !== app.match) return;
    const left = this.renderer ? this.renderer.timeLeft() : null;
    $("#timer").textContent = left === null || left === undefined ? "–" : fmtTime(left);
    const conn = this.session.connection;
    $("#match-status").textContent = conn === "reconnecting" && !this.done ? "reconnecting" : this.status;
    const rtt = this.session.rtt;
    $("#rtt").textContent = rtt === null ? "–" : `${Math.round(rtt)} ms`;
    this.renderModeHud();
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

  // the mode's own HUD values, each in #hud-<key>
  renderModeHud() {
    const items = this.renderer ? this.renderer.hud() || [] : [];
    const box = $("#mode-hud");
    const key = items.map((i) => `${i.key}:${i.label}`).join("|");
    if (key !== this.hudKey) {
      this.hudKey = key;
      box.replaceChildren(...items.map((i) => el("div", {},
        el("span", { class: "label", text: i.label }),
        el("span", { id: `hud-${i.key}`, class: "value" }))));
    }
    for (const i of items) {
      const node = document.getElementById(`hud-${i.key}`);
      if (node && node.textContent !== i.text) node.textContent = i.text;
    }
    box.hidden = !items.length;
  }

  // the scoreboard's rows: every player the mode lists, with name and presence
  scores() {
    const online = new Set(this.online());
    const rows = this.renderer ? this.renderer.scores() : [];
    return rows.map((r) => ({ ...r, name: this.name(r.slot), online: online.has(r.slot) }));
  }

  renderScoreboard() {
    if (this !== app.match) return;
    const rows = this.scores();
    const teams = this.renderer ? this.renderer.teams() : null;
    const key = JSON.stringify([rows.map((r) => [r.slot, r.score, r.online, r.note, r.name]),
      teams && teams.map((t) => [t.team, t.score])]);
    if (key === this.scoreKey) return;
    this.scoreKey = key;
    const color = (slot) => (this.renderer ? this.renderer.color(slot) : GREYS[0]);
    const me = this.slot;
    const member = (r, cls) => el("li", {
      class: `${cls} ${r.slot === me ? "me" : ""} ${r.online ? "" : "offline"}`,
      "data-slot": r.slot,
    },
    el("span", { class: "dot", style: `background:${color(r.slot)}` }),
    el("span", { class: "name", text: r.name + (r.slot === me ? " (you)" : "") }),
    teams
      ? el("span", { class: "note", text: r.note || (r.online ? "" : "offline") })
      : el("span", { class: "score", text: r.score === null ? "" : String(r.score) }));
    const items = [];
    if (teams) {
      const mine = this.teamOf(me);
      for (const t of teams) {
        items.push(el("li", { class: `team${t.team === mine ? " mine" : ""}`, "data-team": t.team },
          el("span", { class: "dot", style: `background:${t.color}` }),
          el("span", { class: "name", text: t.name + (t.team === mine ? " (your team)" : "") }),
          el("span", { class: "score", text: String(t.score) })));
        for (const r of rows.filter((row) => row.team === t.team)) items.push(member(r, "member"));
      }
    } else {
      rows.sort((a, b) => (b.score ?? 0) - (a.score ?? 0) || a.slot - b.slot);
      for (const r of rows) items.push(member(r, ""));
    }
    $("#scoreboard").replaceChildren(...items);
  }

  renderFeed() {
    $("#killfeed").replaceChildren(...this.feed.map((parts) => el("li", {}, ...parts.map(feedPart))));
  }
}

// a part of a feed entry: a string, or {text, color, cls}; always text, never HTML
function feedPart(part) {
  if (typeof part === "string") return el("span", { text: part });
  return el("span", { text: String(part.text), class: part.cls, style: part.color && `color:${part.color}` });
}

// the side panel's words for a mode: its controls line, its feed's title, the canvas
function showModeChrome(def, mode) {
  $("#feed-title").textContent = def.feedTitle || "Events";
  $("#help").replaceChildren(...(def.help || []).map((part) => (Array.isArray(part)
    ? el("span", {}, ...part.map((k) => el("kbd", { text: k })))
    : document.createTextNode(part))));
  const canvas = stage.canvas;
  canvas.setAttribute("aria-label", def.canvasLabel || "Match");
  canvas.style.cursor = def.cursor || "";
  canvas.dataset.mode = mode || "";
}

export function startMatch(access, modeHint) {
  if (app.match) app.match.dispose();
  savedMatch.set(access);
  const match = new Match(access, modeHint);
  app.match = match;
  $("#scoreboard").replaceChildren();
  $("#killfeed").replaceChildren();
  $("#mode-hud").replaceChildren();
  $("#mode-hud").hidden = true;
  $("#server-msg").textContent = "";
  $("#result").hidden = true;
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
