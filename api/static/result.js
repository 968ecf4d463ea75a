// The result screen over the field: who won, why, and a row per player. After a match,
// played or watched live, "Watch replay" watches it again from its recording (watch.js).

import { FALLBACK_MODE, modeDef } from "./modes.js";
import { app } from "./state.js";
import { $, el, setPhase } from "./ui.js";

const REASONS = {
  score_limit: "score limit reached",
  capture_limit: "capture limit reached",
  time_limit: "time is up",
  no_contest: "no contest: the game mode failed on the server",
  abandoned: "abandoned: nobody connected",
};
const NO_RECORDING = new Set(["no_contest", "abandoned"]);

function titleOf(match, res, def, players) {
  if (!res) return "Match over";
  const teams = def.teams >= 2 ? def.teams : 0;
  const winner = players.find((p) => p.player_id === res.winner);
  if (!res.winner) {
    return res.reason === "no_contest" || res.reason === "abandoned" ? "No contest" : "Draw";
  }
  if (teams && winner) {
    const team = winner.slot % teams;
    const name = def.teamName ? def.teamName(team) : `Team ${team + 1}`;
    if (match.slot !== null && team === match.slot % teams) return "Your team wins!";
    return `${name} team wins`;
  }
  if (!match.spectating && res.winner === app.auth.player_id) return "You win!";
  return `${winner ? winner.name : "someone"} wins`;
}

// the rating column: a player's rating and its change (a recording's result has none)
function ratingCell(p) {
  const delta = Math.round((p.rating_after ?? 0) - (p.rating_before ?? 0));
  return el("td", {}, `${Math.round(p.rating_after ?? 0)} `,
    el("span", { class: delta >= 0 ? "up" : "down", text: `(${delta >= 0 ? "+" : ""}${delta})` }));
}

function renderTable(match, def, res, players) {
  const teams = def.teams >= 2 ? def.teams : 0;
  const columns = def.resultColumns || FALLBACK_MODE.resultColumns;
  const rated = players.some((p) => typeof p.rating_after === "number");
  const winner = res ? players.find((p) => p.player_id === res.winner) : undefined;
  const winningTeam = teams && winner ? winner.slot % teams : null;
  $("#result-table thead").replaceChildren(el("tr", {}, el("th", { text: "Player" }),
    ...columns.map((c) => el("th", { text: c.label })), rated ? el("th", { text: "Rating" }) : ""));
  const won = (p) => (teams ? winningTeam !== null && p.slot % teams === winningTeam
    : p.player_id === res.winner);
  const order = (a, b) => (teams ? (a.slot % teams) - (b.slot % teams) : 0)
    || b.score - a.score || a.slot - b.slot;
  const me = match.spectating ? null : app.auth.player_id;
  $("#result-table tbody").replaceChildren(...[...players].sort(order).map((p) => {
    const name = el("td", {});
    if (teams && match.renderer) {
      name.append(el("span", { class: "dot", style: `background:${match.renderer.color(p.slot)}` }));
    }
    name.append(p.name + (won(p) ? " ★" : ""));
    return el("tr", { class: p.player_id === me ? "me" : "", "data-player": p.player_id },
      name,
      ...columns.map((c) => {
        const v = c.value(p);
        return el("td", { text: v === undefined || v === null ? "–" : String(v) });
      }),
      rated ? ratingCell(p) : "");
  }));
  $("#result-table").hidden = !players.length;
}

export function showResult(match) {
  if (match !== app.match) return;
  match.hideOverlay();
  const def = match.def || modeDef(match.mode) || modeDef("arena") || FALLBACK_MODE;
  const res = match.session.result;
  const players = (res && res.players) || [];
  $("#result-title").textContent = titleOf(match, res, def, players);
  const reason = res ? REASONS[res.reason] || res.reason || "" : "";
  $("#result-reason").textContent = res && res.replayed ? `${reason} · replay` : reason;
  renderTable(match, def, res, players);
  $("#again").hidden = match.spectating;
  const replay = $("#watch-replay");
  replay.hidden = !!res && NO_RECORDING.has(res.reason);
  replay.textContent = match.spectating && match.live === false ? "Watch again" : "Watch replay";
  $("#result").hidden = false;
  setPhase("result");
}
