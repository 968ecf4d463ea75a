// Skirmish browser client: guest sign-in, quick match, lobbies and the arena.
// Plain JS, no build step. The wire contract is docs/protocol.md.
"use strict";

(() => {
  const $ = (sel) => document.querySelector(sel);
  const STORE_AUTH = "skirmish.auth";
  const STORE_MATCH = "skirmish.match";
  const TICKET_POLL_MS = 300;
  const LOBBY_POLL_MS = 500;
  const PING_MS = 1000;
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
  const COLORS = ["#60a5fa", "#f87171", "#34d399", "#fbbf24", "#a78bfa", "#f472b6", "#22d3ee",
    "#fb923c"];
  const DEFAULT_CONFIG = { width: 1000, height: 1000, speed: 200, player_radius: 20, max_hp: 100 };

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
  const colorOf = (slot) => COLORS[((slot % COLORS.length) + COLORS.length) % COLORS.length];

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
    const name = $("#mode").value || "arena";
    return app.modes.find((m) => m.name === name) || { name, min_players: 2, max_players: 8 };
  }

  function renderModeInfo() {
    const mode = currentMode();
    $("#mode-info").textContent = mode.tick_rate
      ? `${mode.min_players}–${mode.max_players} players · ${mode.tick_rate} Hz`
      : "";
    const max = $("#lobby-max");
    const keep = Number(max.value) || mode.max_players;
    max.replaceChildren();
    for (let n = Math.max(2, mode.min_players); n <= mode.max_players; n++) {
      max.append(el("option", { value: String(n), text: `${n} players` }));
    }
    max.value = String(clamp(keep, Math.max(2, mode.min_players), mode.max_players));
  }

  async function loadModes() {
    if (!app.modes.length) renderModeInfo();
    try {
      const data = await api("GET", "/v1/modes");
      app.modes = data.modes || [];
      const select = $("#mode");
      const keep = select.value || "arena";
      select.replaceChildren(...app.modes.map((m) => el("option", { value: m.name, text: m.name })));
      if (app.modes.some((m) => m.name === keep)) select.value = keep;
      renderModeInfo();
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

  async function quickMatch() {
    const button = $("#quick");
    button.disabled = true;
    try {
      const ticket = await api("POST", "/v1/matchmaking/tickets", { mode: currentMode().name });
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
      startMatch(ticket.match);
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
    const mode = currentMode();
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
      if (lobby.match) startMatch(lobby.match);
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
    $("#lobby-title").textContent = lobby.name || "Lobby";
    $("#lobby-mode").textContent = lobby.mode;
    $("#lobby-info").textContent =
      `${lobby.members.length}/${lobby.max_players} players · at least ${minPlayers} to start · ` +
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
    start.disabled = !(lobby.members.every((m) => m.ready) && lobby.members.length >= minPlayers);
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
    keys: new Set(),
    mouse: null, // {x, y} in canvas CSS pixels
    mouseDown: false,
    aim: 0,
  };
  const KEYMAP = {
    KeyW: "up", ArrowUp: "up", KeyS: "down", ArrowDown: "down",
    KeyA: "left", ArrowLeft: "left", KeyD: "right", ArrowRight: "right", Space: "fire",
  };

  function onKey(ev, down) {
    const action = KEYMAP[ev.code];
    if (!action || app.phase !== "playing") return;
    const tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    ev.preventDefault();
    if (down) input.keys.add(action);
    else input.keys.delete(action);
  }

  function movement() {
    let dx = (input.keys.has("right") ? 1 : 0) - (input.keys.has("left") ? 1 : 0);
    let dy = (input.keys.has("down") ? 1 : 0) - (input.keys.has("up") ? 1 : 0);
    const len = Math.hypot(dx, dy);
    if (len > 1) {
      dx /= len;
      dy /= len;
    }
    return { dx, dy };
  }

  // ------------------------------------------------------------------ match

  class Match {
    constructor(access) {
      this.access = access;
      this.id = access.match_id;
      this.ws = null;
      this.conn = "connecting"; // connecting | open | reconnecting | closed
      this.status = "connecting"; // match status: waiting | running | finished
      this.config = { ...DEFAULT_CONFIG };
      this.tickRate = 30;
      this.slot = null;
      this.names = new Map();
      this.ids = new Map();
      this.snapshots = []; // the last two: {tick, ack, left, players, shots, at}
      this.seq = 0;
      this.pending = []; // unacknowledged inputs {seq, dx, dy}
      this.snapshotsReceived = 0;
      this.lastTick = 0;
      this.left = null;
      this.feed = [];
      this.flashes = new Map(); // slot → time of last hit
      this.rtt = null;
      this.result = null;
      this.waiting = null;
      this.backoff = 250;
      this.attempts = 0;
      this.freshTried = false;
      this.done = false;
      this.timers = { reconnect: 0, ping: 0 };
      this.nextSendAt = 0;
      this.serverErrors = 0;
      this.scoreKey = "";
    }

    name(slot) {
      return this.names.get(slot) || `player ${slot}`;
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

    onWelcome(msg) {
      this.slot = msg.slot;
      this.tickRate = msg.tick_rate || 30;
      this.config = { ...DEFAULT_CONFIG, ...(msg.config || {}) };
      this.status = msg.status;
      for (const p of msg.players || []) {
        this.names.set(p.slot, p.name);
        this.ids.set(p.slot, p.player_id);
      }
      this.seq = Math.max(this.seq, msg.last_seq || 0);
      this.pending = []; // anything not received before we left is gone
      this.backoff = 250;
      this.attempts = 0;
      this.freshTried = false;
      this.hideOverlay();
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
      this.left = msg.left;
      this.pending = this.pending.filter((i) => i.seq > msg.ack);
      for (const ev of msg.events || []) this.onEvent(ev, now);
      this.renderScoreboard();
      this.updateHud();
    }

    onEvent(ev, now) {
      const [kind, a, b] = ev;
      if (kind === "hit") this.flashes.set(b, now);
      else if (kind === "kill") {
        this.feed.unshift({ killer: a, victim: b, at: Date.now() });
        this.feed.length = Math.min(this.feed.length, 6);
        this.renderFeed();
      }
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

    sendInput(now) {
      if (this.status !== "running" || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      const interval = 1000 / Math.min(30, this.tickRate);
      if (now < this.nextSendAt - 3) return;
      this.nextSendAt = now - this.nextSendAt > interval ? now + interval : this.nextSendAt + interval;
      const { dx, dy } = movement();
      const aim = this.aimAngle();
      const fire = input.mouseDown || input.keys.has("fire");
      const seq = this.seq + 1;
      if (this.send({ type: "input", seq, dx, dy, aim, fire })) {
        this.seq = seq;
        this.pending.push({ seq, dx, dy });
        if (this.pending.length > 120) this.pending.shift();
      }
    }

    aimAngle() {
      const me = this.selfPosition();
      if (me && input.mouse) {
        const p = view.toArena(input.mouse.x, input.mouse.y);
        if (Math.hypot(p.x - me.x, p.y - me.y) > 1) input.aim = Math.atan2(p.y - me.y, p.x - me.x);
      }
      return Number.isFinite(input.aim) ? Math.round(input.aim * 1000) / 1000 : 0;
    }

    row(snap, slot) {
      return snap ? snap.players.find((p) => p[0] === slot) : undefined;
    }

    // server position of our player plus every input it has not applied yet
    selfPosition() {
      const snap = this.snapshots[this.snapshots.length - 1];
      const row = this.row(snap, this.slot);
      if (!row) return null;
      let x = row[1];
      let y = row[2];
      if (!row[6] || this.status !== "running") return { x, y };
      const { speed, player_radius: r, width, height } = this.config;
      const step = speed / this.tickRate;
      for (const i of this.pending) {
        if (i.seq <= snap.ack) continue;
        x = clamp(x + i.dx * step, r, width - r);
        y = clamp(y + i.dy * step, r, height - r);
      }
      return { x, y };
    }

    // other players: interpolate between the last two snapshots
    interpolated(slot, now) {
      const [prev, last] = this.snapshots.length > 1
        ? this.snapshots : [null, this.snapshots[0]];
      const b = this.row(last, slot);
      const a = this.row(prev, slot);
      if (!b) return null;
      const p = { x: b[1], y: b[2], aim: b[3] };
      if (!a || !a[6] !== !b[6]) return p;
      const tickMs = 1000 / this.tickRate;
      if (Math.hypot(b[1] - a[1], b[2] - a[2]) > (this.config.speed / this.tickRate) * 4) return p;
      const t = clamp((now - last.at) / tickMs, 0, 1);
      let da = b[3] - a[3];
      while (da > Math.PI) da -= 2 * Math.PI;
      while (da < -Math.PI) da += 2 * Math.PI;
      return { x: lerp(a[1], b[1], t), y: lerp(a[2], b[2], t), aim: a[3] + da * t };
    }

    // ---- DOM

    updateHud() {
      if (this !== app.match) return;
      $("#timer").textContent = this.left === null ? "–" : fmtTime(this.left / this.tickRate);
      let status = this.status;
      if (this.conn === "reconnecting") status = "reconnecting";
      else if (this.conn === "connecting" && this.status === "connecting") status = "connecting";
      $("#match-status").textContent = status;
      $("#rtt").textContent = this.rtt === null ? "–" : `${Math.round(this.rtt)} ms`;
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

    scores() {
      const snap = this.snapshots[this.snapshots.length - 1];
      const rows = snap ? snap.players : [];
      const online = new Set(snap ? snap.online : []);
      return rows.map((p) => ({
        slot: p[0], name: this.name(p[0]), score: p[5], hp: p[4], alive: !!p[6],
        online: online.has(p[0]),
      }));
    }

    renderScoreboard() {
      const rows = this.scores().sort((a, b) => b.score - a.score || a.slot - b.slot);
      const key = JSON.stringify(rows.map((r) => [r.slot, r.score, r.online]));
      if (key === this.scoreKey) return;
      this.scoreKey = key;
      $("#scoreboard").replaceChildren(...rows.map((r) => el("li", {
        class: `${r.slot === this.slot ? "me" : ""} ${r.online ? "" : "offline"}`,
        "data-slot": String(r.slot),
      },
      el("span", { class: "dot", style: `background:${colorOf(r.slot)}` }),
      el("span", { class: "name", text: r.name + (r.slot === this.slot ? " (you)" : "") }),
      el("span", { class: "score", text: String(r.score) }))));
    }

    renderFeed() {
      $("#killfeed").replaceChildren(...this.feed.map((f) => el("li", {},
        el("span", { style: `color:${colorOf(f.killer)}`, text: this.name(f.killer) }),
        el("span", { class: "k", text: "✖" }),
        el("span", { style: `color:${colorOf(f.victim)}`, text: this.name(f.victim) }))));
    }
  }

  function startMatch(access) {
    stopSearching();
    stopLobbyPoll();
    if (app.match) app.match.dispose();
    sessionStorage.setItem(STORE_MATCH, JSON.stringify(access));
    const match = new Match(access);
    app.match = match;
    $("#scoreboard").replaceChildren();
    $("#killfeed").replaceChildren();
    $("#server-msg").textContent = "";
    $("#result").hidden = true;
    input.keys.clear();
    input.mouseDown = false;
    setPhase("playing");
    match.updateHud();
    match.showOverlay("Connecting…");
    $("#arena").focus();
    match.connect();
  }

  function leaveMatch() {
    if (app.match) app.match.dispose();
    app.match = null;
    sessionStorage.removeItem(STORE_MATCH);
    enterMenu();
  }

  function showResult(match) {
    if (match !== app.match) return;
    match.hideOverlay();
    const res = match.result;
    const players = (res && res.players) || [];
    let title = "Match over";
    if (res) {
      const winner = players.find((p) => p.player_id === res.winner);
      if (!res.winner) title = "Draw";
      else if (res.winner === app.auth.player_id) title = "You win!";
      else title = `${winner ? winner.name : "someone"} wins`;
    }
    $("#result-title").textContent = title;
    const reasons = { score_limit: "score limit reached", time_limit: "time is up" };
    $("#result-reason").textContent = res ? reasons[res.reason] || res.reason || "" : "";
    const body = $("#result-table tbody");
    body.replaceChildren(...[...players].sort((a, b) => b.score - a.score).map((p) => {
      const delta = Math.round((p.rating_after ?? 0) - (p.rating_before ?? 0));
      const acc = p.shots ? `${Math.round((100 * p.hits) / p.shots)}%` : "–";
      const rating = el("td", {}, `${Math.round(p.rating_after ?? 0)} `,
        el("span", { class: delta >= 0 ? "up" : "down", text: `(${delta >= 0 ? "+" : ""}${delta})` }));
      return el("tr", {
        class: p.player_id === app.auth.player_id ? "me" : "",
        "data-player": p.player_id,
      },
      el("td", { text: p.name + (p.player_id === res.winner ? " ★" : "") }),
      el("td", { text: String(p.score) }), el("td", { text: String(p.kills) }),
      el("td", { text: String(p.deaths) }), el("td", { text: String(p.shots) }),
      el("td", { text: String(p.hits) }), el("td", { text: acc }), rating);
    }));
    $("#result-table").hidden = !players.length;
    $("#result").hidden = false;
    setPhase("result");
  }

  // ---------------------------------------------------------------- drawing

  const view = {
    canvas: null,
    ctx: null,
    scale: 1,
    ox: 0,
    oy: 0,
    playersDrawn: 0,
    toArena(cx, cy) {
      return { x: (cx - this.ox) / this.scale, y: (cy - this.oy) / this.scale };
    },
    toCanvas(x, y) {
      return { x: this.ox + x * this.scale, y: this.oy + y * this.scale };
    },
  };

  function resizeCanvas(cfg) {
    const c = view.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const pad = 8;
    view.scale = Math.max(0.01, Math.min((w - 2 * pad) / cfg.width, (h - 2 * pad) / cfg.height));
    view.ox = (w - cfg.width * view.scale) / 2;
    view.oy = (h - cfg.height * view.scale) / 2;
    view.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { w, h };
  }

  function drawArena(ctx, cfg, w, h) {
    ctx.clearRect(0, 0, w, h);
    const s = view.scale;
    ctx.save();
    ctx.translate(view.ox, view.oy);
    ctx.fillStyle = "#0f1522";
    ctx.fillRect(0, 0, cfg.width * s, cfg.height * s);
    ctx.strokeStyle = "#1b2436";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let g = 100; g < Math.max(cfg.width, cfg.height); g += 100) {
      if (g < cfg.width) {
        ctx.moveTo(g * s, 0);
        ctx.lineTo(g * s, cfg.height * s);
      }
      if (g < cfg.height) {
        ctx.moveTo(0, g * s);
        ctx.lineTo(cfg.width * s, g * s);
      }
    }
    ctx.stroke();
    ctx.strokeStyle = "#3b4a6b";
    ctx.lineWidth = 2;
    ctx.strokeRect(0, 0, cfg.width * s, cfg.height * s);
    ctx.restore();
  }

  function drawShots(ctx, m, now) {
    const last = m.snapshots[m.snapshots.length - 1];
    if (!last) return;
    const dt = m.status === "running" ? Math.min(0.1, (now - last.at) / 1000) : 0;
    const r = Math.max(2, 5 * view.scale);
    for (const [, owner, x, y, vx, vy] of last.shots || []) {
      const p = view.toCanvas(x + vx * dt, y + vy * dt);
      const tail = view.toCanvas(x + vx * (dt - 0.04), y + vy * (dt - 0.04));
      ctx.strokeStyle = colorOf(owner);
      ctx.globalAlpha = 0.45;
      ctx.lineWidth = r;
      ctx.beginPath();
      ctx.moveTo(tail.x, tail.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.fillStyle = "#fff";
      ctx.beginPath();
      ctx.arc(p.x, p.y, r * 0.7, 0, Math.PI * 2);
      ctx.fill();
    }
  }

  function drawPlayer(ctx, m, row, pos, now, online) {
    const [slot, , , , hp, , alive] = row;
    const cfg = m.config;
    const me = slot === m.slot;
    const r = cfg.player_radius * view.scale;
    const c = view.toCanvas(pos.x, pos.y);
    const color = colorOf(slot);
    ctx.save();
    ctx.globalAlpha = !alive ? 0.25 : online ? 1 : 0.5;
    if (me) {
      ctx.shadowColor = color;
      ctx.shadowBlur = 18;
    }
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(c.x, c.y, r, 0, Math.PI * 2);
    ctx.fill();
    ctx.shadowBlur = 0;
    const flash = m.flashes.get(slot);
    if (flash && now - flash < 150) {
      ctx.fillStyle = "rgba(255,255,255,.7)";
      ctx.fill();
    }
    ctx.lineWidth = me ? 3 : 1.5;
    ctx.strokeStyle = me ? "#ffffff" : "rgba(0,0,0,.5)";
    ctx.stroke();
    if (alive) {
      const aim = pos.aim;
      ctx.strokeStyle = me ? "#fff" : "rgba(255,255,255,.75)";
      ctx.lineWidth = Math.max(2, r * 0.25);
      ctx.lineCap = "round";
      ctx.beginPath();
      ctx.moveTo(c.x + Math.cos(aim) * r * 0.4, c.y + Math.sin(aim) * r * 0.4);
      ctx.lineTo(c.x + Math.cos(aim) * r * 1.45, c.y + Math.sin(aim) * r * 1.45);
      ctx.stroke();
    }
    // hp bar and name
    const bw = Math.max(28, r * 2.2);
    const by = c.y - r - 10;
    ctx.globalAlpha = alive ? 1 : 0.5;
    ctx.fillStyle = "rgba(0,0,0,.6)";
    ctx.fillRect(c.x - bw / 2, by, bw, 5);
    const frac = clamp(hp / (cfg.max_hp || 100), 0, 1);
    ctx.fillStyle = frac > 0.5 ? "#34d399" : frac > 0.25 ? "#fbbf24" : "#f87171";
    ctx.fillRect(c.x - bw / 2, by, bw * frac, 5);
    ctx.font = `${me ? 700 : 500} 12px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillStyle = me ? "#fff" : "#cbd5e1";
    const label = m.name(slot) + (me ? " (you)" : "") + (alive ? "" : " ✖");
    ctx.fillText(label, c.x, by - 3);
    ctx.restore();
  }

  function drawAimCursor(ctx, m) {
    if (!input.mouse || m.status !== "running") return;
    const { x, y } = input.mouse;
    ctx.strokeStyle = "rgba(255,255,255,.6)";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.arc(x, y, 7, 0, Math.PI * 2);
    ctx.moveTo(x - 11, y);
    ctx.lineTo(x - 4, y);
    ctx.moveTo(x + 4, y);
    ctx.lineTo(x + 11, y);
    ctx.moveTo(x, y - 11);
    ctx.lineTo(x, y - 4);
    ctx.moveTo(x, y + 4);
    ctx.lineTo(x, y + 11);
    ctx.stroke();
  }

  function render(now) {
    const m = app.match;
    if (!m || (app.phase !== "playing" && app.phase !== "result")) return;
    const ctx = view.ctx;
    const { w, h } = resizeCanvas(m.config);
    drawArena(ctx, m.config, w, h);
    const last = m.snapshots[m.snapshots.length - 1];
    let drawn = 0;
    if (last) {
      drawShots(ctx, m, now);
      // own player last so it is on top
      const rows = [...last.players].sort((a, b) => (a[0] === m.slot) - (b[0] === m.slot));
      for (const row of rows) {
        let pos;
        if (row[0] === m.slot) {
          pos = m.selfPosition();
          pos.aim = m.status === "running" ? input.aim : row[3];
        } else {
          pos = m.interpolated(row[0], now);
        }
        if (!pos) continue;
        drawPlayer(ctx, m, row, pos, now, (last.online || []).includes(row[0]));
        drawn++;
      }
    }
    view.playersDrawn = drawn;
    drawAimCursor(ctx, m);
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
      const self = m ? m.selfPosition() : null;
      return {
        phase: app.phase,
        snapshotsReceived: m ? m.snapshotsReceived : 0,
        lastTick: m ? m.lastTick : 0,
        scores,
        myScore: mine ? mine.score : null,
        playersDrawn: view.playersDrawn,
        status: m ? m.status : null,
        conn: m ? m.conn : null,
        mySlot: m ? m.slot : null,
        self,
        players: m && m.snapshots.length
          ? m.snapshots[m.snapshots.length - 1].players.map((p) => ({
            slot: p[0], x: p[1], y: p[2], hp: p[4], score: p[5], alive: !!p[6],
          }))
          : [],
        shots: m && m.snapshots.length
          ? (m.snapshots[m.snapshots.length - 1].shots || []).length : 0,
        left: m ? m.left : null,
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
    // arena coordinates → page (CSS pixel) coordinates, for driving the mouse in tests
    toPage(x, y) {
      const rect = view.canvas.getBoundingClientRect();
      const p = view.toCanvas(x, y);
      return { x: rect.left + p.x, y: rect.top + p.y };
    },
  };

  // ------------------------------------------------------------------ boot

  function bind() {
    view.canvas = $("#arena");
    view.ctx = view.canvas.getContext("2d");
    $("#signin-form").addEventListener("submit", signIn);
    $("#signout").addEventListener("click", () => signOut());
    $("#error-close").addEventListener("click", hideError);
    $("#mode").addEventListener("change", renderModeInfo);
    $("#quick").addEventListener("click", quickMatch);
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
    $("#again").addEventListener("click", () => {
      leaveMatch();
      quickMatch();
    });
    $("#back-menu").addEventListener("click", leaveMatch);

    window.addEventListener("keydown", (ev) => onKey(ev, true));
    window.addEventListener("keyup", (ev) => onKey(ev, false));
    window.addEventListener("blur", () => {
      input.keys.clear();
      input.mouseDown = false;
    });
    const c = view.canvas;
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
          startMatch(access);
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
