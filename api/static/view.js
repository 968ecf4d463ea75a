// What the match screen shows of a match, played or watched: the mode's renderer fed with
// the snapshots, the side panel (HUD, scoreboard, feed) and the overlay over the field.
// play.js's Match (a player's, over the SDK's MatchSession) and watch.js's Watch (a
// spectator's, over the SDK's Spectator) build on it; the renderer contract is in app.js.

import {
  Predictor,
  SnapshotBuffer,
  interpolateRows,
  lerp,
  lerpAngle,
  snapWhen,
} from "@skirmish/sdk";

import { FALLBACK_MODE, GREYS, modeDef } from "./modes.js";
import { movement, stage } from "./stage.js";
import { app } from "./state.js";
import { $, clamp, el, fmtTime } from "./ui.js";

const FEED_LENGTH = 6;

export const CLOSE_TEXT = {
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

export class MatchView {
  // `session`: the SDK's MatchSession or Spectator; `buffer`: the snapshots to draw
  constructor(id, modeHint, session, buffer) {
    this.id = id;
    this.mode = modeHint || null; // the welcome decides
    this.def = null; // the mode's registration (window.SkirmishModes)
    this.keys = null; // the key codes the mode reads
    this.renderer = null;
    this.names = new Map();
    this.ids = new Map();
    this.session = session;
    this.buffer = buffer || new SnapshotBuffer();
    this.snapshotsReceived = 0;
    this.lastTick = 0;
    this.feed = [];
    this.done = false;
    this.serverErrors = 0;
    this.scoreKey = "";
    this.hudKey = "";
  }

  // ---- what renderers read

  get spectating() {
    return false;
  }

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

  get current() {
    return this === app.match;
  }

  name(slot) {
    return this.names.get(slot) || `player ${slot}`;
  }

  teamOf(slot) {
    const teams = this.def ? this.def.teams : 0;
    return teams >= 2 && slot !== null ? slot % teams : null;
  }

  // ---- what the session says

  useMode(name) {
    if (this.renderer && this.renderer.dispose) this.renderer.dispose();
    this.mode = name;
    this.def = modeDef(name) || FALLBACK_MODE;
    this.keys = new Set(this.def.keys || []);
    this.buffer.clear();
    this.renderer = this.def.create(this, kit);
    this.scoreKey = "";
    this.hudKey = "";
    if (this.current) showModeChrome(this.def, name, this.spectating);
  }

  // a welcome (a player's, or a spectator's `spectating`): who plays, in which mode
  welcomed(msg) {
    for (const p of msg.players || []) {
      this.names.set(p.slot, p.name);
      this.ids.set(p.slot, p.player_id);
    }
    if (!this.renderer || this.mode !== msg.mode) this.useMode(msg.mode);
    this.renderer.onWelcome(msg);
  }

  // a snapshot, already in the buffer: the mode's feed, the scoreboard
  snapshotSeen(msg, now) {
    this.snapshotsReceived++;
    this.lastTick = msg.tick;
    const entries = this.renderer ? this.renderer.onSnapshot(msg, now) || [] : [];
    if (entries.length) {
      this.feed.unshift(...[...entries].reverse());
      this.feed.length = Math.min(this.feed.length, FEED_LENGTH);
      this.renderFeed();
    }
    this.renderScoreboard();
  }

  serverError(msg) {
    this.serverErrors++;
    $("#server-msg").textContent = `server: ${msg.code} — ${msg.message}`;
  }

  // ---- DOM

  online() {
    const last = this.last;
    return last ? last.online || [] : [];
  }

  showOverlay(text) {
    const o = $("#overlay");
    o.textContent = text;
    o.hidden = false;
  }

  hideOverlay() {
    $("#overlay").hidden = true;
  }

  // the time left, a status word, the round trip and the mode's own values
  renderHud(statusText) {
    if (!this.current) return;
    const left = this.renderer ? this.renderer.timeLeft() : null;
    $("#timer").textContent = left === null || left === undefined ? "–" : fmtTime(left);
    $("#match-status").textContent = statusText;
    const rtt = this.session.rtt;
    $("#rtt").textContent = rtt === null || rtt === undefined ? "–" : `${Math.round(rtt)} ms`;
    this.renderModeHud();
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
    if (!this.current) return;
    const rows = this.scores();
    const teams = this.renderer ? this.renderer.teams() : null;
    const key = JSON.stringify([rows.map((r) => [r.slot, r.score, r.online, r.note, r.name]),
      teams && teams.map((t) => [t.team, t.score])]);
    if (key === this.scoreKey) return;
    this.scoreKey = key;
    const items = [];
    if (teams) {
      const mine = this.teamOf(this.slot);
      for (const t of teams) {
        items.push(el("li", { class: `team${t.team === mine ? " mine" : ""}`, "data-team": t.team },
          el("span", { class: "dot", style: `background:${t.color}` }),
          el("span", { class: "name", text: t.name + (t.team === mine ? " (your team)" : "") }),
          el("span", { class: "score", text: String(t.score) })));
        for (const r of rows.filter((row) => row.team === t.team)) items.push(this.member(r, "member", true));
      }
    } else {
      rows.sort((a, b) => (b.score ?? 0) - (a.score ?? 0) || a.slot - b.slot);
      for (const r of rows) items.push(this.member(r, "", false));
    }
    $("#scoreboard").replaceChildren(...items);
  }

  // one player's line of the scoreboard
  member(r, cls, teams) {
    const me = this.slot;
    const color = this.renderer ? this.renderer.color(r.slot) : GREYS[0];
    return el("li", {
      class: `${cls} ${r.slot === me ? "me" : ""} ${r.online ? "" : "offline"}`,
      "data-slot": r.slot,
    },
    el("span", { class: "dot", style: `background:${color}` }),
    el("span", { class: "name", text: r.name + (r.slot === me ? " (you)" : "") }),
    teams
      ? el("span", { class: "note", text: r.note || (r.online ? "" : "offline") })
      : el("span", { class: "score", text: r.score === null ? "" : String(r.score) }));
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

// the side panel's words for a mode: its controls line (none for a spectator), its feed's
// title, the canvas
export function showModeChrome(def, mode, spectating = false) {
  $("#feed-title").textContent = def.feedTitle || "Events";
  $("#help").replaceChildren(...(spectating ? [] : def.help || []).map((part) => (Array.isArray(part)
    ? el("span", {}, ...part.map((k) => el("kbd", { text: k })))
    : document.createTextNode(part))));
  $("#help").hidden = spectating;
  const canvas = stage.canvas;
  canvas.setAttribute("aria-label", def.canvasLabel || "Match");
  canvas.style.cursor = spectating ? "default" : def.cursor || "";
  canvas.dataset.mode = mode || "";
}

// an empty side panel and no result: a match screen about to show a match
export function clearMatchScreen() {
  $("#scoreboard").replaceChildren();
  $("#killfeed").replaceChildren();
  $("#mode-hud").replaceChildren();
  $("#mode-hud").hidden = true;
  $("#server-msg").textContent = "";
  $("#result").hidden = true;
}
