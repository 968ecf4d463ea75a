// The game modes: what the server offers (GET /v1/modes, in app.modes) and how this page
// draws them (the renderers that mode-<name>.js registers on window.SkirmishModes; the
// contract is described in app.js).

import { app } from "./state.js";

export const GREYS = ["#cbd5e1", "#94a3b8", "#a8a29e", "#d4d4d8"];

// The renderer registered for `name`, or null.
export function modeDef(name) {
  const modes = window.SkirmishModes || {};
  return Object.prototype.hasOwnProperty.call(modes, name) ? modes[name] : null;
}

// For a mode this page cannot draw: the match is listed, nothing is sent (pings keep the
// socket alive), the player stands still.
export const FALLBACK_MODE = {
  title: null,
  teams: 0,
  keys: [],
  canvasLabel: "Match",
  cursor: "default",
  feedTitle: "Events",
  help: ["This page cannot draw this game mode: your player stands still."],
  resultColumns: [
    { label: "Score", value: (p) => p.score },
    { label: "K", value: (p) => p.kills },
    { label: "D", value: (p) => p.deaths },
  ],
  create: (match) => ({
    world: () => ({
      width: Number(match.config.width) || 1000,
      height: Number(match.config.height) || 1000,
    }),
    onWelcome() {},
    onSnapshot: () => [],
    input: () => null,
    inputKey: () => "",
    inputSent() {},
    draw(stage) {
      const { ctx } = stage;
      const w = this.world();
      ctx.clearRect(0, 0, stage.w, stage.h);
      ctx.fillStyle = "#0f1522";
      ctx.fillRect(stage.ox, stage.oy, w.width * stage.scale, w.height * stage.scale);
      ctx.fillStyle = "#8b95a9";
      ctx.font = "500 15px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(`This page cannot draw “${match.mode}”`, stage.w / 2, stage.h / 2);
      return 0;
    },
    timeLeft: () => null,
    scores: () => [...match.names.keys()].sort((a, b) => a - b)
      .map((slot) => ({ slot, score: null })),
    teams: () => null,
    hud: () => [],
    color: (slot) => GREYS[slot % GREYS.length],
    debug: () => ({}),
  }),
};

// The server's description of `name` (a guess until GET /v1/modes answered).
export function findMode(name) {
  return app.modes.find((m) => m.name === name)
    || { name, min_players: 2, max_players: 8, teams: 0, settings_schema: {} };
}

export function playerRange(mode) {
  return mode.min_players === mode.max_players
    ? `${mode.min_players}` : `${mode.min_players}–${mode.max_players}`;
}

// the quick match picker's text for a mode
export function modeTitle(mode) {
  const def = modeDef(mode.name);
  return def && def.title && def.title.toLowerCase() !== mode.name
    ? `${def.title} (${mode.name})` : mode.name;
}

// the lobby form's text for a mode
export function modeRangeTitle(mode) {
  return `${mode.name} · ${playerRange(mode)} players${mode.teams >= 2 ? ` in ${mode.teams} teams` : ""}`;
}

export function modeSummary(mode) {
  const def = modeDef(mode.name);
  const parts = [];
  if (def && def.blurb) parts.push(def.blurb);
  parts.push(`${playerRange(mode)} players`);
  if (mode.teams >= 2) parts.push(`${mode.teams} teams`);
  if (mode.tick_rate) parts.push(`${mode.tick_rate} Hz`);
  if (mode.hides_information && !(def && def.blurb)) parts.push("hidden information");
  return parts.join(" · ");
}

// lobby sizes a mode allows: within its range; for a team mode, equal teams only
export function lobbySizes(mode) {
  const sizes = [];
  for (let n = Math.max(2, mode.min_players); n <= mode.max_players; n++) {
    if (!(mode.teams >= 2) || n % mode.teams === 0) sizes.push(n);
  }
  return sizes.length ? sizes : [mode.max_players];
}
