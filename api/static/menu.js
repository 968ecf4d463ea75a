// The menu: the modes on offer, quick match (a matchmaking ticket, polled by the SDK until
// it is matched), the open lobbies (page by page), the form that creates one (with the
// mode's settings; public, or private: never listed, joined by its code; who may watch
// its match) and the join by a private lobby's code.

import { MatchmakingError, sleep } from "@skirmish/sdk";

import { enterLobby, stopLobby } from "./lobby.js";
import { findMode, lobbySizes, modeRangeTitle, modeSummary, modeTitle } from "./modes.js";
import { startMatch } from "./play.js";
import { readSettings, settingsFields, settingsSummary } from "./settings.js";
import { app, client } from "./state.js";
import { $, el, fmtTime, hideError, isAbort, isTransient, setPhase, showError } from "./ui.js";

const LOBBY_PAGE = 20; // lobbies listed at once; "More lobbies" shows the next page
const RETRY_MS = 1000; // after a poll that got no answer

export function enterMenu() {
  stopSearching();
  stopLobby();
  if (!app.auth) {
    setPhase("signin");
    return;
  }
  setPhase("menu");
  loadModes();
  refreshLobbies();
}

// ------------------------------------------------------------------ modes

function currentMode() {
  return findMode($("#mode").value || "arena");
}

function lobbyFormMode() {
  return findMode($("#lobby-form-mode").value || currentMode().name);
}

function renderModeInfo() {
  const mode = currentMode();
  $("#mode-info").textContent = mode.tick_rate ? modeSummary(mode) : "";
}

// the lobby form's sizes and settings for its mode (settings typed in are kept while the
// mode and its schema stay the same)
export function renderLobbyForm() {
  const mode = lobbyFormMode();
  const max = $("#lobby-max");
  const keep = Number(max.value) || mode.max_players;
  const sizes = lobbySizes(mode);
  max.replaceChildren(...sizes.map((n) => el("option", { value: n, text: `${n} players` })));
  max.value = String(sizes.includes(keep) ? keep : sizes[sizes.length - 1]);
  const box = $("#lobby-form-settings");
  const key = JSON.stringify([mode.name, mode.settings_schema || null]);
  if (box.dataset.key !== key) {
    box.dataset.key = key;
    box.replaceChildren(...settingsFields(mode.settings_schema, {}, { idPrefix: "new-setting" }));
  }
  box.hidden = !box.children.length;
}

// the quick match's choice carries over to the lobby form
export function onModeChange() {
  renderModeInfo();
  const form = $("#lobby-form-mode");
  if ([...form.options].some((o) => o.value === $("#mode").value)) {
    form.value = $("#mode").value;
    renderLobbyForm();
  }
}

async function loadModes() {
  if (!app.modes.length) {
    renderModeInfo();
    renderLobbyForm();
  }
  try {
    app.modes = await client.modes();
  } catch (e) {
    showError(e);
    return;
  }
  const select = $("#mode");
  const keep = select.value || "arena";
  select.replaceChildren(...app.modes.map((m) => el("option", { value: m.name, text: modeTitle(m) })));
  if (app.modes.some((m) => m.name === keep)) select.value = keep;
  const form = $("#lobby-form-mode");
  const keepForm = form.value || select.value;
  form.replaceChildren(...app.modes.map((m) => el("option", { value: m.name, text: modeRangeTitle(m) })));
  if (app.modes.some((m) => m.name === keepForm)) form.value = keepForm;
  renderModeInfo();
  renderLobbyForm();
}

// ---------------------------------------------------------------- lobbies

const listing = { gen: 0, next: null };

function lobbyItem(lobby) {
  const host = lobby.members.find((m) => m.player_id === lobby.host_id);
  const mode = findMode(lobby.mode);
  const changed = settingsSummary(mode.settings_schema, lobby.settings);
  return el("li", { "data-lobby": lobby.id },
    el("span", { class: "grow" },
      el("strong", { text: lobby.name || lobby.id }),
      el("span", { class: "muted small", text: host ? ` · host ${host.name}` : "" }),
      changed ? el("span", { class: "muted small settings-summary", text: changed, title: changed }) : ""),
    el("span", { class: "badge", text: lobby.mode }),
    el("span", { class: "muted small", text: `${lobby.members.length}/${lobby.max_players}` }),
    el("button", {
      type: "button", class: "lobby-join", "data-id": lobby.id, text: "Join",
      onclick: () => joinLobby(lobby.id),
    }));
}

// The first page of open lobbies, or (`more`) the next one under it.
export async function refreshLobbies(more = false) {
  const gen = more ? listing.gen : ++listing.gen;
  const list = $("#lobby-list");
  let page;
  try {
    page = await client.listLobbies({ limit: LOBBY_PAGE, after: more ? listing.next : undefined });
  } catch (e) {
    if (gen !== listing.gen) return;
    if (more && e.status === 404) refreshLobbies(); // the page's last lobby is gone: start over
    else showError(e);
    return;
  }
  if (gen !== listing.gen) return;
  if (!more) list.replaceChildren();
  for (const empty of list.querySelectorAll("li.empty")) empty.remove();
  list.append(...page.lobbies.map(lobbyItem));
  if (!list.children.length) list.append(el("li", { class: "empty", text: "No open lobbies yet." }));
  listing.next = page.next;
  $("#lobby-more").hidden = !page.next;
}

export async function createLobby(ev) {
  ev.preventDefault();
  const mode = lobbyFormMode();
  const name = $("#lobby-name").value.trim() || `${app.auth.name}'s lobby`;
  const maxPlayers = Number($("#lobby-max").value) || mode.max_players;
  const settings = readSettings($("#lobby-form-settings"));
  const secret = $("#lobby-private-check").checked;
  const spectators = $("#lobby-spectators").value; // who may watch its match
  const button = $("#lobby-create");
  button.disabled = true;
  try {
    const lobby = await client.createLobby({ mode: mode.name, name, maxPlayers, settings,
      private: secret, spectators });
    hideError();
    enterLobby(lobby);
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
  }
}

// A private lobby's code (6 letters or digits, any case): join it.
export async function joinByCode(ev) {
  ev.preventDefault();
  const input = $("#lobby-code-input");
  const code = input.value.trim();
  if (!/^[A-Za-z0-9]{6}$/.test(code)) {
    showError("A lobby code is 6 letters or digits.");
    return;
  }
  const button = $("#lobby-code-join");
  button.disabled = true;
  try {
    const lobby = await client.joinLobbyByCode(code);
    hideError();
    input.value = "";
    enterLobby(lobby);
  } catch (e) {
    showError(e.status === 404 ? "No open lobby has that code." : e);
  } finally {
    button.disabled = false;
  }
}

async function joinLobby(id) {
  try {
    const lobby = await client.joinLobby(id);
    hideError();
    enterLobby(lobby);
  } catch (e) {
    if (e.status === 409) { // already a member: just go there
      try {
        const lobby = await client.getLobby(id);
        if (lobby.members.some((m) => m.player_id === app.auth.player_id)) {
          enterLobby(lobby);
          return;
        }
      } catch {
        /* the original error says it */
      }
    }
    showError(e);
    refreshLobbies();
  }
}

// ------------------------------------------------------------ quick match

const search = { controller: null, started: 0 };

function showSearchTime() {
  $("#search-time").textContent = fmtTime((performance.now() - search.started) / 1000);
}

// Wait for the ticket's match: the SDK polls it (and cancels it on abort); a poll that
// got no answer is tried again.
async function waitTicket(ticket, signal) {
  let current = ticket;
  for (;;) {
    try {
      return await client.waitForMatch(current, {
        signal,
        timeoutMs: Infinity, // until the server expires the ticket, or the player cancels
        onTicket: (t) => {
          current = t;
          showSearchTime();
        },
      });
    } catch (e) {
      if (!isTransient(e) || signal.aborted) throw e;
      showError(e);
      await sleep(RETRY_MS, { signal }).catch(() => {}); // aborted: the next wait cancels
    }
  }
}

// queue for `mode` (a name), by default the one chosen in the menu
export async function quickMatch(mode) {
  const name = typeof mode === "string" ? mode : currentMode().name;
  const button = $("#quick");
  button.disabled = true;
  let ticket;
  try {
    ticket = await client.createTicket(name);
    hideError();
  } catch (e) {
    showError(e);
    return;
  } finally {
    button.disabled = false;
  }
  stopSearching();
  const controller = new AbortController();
  search.controller = controller;
  search.started = performance.now();
  showSearchTime();
  setPhase("searching");
  let access;
  try {
    access = await waitTicket(ticket, controller.signal);
  } catch (e) {
    if (search.controller !== controller) return; // left meanwhile (signed out)
    search.controller = null;
    enterMenu();
    if (e instanceof MatchmakingError) {
      if (e.status === "expired") showError("Nobody to play with right now — the ticket expired.");
      else if (e.status !== "cancelled") showError(`Matchmaking: ${e.status}`);
    } else if (!isAbort(e)) {
      showError(e);
    }
    return;
  }
  if (search.controller !== controller) return;
  search.controller = null;
  startMatch(access, ticket.mode);
}

// The player's cancel: the SDK cancels the ticket (matched meanwhile, the match goes on).
export function cancelSearch() {
  if (search.controller) search.controller.abort();
  else enterMenu();
}

// Forget the search (the ticket is cancelled, what it answers ignored).
export function stopSearching() {
  const controller = search.controller;
  search.controller = null;
  if (controller) controller.abort();
}
