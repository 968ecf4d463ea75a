// The result screen over the field: who won, why, and a row per player.

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

function titleOf(match, res, def, players) {
  if (!res) return "Match over";
  const teams = def.teams >= 2 ? def.teams : 0;
  const winner = players.find((p) => p.player_id === res.winner);
  if (!res.winner) {
    return res.reason === "no_contest" || res.reason === "abandoned" ? "No contest" : "Draw";
  }
  if (teams && match.slot !== null && winner) {
    const team = winner.slot % teams;
    const name = def.teamName ? def.teamName(team) : `Team ${team + 1}`;
    return team === match.slot % teams ? "Your team wins!" : `${name} team wins`;
  }
  if (res.winner === app.auth.player_id) return "You win!";
  return `${winner ? winner.name : "someone"} wins`;
}

export function showResult(match) {
  if (match !== app.match) return;
  match.hideOverlay();
  const def = match.def || modeDef(match.mode) || modeDef("arena") || FALLBACK_MODE;
  const teams = def.teams >= 2 ? def.teams : 0;
  const columns = def.resultColumns || FALLBACK_MODE.resultColumns;
  const res = match.session.result;
  const players = (res && res.players) || [];
  const winner = res ? players.find((p) => p.player_id === res.winner) : undefined;
  const winningTeam = teams && winner ? winner.slot % teams : null;
  $("#result-title").textContent = titleOf(match, res, def, players);
  $("#result-reason").textContent = res ? REASONS[res.reason] || res.reason || "" : "";
  $("#result-table thead").replaceChildren(el("tr", {}, el("th", { text: "Player" }),
    ...columns.map((c) => el("th", { text: c.label })), el("th", { text: "Rating" })));
  const won = (p) => (teams ? winningTeam !== null && p.slot % teams === winningTeam
    : p.player_id === res.winner);
  const order = (a, b) => (teams ? (a.slot % teams) - (b.slot % teams) : 0)
    || b.score - a.score || a.slot - b.slot;
  $("#result-table tbody").replaceChildren(...[...players].sort(order).map((p) => {
    const delta = Math.round((p.rating_after ?? 0) - (p.rating_before ?? 0));
    const rating = el("td", {}, `${Math.round(p.rating_after ?? 0)} `,
      el("span", { class: delta >= 0 ? "up" : "down", text: `(${delta >= 0 ? "+" : ""}${delta})` }));
    const name = el("td", {});
    if (teams && match.renderer) {
      name.append(el("span", { class: "dot", style: `background:${match.renderer.color(p.slot)}` }));
    }
    name.append(p.name + (won(p) ? " ★" : ""));
    return el("tr", { class: p.player_id === app.auth.player_id ? "me" : "", "data-player": p.player_id },
      name,
      ...columns.map((c) => {
        const v = c.value(p);
        return el("td", { text: v === undefined || v === null ? "–" : String(v) });
      }),
      rating);
  }));
  $("#result-table").hidden = !players.length;
  $("#result").hidden = false;
  setPhase("result");
}
