// Skirmish browser client: guest sign-in, quick match, lobbies and the match screen.
// Plain JS, no build step. The wire contract is docs/protocol.md.
//
// What is on the field is each game mode's own: mode-<name>.js, loaded by index.html
// before this file, registers
//   window.SkirmishModes[name] = {
//     title, blurb,          shown in the mode pickers
//     teams,                 0: every player for themself; T: slot s plays for team s % T
//     keys,                  the KeyboardEvent.code values it reads (kept from the page)
//     help,                  the controls line: strings, and arrays of key names
//     feedTitle, canvasLabel, cursor, teamName(team), resultColumns [{label, value(p)}],
//     create(match, kit) →   a renderer, one per match
//   }
// and the match picks the one welcome.mode names (a mode without one is only listed).
// A renderer:
//   world() → {width, height}          the field, fitted into the canvas
//   onWelcome(welcome)                 after every (re)connect
//   onSnapshot(snap, now) → entries    for the feed: arrays of strings and {text, color, cls}
//   input(controls, now) → fields      the input's mode fields, or null to send nothing;
//                                      sent at the tick rate and at once when they change:
//   inputKey(fields) → string          what counts as a change
//   inputSent(seq, fields)             e.g. for prediction
//   draw(stage, now) → players drawn
//   timeLeft() → seconds or null
//   scores() → [{slot, score, team?, note?}]   the scoreboard (names and `online` added here)
//   teams() → [{team, name, color, score}] or null
//   hud() → [{key, label, text}]       extra HUD values (#hud-<key>)
//   color(slot), debug() → {...}       (merged into window.skirmishDebug.state())
// It reads the match's slot, config, tickRate, status, snapshots (the last two, each with
// `at`, the performance.now() it arrived), names and name(slot); kit has clamp, lerp,
// fmtTime and movement(controls) (WASD/arrows → dx, dy).
"use strict";

(() => {
  const $ = (sel) => document.querySelector(sel);
  const STORE_AUTH = "skirmish.auth";
  const STORE_MATCH = "skirmish.match";
  const TICKET_POLL_MS = 300;
  const LOBBY_POLL_MS = 500;
  const PING_MS = 1000;
  const FEED_LENGTH = 6;
  const NO_RECONNECT = new Set([1000, 4001, 4003, 4004, 4009, 4010, 4029]);
  const CLOSE_TEXT = {
    1008: "closed by the server (policy violation)",
    1009: "closed by the server (frame too big)",
    1011: "server error",
    1012: "server restarting",
    4001: "not authorised for this match",
    4003: "you are not a player of this match",
    4004: "match not found",
    4009: "this match was opened in another tab or window",
    4010: "the match is already over",
  };
  const REASONS = {
    score_limit: "score limit reached",
    capture_limit: "capture limit reached",
    time_limit: "time is up",
    no_contest: "no contest: the game mode failed on the server",
    abandoned: "abandoned: nobody connected",
  };
  const GREYS = ["#cbd5e1", "#94a3b8", "#a8a29e", "#d4d4d8"];
  const MOVE_KEYS = {
    up: ["KeyW", "ArrowUp"], down: ["KeyS", "ArrowDown"],
    left: ["KeyA", "ArrowLeft"], right: ["KeyD", "ArrowRight"],
  };

  const app = {
    phase: "signin",
    auth: null, // {player_id, name, token, expires_at}
    modes: [],
    ticket: null,
    ticketGen: 0,
    searchStarted: 0,
    lobby: null,
    lobbyGen: 0,
    match: null, // the current Match
  };

  // ---------------------------------------------------------------- helpers

  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const lerp = (a, b, t) => a + (b - a) * t;

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  }

  function fmtTime(seconds) {
    const s = Math.max(0, Math.ceil(seconds));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  // the movement keys held, as a vector of length at most 1
  function movement(controls) {
    const held = (dir) => MOVE_KEYS[dir].some((code) => controls.down(code));
    let dx = (held("right") ? 1 : 0) - (held("left") ? 1 : 0);
    let dy = (held("down") ? 1 : 0) - (held("up") ? 1 : 0);
    const len = Math.hypot(dx, dy);
    if (len > 1) {
      dx /= len;
      dy /= len;
    }
    return { dx, dy };
  }

  const kit = { clamp, lerp, fmtTime, movement };

  let errorTimer = 0;
  function showError(err) {
    const text = err instanceof ApiError ? `${err.message} (${err.code})` : String(err.message || err);
    $("#error-text").textContent = text;
    $("#error").hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(hideError, 8000);
  }
  function hideError() {
    $("#error").hidden = true;
  }

  function setPhase(phase) {
    app.phase = phase;
    for (const view of document.querySelectorAll("[data-phases]")) {
      view.hidden = !view.dataset.phases.split(" ").includes(phase);
    }
    $("#who").hidden = !app.auth;
    if (app.auth) $("#who-name").textContent = app.auth.name;
  }

  // ------------------------------------------------------------------ modes

  function modeDef(name) {
    const modes = window.SkirmishModes || {};
    return Object.prototype.hasOwnProperty.call(modes, name) ? modes[name] : null;
  }

  // For a mode this page cannot draw: the match is listed, nothing is sent (pings keep the
  // socket alive), the player stands still.
  const FALLBACK_MODE = {
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

  function findMode(name) {
    return app.modes.find((m) => m.name === name)
      || { name, min_players: 2, max_players: 8, teams: 0 };
  }

  function playerRange(mode) {
    return mode.min_players === mode.max_players
      ? `${mode.min_players}` : `${mode.min_players}–${mode.max_players}`;
  }

  function modeSummary(mode) {
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
  function lobbySizes(mode) {
    const sizes = [];
    for (let n = Math.max(2, mode.min_players); n <= mode.max_players; n++) {
      if (!(mode.teams >= 2) || n % mode.teams === 0) sizes.push(n);
    }
    return sizes.length ? sizes : [mode.max_players];
  }

  // ------------------------------------------------------------------- REST

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (app.auth) headers.Authorization = `Bearer ${app.auth.token}`;
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, "network", "Cannot reach the server");
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      const apiErr = new ApiError(res.status, err.code || `http_${res.status}`,
        err.message || res.statusText || "Request failed");
      if (res.status === 401 && app.auth) signOut("Your session expired, please sign in again.");
      throw apiErr;
    }
    return data;
  }

  // ---------------------------------------------------------------- sign-in

  function loadJSON(key) {
    try {
      return JSON.parse(sessionStorage.getItem(key) || "null");
    } catch (e) {
      return null;
    }
  }

  async function signIn(ev) {
    ev.preventDefault();
    const name = $("#name").value.trim();
    const button = $("#signin");
    button.disabled = true;
    try {
      app.auth = null;
      const auth = await api("POST", "/v1/auth/guest", name ? { name } : {});
      app.auth = auth;
      sessionStorage.setItem(STORE_AUTH, JSON.stringify(auth));
      hideError();
      enterMenu();
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
    }
  }

  function signOut(message) {
    stopSearching();
    stopLobbyPoll();
    if (app.match) app.match.dispose();
    app.match = null;
    app.auth = null;
    sessionStorage.removeItem(STORE_AUTH);
    sessionStorage.removeItem(STORE_MATCH);
    setPhase("signin");
    if (message) showError(message);
  }

  // ------------------------------------------------------------------- menu

  function enterMenu() {
    stopSearching();
    stopLobbyPoll();
    if (!app.auth) {
      setPhase("signin");
      return;
    }
    setPhase("menu");
    loadModes();
    refreshLobbies();
  }

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

  function renderLobbyForm() {
    const mode = lobbyFormMode();
    const max = $("#lobby-max");
    const keep = Number(max.value) || mode.max_players;
    const sizes = lobbySizes(mode);
    max.replaceChildren(...sizes.map((n) => el("option", { value: String(n), text: `${n} players` })));
    const best = sizes.includes(keep) ? keep : sizes[sizes.length - 1];
    max.value = String(best);
  }

  // the quick match's choice carries over to the lobby form
  function onModeChange() {
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
      const data = await api("GET", "/v1/modes");
      app.modes = data.modes || [];
      const select = $("#mode");
      const keep = select.value || "arena";
      select.replaceChildren(...app.modes.map((m) => {
        const def = modeDef(m.name);
        const text = def && def.title && def.title.toLowerCase() !== m.name
          ? `${def.title} (${m.name})` : m.name;
        return el("option", { value: m.name, text });
      }));
      if (app.modes.some((m) => m.name === keep)) select.value = keep;
      const form = $("#lobby-form-mode");
      const keepForm = form.value || select.value;
      form.replaceChildren(...app.modes.map((m) => el("option", {
        value: m.name,
        text: `${m.name} · ${playerRange(m)} players${m.teams >= 2 ? ` in ${m.teams} teams` : ""}`,
      })));
      if (app.modes.some((m) => m.name === keepForm)) form.value = keepForm;
      renderModeInfo();
      renderLobbyForm();
    } catch (e) {
      showError(e);
    }
  }

  async function refreshLobbies() {
    const list = $("#lobby-list");
    try {
      const data = await api("GET", "/v1/lobbies");
      const lobbies = data.lobbies || [];
      list.replaceChildren();
      if (!lobbies.length) list.append(el("li", { class: "empty", text: "No open lobbies yet." }));
      for (const lobby of lobbies) {
        const host = lobby.members.find((m) => m.player_id === lobby.host_id);
        list.append(el("li", { "data-lobby": lobby.id },
          el("span", { class: "grow" },
            el("strong", { text: lobby.name || lobby.id }),
            el("span", { class: "muted small", text: host ? ` · host ${host.name}` : "" })),
          el("span", { class: "badge", text: lobby.mode }),
          el("span", { class: "muted small", text: `${lobby.members.length}/${lobby.max_players}` }),
          el("button", {
            type: "button", class: "lobby-join", "data-id": lobby.id, text: "Join",
            onclick: () => joinLobby(lobby.id),
          })));
      }
    } catch (e) {
      showError(e);
    }
  }

  // ------------------------------------------------------------ quick match

  // queue for `mode` (a name), by default the one chosen in the menu
  async function quickMatch(mode) {
    const name = typeof mode === "string" ? mode : currentMode().name;
    const button = $("#quick");
    button.disabled = true;
    try {
      const ticket = await api("POST", "/v1/matchmaking/tickets", { mode: name });
      hideError();
      app.ticket = ticket;
      app.searchStarted = performance.now();
      setPhase("searching");
      pollTicket(++app.ticketGen);
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
    }
  }

  function handleTicket(ticket) {
    app.ticket = ticket;
    if (ticket.status === "matched" && ticket.match) {
      stopSearching();
      startMatch(ticket.match, ticket.mode);
      return true;
    }
    if (ticket.status === "cancelled" || ticket.status === "expired") {
      stopSearching();
      enterMenu();
      if (ticket.status === "expired") showError("Nobody to play with right now — the ticket expired.");
      return true;
    }
    return false;
  }

  async function pollTicket(gen) {
    while (gen === app.ticketGen && app.ticket) {
      $("#search-time").textContent = fmtTime((performance.now() - app.searchStarted) / 1000);
      try {
        const ticket = await api("GET", `/v1/matchmaking/tickets/${app.ticket.id}`);
        if (gen !== app.ticketGen) return;
        if (handleTicket(ticket)) return;
      } catch (e) {
        if (gen !== app.ticketGen) return;
        showError(e);
        if (e.status === 404 || e.status === 401) {
          stopSearching();
          if (app.auth) enterMenu();
          return;
        }
      }
      await new Promise((r) => setTimeout(r, TICKET_POLL_MS));
    }
  }

  function stopSearching() {
    app.ticketGen++;
    app.ticket = null;
  }

  async function cancelSearch() {
    const ticket = app.ticket;
    if (!ticket) return enterMenu();
    app.ticketGen++; // stop polling while we cancel
    try {
      const res = await api("DELETE", `/v1/matchmaking/tickets/${ticket.id}`);
      if (!handleTicket(res)) enterMenu();
    } catch (e) {
      if (e.status === 409) {
        // too late: we were matched in the meantime
        try {
          const fresh = await api("GET", `/v1/matchmaking/tickets/${ticket.id}`);
          if (handleTicket(fresh)) return;
        } catch (e2) {
          showError(e2);
        }
      } else {
        showError(e);
      }
      enterMenu();
    }
  }

  // ---------------------------------------------------------------- lobbies

  async function createLobby(ev) {
    ev.preventDefault();
    const mode = lobbyFormMode();
    const name = $("#lobby-name").value.trim() || `${app.auth.name}'s lobby`;
    const max = Number($("#lobby-max").value) || mode.max_players;
    try {
      const lobby = await api("POST", "/v1/lobbies", { mode: mode.name, name, max_players: max });
      hideError();
      enterLobby(lobby);
    } catch (e) {
      showError(e);
    }
  }

  async function joinLobby(id) {
    try {
      const lobby = await api("POST", `/v1/lobbies/${id}/join`);
      hideError();
      enterLobby(lobby);
    } catch (e) {
      // already a member: just go there
      if (e.status === 409) {
        try {
          const lobby = await api("GET", `/v1/lobbies/${id}`);
          if (lobby.members.some((m) => m.player_id === app.auth.player_id)) {
            enterLobby(lobby);
            return;
          }
        } catch (e2) {
          /* fall through to the original error */
        }
      }
      showError(e);
      refreshLobbies();
    }
  }

  function enterLobby(lobby) {
    setPhase("lobby");
    if (!handleLobby(lobby)) pollLobby(++app.lobbyGen);
  }

  function stopLobbyPoll() {
    app.lobbyGen++;
    app.lobby = null;
  }

  function myMember(lobby) {
    return lobby.members.find((m) => m.player_id === app.auth.player_id);
  }

  // Render the lobby; returns true when we left the lobby view (started or gone).
  function handleLobby(lobby) {
    app.lobby = lobby;
    if (lobby.status === "started") {
      stopLobbyPoll();
      if (lobby.match) startMatch(lobby.match, lobby.mode);
      else {
        enterMenu();
        showError("The lobby started without you.");
      }
      return true;
    }
    const me = myMember(lobby);
    if (!me) {
      stopLobbyPoll();
      enterMenu();
      showError("You are no longer in this lobby.");
      return true;
    }
    const isHost = lobby.host_id === app.auth.player_id;
    const mode = app.modes.find((m) => m.name === lobby.mode);
    const minPlayers = mode ? mode.min_players : 2;
    const teams = mode && mode.teams >= 2 ? mode.teams : 0;
    const count = lobby.members.length;
    $("#lobby-title").textContent = lobby.name || "Lobby";
    $("#lobby-mode").textContent = lobby.mode;
    $("#lobby-info").textContent =
      `${count}/${lobby.max_players} players · at least ${minPlayers} to start · ` +
      (teams ? `${teams} equal teams · ` : "") +
      (isHost ? "you are the host" : "waiting for the host to start");
    const list = $("#lobby-members");
    list.replaceChildren(...lobby.members.map((m) => el("li", {},
      el("span", { class: "grow", text: m.name + (m.player_id === app.auth.player_id ? " (you)" : "") }),
      m.player_id === lobby.host_id ? el("span", { class: "badge host", text: "host" }) : "",
      el("span", { class: m.ready ? "badge ok" : "badge", text: m.ready ? "ready" : "not ready" }))));
    const ready = $("#lobby-ready");
    ready.textContent = me.ready ? "Ready ✓" : "Ready";
    ready.classList.toggle("on", me.ready);
    const start = $("#lobby-start");
    start.hidden = !isHost;
    start.disabled = !(lobby.members.every((m) => m.ready) && count >= minPlayers &&
      (!teams || count % teams === 0));
    start.title = teams && count % teams ? `The teams must be equal: ${teams} × n players` : "";
    return false;
  }

  async function pollLobby(gen) {
    while (gen === app.lobbyGen && app.lobby) {
      await new Promise((r) => setTimeout(r, LOBBY_POLL_MS));
      if (gen !== app.lobbyGen || !app.lobby) return;
      try {
        const lobby = await api("GET", `/v1/lobbies/${app.lobby.id}`);
        if (gen !== app.lobbyGen) return;
        if (handleLobby(lobby)) return;
      } catch (e) {
        if (gen !== app.lobbyGen) return;
        showError(e);
        if (e.status === 404 || e.status === 403) {
          stopLobbyPoll();
          if (app.auth) enterMenu();
          return;
        }
      }
    }
  }

  async function lobbyAction(path, body) {
    if (!app.lobby) return;
    const gen = app.lobbyGen;
    try {
      const lobby = await api("POST", `/v1/lobbies/${app.lobby.id}/${path}`, body);
      hideError();
      if (gen === app.lobbyGen && app.phase === "lobby") handleLobby(lobby);
    } catch (e) {
      showError(e);
    }
  }

  async function leaveLobby() {
    if (app.lobby) {
      try {
        await api("POST", `/v1/lobbies/${app.lobby.id}/leave`);
      } catch (e) {
        showError(e);
      }
    }
    enterMenu();
  }

  // ------------------------------------------------------------------ input

  const input = {
    codes: new Set(), // KeyboardEvent.code of the keys held
    mouse: null, // {x, y} in canvas CSS pixels
    mouseDown: false,
  };
  const SCROLL_KEYS = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Space"]);

  function onKey(ev, down) {
    if (!down) {
      input.codes.delete(ev.code);
      return;
    }
    if (app.phase !== "playing") return;
    const tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    const m = app.match;
    const claimed = m && m.keys ? m.keys : SCROLL_KEYS;
    if (claimed.has(ev.code)) ev.preventDefault();
    input.codes.add(ev.code);
  }

  // what a renderer's input() reads
  const controls = {
    down: (code) => input.codes.has(code),
    get pointer() {
      return input.mouse ? stage.toWorld(input.mouse.x, input.mouse.y) : null;
    },
    get pointerDown() {
      return input.mouseDown;
    },
  };

  // ------------------------------------------------------------------ match

  class Match {
    constructor(access, modeHint) {
      this.access = access;
      this.id = access.match_id;
      this.ws = null;
      this.conn = "connecting"; // connecting | open | reconnecting | closed
      this.status = "connecting"; // match status: waiting | running | finished
      this.mode = modeHint || null; // welcome.mode decides
      this.def = null; // the mode's registration (window.SkirmishModes)
      this.keys = null; // the key codes the mode reads
      this.renderer = null;
      this.config = {};
      this.tickRate = 30;
      this.slot = null;
      this.names = new Map();
      this.ids = new Map();
      this.snapshots = []; // the last two, each with `at`
      this.seq = 0;
      this.ack = 0;
      this.snapshotsReceived = 0;
      this.lastTick = 0;
      this.feed = [];
      this.rtt = null;
      this.result = null;
      this.waiting = null;
      this.backoff = 250;
      this.attempts = 0;
      this.freshTried = false;
      this.done = false;
      this.timers = { reconnect: 0, ping: 0 };
      this.nextSendAt = 0;
      this.lastSentAt = -Infinity;
      this.lastInputKey = null;
      this.serverErrors = 0;
      this.scoreKey = "";
      this.hudKey = "";
    }

    name(slot) {
      return this.names.get(slot) || `player ${slot}`;
    }

    teamOf(slot) {
      const teams = this.def ? this.def.teams : 0;
      return teams >= 2 && slot !== null ? slot % teams : null;
    }

    online() {
      const last = this.snapshots[this.snapshots.length - 1];
      if (last) return last.online || [];
      return (this.waiting && this.waiting.connected) || [];
    }

    tokenExpired() {
      const t = Date.parse(this.access.expires_at || "");
      return Number.isFinite(t) && t - Date.now() < 2000;
    }

    async freshToken() {
      const access = await api("POST", `/v1/matches/${this.id}/token`);
      this.access = { ...this.access, ...access };
      sessionStorage.setItem(STORE_MATCH, JSON.stringify(this.access));
    }

    async connect() {
      if (this.done) return;
      if (this.tokenExpired()) {
        try {
          await this.freshToken();
        } catch (e) {
          if (e.status === 404 || e.status === 403 || e.status === 401) return this.fail(e.message);
          if (e.status === 409) return this.finishFromServer();
          showError(e);
          return this.scheduleReconnect();
        }
        if (this.done) return;
      }
      const proto = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${proto}://${location.host}${this.access.ws_path}`,
        ["skirmish.v1", `token.${this.access.token}`]);
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      this.setConn(this.attempts ? "reconnecting" : "connecting");
      ws.onopen = () => {
        if (this.ws !== ws) return;
        this.setConn("open");
        this.timers.ping = setInterval(() => this.send({ type: "ping", t: performance.now() }),
          PING_MS);
        this.send({ type: "ping", t: performance.now() });
      };
      ws.onmessage = (ev) => {
        if (this.ws !== ws) return;
        let msg;
        try {
          const text = typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data);
          msg = JSON.parse(text);
        } catch (e) {
          return;
        }
        if (msg && typeof msg === "object") this.onMessage(msg);
      };
      ws.onclose = (ev) => {
        if (this.ws !== ws) return;
        clearInterval(this.timers.ping);
        this.ws = null;
        this.onClose(ev.code, ev.reason);
      };
    }

    send(msg) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify(msg));
        return true;
      }
      return false;
    }

    setConn(conn) {
      this.conn = conn;
      this.updateHud();
    }

    onClose(code, reason) {
      if (this.done) return;
      if (code === 1000 || code === 4010) return this.finishFromServer();
      if (code === 4001 && !this.freshTried) {
        // most likely our match token expired: get a fresh one and try once more
        this.freshTried = true;
        this.access = { ...this.access, expires_at: new Date(0).toISOString() };
        return this.connect();
      }
      if (NO_RECONNECT.has(code)) {
        return this.fail(CLOSE_TEXT[code] || reason || `connection closed (${code})`);
      }
      this.scheduleReconnect(code);
    }

    scheduleReconnect(code) {
      if (this.done) return;
      this.attempts++;
      const delay = this.backoff;
      this.backoff = Math.min(this.backoff * 2, 4000);
      this.setConn("reconnecting");
      const why = CLOSE_TEXT[code] || "connection lost";
      this.showOverlay(`${why} — reconnecting in ${(delay / 1000).toFixed(2)} s…`);
      clearTimeout(this.timers.reconnect);
      this.timers.reconnect = setTimeout(async () => {
        if (this.done) return;
        if (this.attempts >= 3) {
          // the match may have ended while we were away
          try {
            const info = await api("GET", `/v1/matches/${this.id}`);
            if (info.status === "finished") return this.finishFromServer(info);
          } catch (e) {
            if (e.status === 404 || e.status === 403 || e.status === 401) return this.fail(e.message);
          }
        }
        this.connect();
      }, delay);
    }

    onMessage(msg) {
      switch (msg.type) {
        case "welcome":
          return this.onWelcome(msg);
        case "waiting":
          this.waiting = msg;
          this.waitingAt = performance.now();
          this.status = "waiting";
          this.renderScoreboard();
          return this.updateHud();
        case "start":
          this.status = "running";
          this.waiting = null;
          return this.updateHud();
        case "snapshot":
          return this.onSnapshot(msg);
        case "pong":
          if (typeof msg.t === "number") {
            const rtt = performance.now() - msg.t;
            this.rtt = this.rtt === null ? rtt : this.rtt * 0.7 + rtt * 0.3;
            this.updateHud();
          }
          return undefined;
        case "result":
          return this.onResult(msg);
        case "error":
          this.serverErrors++;
          $("#server-msg").textContent = `server: ${msg.code} — ${msg.message}`;
          return undefined;
        case "reconnect":
          this.backoff = 250;
          this.showOverlay("Server restarting — reconnecting…");
          return undefined;
        default:
          return undefined;
      }
    }

    useMode(name) {
      this.mode = name;
      this.def = modeDef(name) || FALLBACK_MODE;
      this.keys = new Set(this.def.keys || []);
      this.renderer = this.def.create(this, kit);
      this.snapshots = [];
      this.scoreKey = "";
      this.hudKey = "";
      if (this === app.match) showModeChrome(this.def);
    }

    onWelcome(msg) {
      this.slot = msg.slot;
      this.tickRate = msg.tick_rate || 30;
      this.config = msg.config || {};
      this.status = msg.status;
      for (const p of msg.players || []) {
        this.names.set(p.slot, p.name);
        this.ids.set(p.slot, p.player_id);
      }
      if (!this.renderer || this.mode !== msg.mode) this.useMode(msg.mode);
      this.renderer.onWelcome(msg);
      this.seq = Math.max(this.seq, msg.last_seq || 0);
      this.lastInputKey = null; // tell the server where we are at once
      this.backoff = 250;
      this.attempts = 0;
      this.freshTried = false;
      this.hideOverlay();
      this.renderScoreboard();
      this.updateHud();
      if (msg.status === "finished") this.finishFromServer();
    }

    onSnapshot(msg) {
      const now = performance.now();
      if (this.status !== "running" && this.status !== "finished") this.status = "running";
      this.waiting = null;
      const snap = { ...msg, at: now };
      this.snapshots.push(snap);
      if (this.snapshots.length > 2) this.snapshots.shift();
      this.snapshotsReceived++;
      this.lastTick = msg.tick;
      if (typeof msg.ack === "number") this.ack = msg.ack;
      const entries = this.renderer ? this.renderer.onSnapshot(snap, now) || [] : [];
      if (entries.length) {
        this.feed.unshift(...[...entries].reverse());
        this.feed.length = Math.min(this.feed.length, FEED_LENGTH);
        this.renderFeed();
      }
      this.renderScoreboard();
      this.updateHud();
    }

    onResult(msg) {
      this.result = msg;
      this.status = "finished";
      this.finish();
    }

    async finishFromServer(info) {
      if (this.done) return;
      if (!info) {
        try {
          info = await api("GET", `/v1/matches/${this.id}`);
        } catch (e) {
          info = null;
        }
      }
      if (this.done) return;
      if (info && info.result) this.result = { match_id: this.id, ...info.result };
      if (info && info.mode && !this.mode) this.mode = info.mode;
      this.status = "finished";
      this.finish();
    }

    finish() {
      this.done = true;
      this.dispose(false);
      sessionStorage.removeItem(STORE_MATCH);
      this.updateHud();
      showResult(this);
    }

    fail(message) {
      this.done = true;
      this.dispose();
      sessionStorage.removeItem(STORE_MATCH);
      app.match = null;
      enterMenu();
      showError(`Match: ${message}`);
    }

    dispose(close = true) {
      this.done = true;
      clearTimeout(this.timers.reconnect);
      clearInterval(this.timers.ping);
      const ws = this.ws;
      this.ws = null;
      if (ws && close && ws.readyState <= WebSocket.OPEN) ws.close(1000);
      this.conn = "closed";
    }

    showOverlay(text) {
      const o = $("#overlay");
      o.textContent = text;
      o.hidden = false;
    }

    hideOverlay() {
      $("#overlay").hidden = true;
    }

    // ---- per frame

    // One input per tick; when it changes, at once (at most half a tick after the last
    // one), in place of the next one due: the server applies one a tick, so sending more
    // than one a tick on average would only queue them up there (latency)
    sendInput(now) {
      if (this.status !== "running" || !this.renderer) return;
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      const fields = this.renderer.input(controls, now);
      if (!fields) return;
      const interval = 1000 / Math.min(30, this.tickRate);
      const key = this.renderer.inputKey ? this.renderer.inputKey(fields) : JSON.stringify(fields);
      const due = now >= this.nextSendAt - 3;
      const changed = key !== this.lastInputKey && now - this.lastSentAt >= interval / 2;
      if (!due && !changed) return;
      const seq = this.seq + 1;
      if (!this.send({ ...fields, type: "input", seq })) return;
      this.seq = seq;
      this.lastInputKey = key;
      this.lastSentAt = now;
      if (!due) this.nextSendAt = Math.min(this.nextSendAt + interval, now + 2 * interval);
      else if (now - this.nextSendAt > interval) this.nextSendAt = now + interval; // fell behind
      else this.nextSendAt += interval;
      this.renderer.inputSent(seq, fields, now);
    }

    // ---- DOM

    updateHud() {
      if (this !== app.match) return;
      const left = this.renderer ? this.renderer.timeLeft() : null;
      $("#timer").textContent = left === null || left === undefined ? "–" : fmtTime(left);
      let status = this.status;
      if (this.conn === "reconnecting") status = "reconnecting";
      else if (this.conn === "connecting" && this.status === "connecting") status = "connecting";
      $("#match-status").textContent = status;
      $("#rtt").textContent = this.rtt === null ? "–" : `${Math.round(this.rtt)} ms`;
      this.renderModeHud();
      if (this.status === "waiting" && this.waiting && this.conn === "open") {
        const n = (this.waiting.connected || []).length;
        const total = this.names.size || "?";
        const ms = this.waiting.starts_in_ms - (performance.now() - this.waitingAt);
        this.showOverlay(`Waiting for players · ${n}/${total} connected · ` +
          `starts in ${Math.max(0, Math.ceil(ms / 1000))} s`);
      } else if (this.conn === "open" && !this.done) {
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
      const member = (r, cls) => el("li", {
        class: `${cls} ${r.slot === this.slot ? "me" : ""} ${r.online ? "" : "offline"}`,
        "data-slot": String(r.slot),
      },
      el("span", { class: "dot", style: `background:${color(r.slot)}` }),
      el("span", { class: "name", text: r.name + (r.slot === this.slot ? " (you)" : "") }),
      teams
        ? el("span", { class: "note", text: r.note || (r.online ? "" : "offline") })
        : el("span", { class: "score", text: r.score === null ? "" : String(r.score) }));
      const items = [];
      if (teams) {
        const mine = this.teamOf(this.slot);
        for (const t of teams) {
          items.push(el("li", {
            class: `team${t.team === mine ? " mine" : ""}`, "data-team": String(t.team),
          },
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
      $("#killfeed").replaceChildren(...this.feed.map((parts) => el("li", {},
        ...parts.map(feedPart))));
    }
  }

  // a part of a feed entry: a string, or {text, color, cls}; always text, never HTML
  function feedPart(part) {
    if (typeof part === "string") return el("span", { text: part });
    const attrs = { text: String(part.text) };
    if (part.cls) attrs.class = part.cls;
    if (part.color) attrs.style = `color:${part.color}`;
    return el("span", attrs);
  }

  // the side panel's words for a mode: its controls line, its feed's title, the canvas
  function showModeChrome(def) {
    $("#feed-title").textContent = def.feedTitle || "Events";
    const help = $("#help");
    help.replaceChildren(...(def.help || []).map((part) => (Array.isArray(part)
      ? el("span", {}, ...part.map((k) => el("kbd", { text: k })))
      : document.createTextNode(part))));
    const canvas = stage.canvas;
    canvas.setAttribute("aria-label", def.canvasLabel || "Match");
    canvas.style.cursor = def.cursor || "";
    canvas.dataset.mode = app.match && app.match.mode ? app.match.mode : "";
  }

  function startMatch(access, modeHint) {
    stopSearching();
    stopLobbyPoll();
    if (app.match) app.match.dispose();
    sessionStorage.setItem(STORE_MATCH, JSON.stringify(access));
    const match = new Match(access, modeHint);
    app.match = match;
    $("#scoreboard").replaceChildren();
    $("#killfeed").replaceChildren();
    $("#mode-hud").replaceChildren();
    $("#mode-hud").hidden = true;
    $("#server-msg").textContent = "";
    $("#result").hidden = true;
    const hinted = modeDef(modeHint);
    if (hinted) showModeChrome(hinted);
    input.codes.clear();
    input.mouseDown = false;
    setPhase("playing");
    match.updateHud();
    match.showOverlay("Connecting…");
    stage.canvas.focus();
    match.connect();
  }

  function leaveMatch() {
    if (app.match) app.match.dispose();
    app.match = null;
    sessionStorage.removeItem(STORE_MATCH);
    enterMenu();
  }

  function playAgain() {
    const mode = app.match && app.match.mode;
    leaveMatch();
    if (mode && [...$("#mode").options].some((o) => o.value === mode)) $("#mode").value = mode;
    quickMatch(mode || undefined);
  }

  function showResult(match) {
    if (match !== app.match) return;
    match.hideOverlay();
    const def = match.def || modeDef(match.mode) || modeDef("arena") || FALLBACK_MODE;
    const teams = def.teams >= 2 ? def.teams : 0;
    const columns = def.resultColumns || FALLBACK_MODE.resultColumns;
    const res = match.result;
    const players = (res && res.players) || [];
    const winner = res ? players.find((p) => p.player_id === res.winner) : undefined;
    const winningTeam = teams && winner ? winner.slot % teams : null;
    const teamName = (t) => (def.teamName ? def.teamName(t) : `Team ${t + 1}`);
    let title = "Match over";
    if (res) {
      if (!res.winner) title = res.reason === "no_contest" || res.reason === "abandoned"
        ? "No contest" : "Draw";
      else if (teams && match.slot !== null) {
        title = winningTeam === match.slot % teams
          ? "Your team wins!" : `${teamName(winningTeam)} team wins`;
      } else if (res.winner === app.auth.player_id) title = "You win!";
      else title = `${winner ? winner.name : "someone"} wins`;
    }
    $("#result-title").textContent = title;
    $("#result-reason").textContent = res ? REASONS[res.reason] || res.reason || "" : "";
    $("#result-table thead").replaceChildren(el("tr", {}, el("th", { text: "Player" }),
      ...columns.map((c) => el("th", { text: c.label })), el("th", { text: "Rating" })));
    const won = (p) => (teams ? winningTeam !== null && p.slot % teams === winningTeam
      : p.player_id === res.winner);
    const order = (a, b) => (teams ? (a.slot % teams) - (b.slot % teams) : 0)
      || b.score - a.score || a.slot - b.slot;
    const body = $("#result-table tbody");
    body.replaceChildren(...[...players].sort(order).map((p) => {
      const delta = Math.round((p.rating_after ?? 0) - (p.rating_before ?? 0));
      const rating = el("td", {}, `${Math.round(p.rating_after ?? 0)} `,
        el("span", { class: delta >= 0 ? "up" : "down", text: `(${delta >= 0 ? "+" : ""}${delta})` }));
      const name = el("td", {});
      if (teams && match.renderer) {
        name.append(el("span", { class: "dot", style: `background:${match.renderer.color(p.slot)}` }));
      }
      name.append(p.name + (won(p) ? " ★" : ""));
      return el("tr", {
        class: p.player_id === app.auth.player_id ? "me" : "",
        "data-player": p.player_id,
      },
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

  // ---------------------------------------------------------------- drawing

  // The canvas and the fitted field: world units → canvas CSS pixels.
  const stage = {
    canvas: null,
    ctx: null,
    dpr: 1,
    w: 0, // canvas size in CSS pixels
    h: 0,
    scale: 1,
    ox: 0,
    oy: 0,
    pointer: null, // the mouse in canvas CSS pixels, or null
    playersDrawn: 0,
    frames: 0,
    toWorld(cx, cy) {
      return { x: (cx - this.ox) / this.scale, y: (cy - this.oy) / this.scale };
    },
    toCanvas(x, y) {
      return { x: this.ox + x * this.scale, y: this.oy + y * this.scale };
    },
  };

  function fitStage(world) {
    const c = stage.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const pad = 8;
    const width = Number(world.width) || 1000;
    const height = Number(world.height) || 1000;
    stage.dpr = dpr;
    stage.w = w;
    stage.h = h;
    stage.scale = Math.max(0.01, Math.min((w - 2 * pad) / width, (h - 2 * pad) / height));
    stage.ox = (w - width * stage.scale) / 2;
    stage.oy = (h - height * stage.scale) / 2;
    const ctx = stage.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.globalAlpha = 1;
    ctx.globalCompositeOperation = "source-over";
  }

  function render(now) {
    const m = app.match;
    if (!m || (app.phase !== "playing" && app.phase !== "result")) return;
    const r = m.renderer;
    fitStage(r ? r.world() : { width: 1000, height: 1000 });
    stage.pointer = input.mouse;
    let drawn = 0;
    if (r) {
      drawn = r.draw(stage, now) || 0;
    } else { // before the welcome: an empty field
      const ctx = stage.ctx;
      ctx.clearRect(0, 0, stage.w, stage.h);
      ctx.fillStyle = "#0f1522";
      ctx.fillRect(stage.ox, stage.oy, 1000 * stage.scale, 1000 * stage.scale);
    }
    stage.playersDrawn = drawn;
    stage.frames++;
  }

  function frame(now) {
    const m = app.match;
    if (m && app.phase === "playing") {
      m.sendInput(now);
      if (m.status === "waiting") m.updateHud();
    }
    render(now);
    requestAnimationFrame(frame);
  }

  // ------------------------------------------------------------ debug hook

  window.skirmishDebug = {
    state() {
      const m = app.match;
      const scores = m ? m.scores() : [];
      const mine = m ? scores.find((s) => s.slot === m.slot) : undefined;
      return {
        // the mode's own (arena: self, players, shots, left), then the page's
        self: null,
        players: [],
        shots: 0,
        left: null,
        ...(m && m.renderer ? m.renderer.debug() : {}),
        phase: app.phase,
        mode: m ? m.mode : null,
        snapshotsReceived: m ? m.snapshotsReceived : 0,
        lastTick: m ? m.lastTick : 0,
        ack: m ? m.ack : 0,
        scores,
        myScore: mine && mine.score !== undefined ? mine.score : null,
        playersDrawn: stage.playersDrawn,
        framesDrawn: stage.frames,
        status: m ? m.status : null,
        conn: m ? m.conn : null,
        mySlot: m ? m.slot : null,
        online: m ? [...m.online()] : [],
        rtt: m ? m.rtt : null,
        seq: m ? m.seq : 0,
        serverErrors: m ? m.serverErrors : 0,
        result: m ? m.result : null,
        playerId: app.auth ? app.auth.player_id : null,
      };
    },
    // simulate a dropped connection (the client then reconnects with back-off)
    drop() {
      const ws = app.match && app.match.ws;
      if (ws) ws.close(4000, "debug drop");
      return !!ws;
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
    stage.canvas = $("#arena");
    stage.ctx = stage.canvas.getContext("2d");
    $("#signin-form").addEventListener("submit", signIn);
    $("#signout").addEventListener("click", () => signOut());
    $("#error-close").addEventListener("click", hideError);
    $("#mode").addEventListener("change", onModeChange);
    $("#lobby-form-mode").addEventListener("change", renderLobbyForm);
    $("#quick").addEventListener("click", () => quickMatch());
    $("#cancel").addEventListener("click", cancelSearch);
    $("#lobby-form").addEventListener("submit", createLobby);
    $("#lobby-refresh").addEventListener("click", refreshLobbies);
    $("#lobby-ready").addEventListener("click", () => {
      const me = app.lobby && myMember(app.lobby);
      lobbyAction("ready", { ready: !(me && me.ready) });
    });
    $("#lobby-start").addEventListener("click", () => lobbyAction("start"));
    $("#lobby-leave").addEventListener("click", leaveLobby);
    $("#leave").addEventListener("click", leaveMatch);
    $("#again").addEventListener("click", playAgain);
    $("#back-menu").addEventListener("click", leaveMatch);

    window.addEventListener("keydown", (ev) => onKey(ev, true));
    window.addEventListener("keyup", (ev) => onKey(ev, false));
    window.addEventListener("blur", () => {
      input.codes.clear();
      input.mouseDown = false;
    });
    const c = stage.canvas;
    c.addEventListener("mousemove", (ev) => {
      const rect = c.getBoundingClientRect();
      input.mouse = { x: ev.clientX - rect.left, y: ev.clientY - rect.top };
    });
    c.addEventListener("mouseleave", () => {
      input.mouseDown = false;
    });
    c.addEventListener("mousedown", (ev) => {
      if (ev.button !== 0) return;
      ev.preventDefault();
      c.focus();
      input.mouseDown = true;
      const rect = c.getBoundingClientRect();
      input.mouse = { x: ev.clientX - rect.left, y: ev.clientY - rect.top };
    });
    window.addEventListener("mouseup", () => {
      input.mouseDown = false;
    });
    c.addEventListener("contextmenu", (ev) => ev.preventDefault());
  }

  async function boot() {
    bind();
    app.auth = loadJSON(STORE_AUTH);
    if (app.auth && Date.parse(app.auth.expires_at || "") < Date.now()) {
      app.auth = null;
      sessionStorage.removeItem(STORE_AUTH);
    }
    requestAnimationFrame(frame);
    if (!app.auth) {
      setPhase("signin");
      return;
    }
    // back to a match this tab was playing before a reload?
    const access = loadJSON(STORE_MATCH);
    if (access && access.match_id) {
      try {
        const info = await api("GET", `/v1/matches/${access.match_id}`);
        if (info.status !== "finished") {
          startMatch(access, info.mode);
          return;
        }
      } catch (e) {
        /* gone: fall through to the menu */
      }
      sessionStorage.removeItem(STORE_MATCH);
    }
    if (app.auth) enterMenu();
  }

  boot();
})();
