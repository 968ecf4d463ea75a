// Watch links: `/#watch=<match_id>` (`/#watch=<match_id>.<code>` for a `link` match, the
// code its players are given), what they open (watch.js), the link a player copies from
// the match screen, and what the menu's "Watch a match" form takes (an id or a link).

import { client } from "./state.js";
import { $ } from "./ui.js";

const MATCH_ID = /^m_[0-9A-Za-z]+$/;
const CODE = /^[A-Za-z0-9_-]+$/;

// "<id>" or "<id>.<code>" (a hash's value): {matchId, code} or null
function parseTarget(text) {
  const value = String(text || "").trim();
  const dot = value.indexOf(".");
  const matchId = dot < 0 ? value : value.slice(0, dot);
  const code = dot < 0 ? null : value.slice(dot + 1);
  if (!MATCH_ID.test(matchId) || (code !== null && !CODE.test(code))) return null;
  return { matchId, code };
}

// The match a location's hash asks to watch ("#watch=<id>[.<code>]"), or null.
export function watchTarget(hash = location.hash) {
  const m = /^#?watch=(.+)$/.exec(hash || "");
  return m ? parseTarget(decodeURIComponent(m[1])) : null;
}

// What a person may type or paste into the menu's form: a link, "#watch=…", "id.code", "id".
export function parseWatchInput(text) {
  const value = String(text || "").trim();
  const at = value.indexOf("#");
  if (at >= 0) return watchTarget(value.slice(at));
  return parseTarget(value.replace(/^watch=/, ""));
}

export function watchHash(matchId, code) {
  return `#watch=${matchId}${code ? `.${code}` : ""}`;
}

export function watchUrl(matchId, code) {
  return `${location.origin}/${watchHash(matchId, code)}`;
}

// Put a watch in the address bar (a reload goes on watching), or take it out.
export function setWatchHash(matchId, code) {
  const hash = matchId ? watchHash(matchId, code) : "";
  if (location.hash === hash) return;
  history.replaceState(null, "", `${location.pathname}${location.search}${hash}`);
}

// ---------------------------------------------------- the player's watch link

let linkGen = 0;

export function forgetWatchLink() {
  linkGen++;
  $("#watch-link-box").hidden = true;
  $("#watch-link").value = "";
}

// The watch link of the match `match` plays: a spectate access as one of its players says
// its watch code (a `link` match's; null for others). Nobody else may watch a `players`
// match: no link for it.
export async function showWatchLink(match) {
  const gen = ++linkGen;
  try {
    const [access, info] = await Promise.all([client.spectateAccess(match.id),
      client.getMatch(match.id)]);
    if (gen !== linkGen || !match.current) return;
    match.watchCode = access.code || null;
    if (info.spectators === "players") return;
    $("#watch-link").value = watchUrl(match.id, match.watchCode);
    $("#watch-link-note").textContent = match.watchCode
      ? "Only those with this link may watch."
      : "Anyone signed in may watch.";
    $("#watch-link-box").hidden = false;
  } catch {
    // a server that does not offer spectating: no link
  }
}

export async function copyWatchLink() {
  const input = $("#watch-link");
  const button = $("#watch-link-copy");
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Press Ctrl+C"; // no clipboard (an insecure origin): it is selected
  }
  setTimeout(() => {
    button.textContent = "Copy";
  }, 1500);
}
