// Skirmish browser client: capture the flag's rendering and input.
// Two teams (slot s plays for team s % 2: 0 blue on the left, 1 red on the right), fog of
// war: the server sends each player only what their team sees. WASD/arrows move, Shift
// sprints. No prediction: other players and we ourselves are drawn between the two
// snapshots around the render time (the SDK's SnapshotBuffer and interpolateRows).
// Registers itself on window.SkirmishModes; the contract is described in app.js.
"use strict";

(() => {
  const DEFAULT_CONFIG = {
    tick_rate: 20, width: 1200, height: 600, player_radius: 14, speed: 180, sprint_factor: 1.6,
    bases: [[90, 300], [1110, 300]], base_radius: 70, flag_radius: 12, sight_radius: 260,
    jail_ticks: 40, flag_return_ticks: 200, capture_limit: 3, time_limit_ticks: 6000,
  };
  const TEAMS = [
    { name: "Blue", color: "#3b82f6", light: "#93c5fd", half: "#0e1a30", glow: "#60a5fa" },
    { name: "Red", color: "#ef4444", light: "#fca5a5", half: "#230f15", glow: "#f87171" },
  ];
  const KEYS = ["KeyW", "KeyA", "KeyS", "KeyD", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight",
    "ShiftLeft", "ShiftRight"];
  const NOTICE_MS = 3000;
  // a view's player row: [slot, team, x, y, carrying 0/1, jailed 0/1, stamina or null]
  const SLOT = 0, TEAM = 1, X = 2, Y = 3, CARRYING = 4, JAILED = 5, STAMINA = 6;
  // a flag row: [team, x | null, y | null, "home" | "carried" | "dropped"]
  const F_TEAM = 0, F_X = 1, F_Y = 2, F_STATUS = 3;

  const teamOf = (slot) => ((slot % 2) + 2) % 2;
  const teamInfo = (team) => TEAMS[team] || { name: `Team ${team}`, color: "#a3a3a3",
    light: "#d4d4d4", half: "#151515", glow: "#d4d4d4" };

  class CtfRenderer {
    constructor(match, kit) {
      this.match = match;
      this.kit = kit;
      this.notices = []; // {parts, at} shown on the canvas for a moment
      this.fog = null; // an offscreen canvas for the fog layer
      this.fogHoles = 0;
      this.sprinting = false;
      this.dropped = new Map(); // flag team → the tick we saw it dropped
    }

    get config() {
      return { ...DEFAULT_CONFIG, ...(this.match.config || {}) };
    }

    get myTeam() {
      return this.match.slot === null ? null : teamOf(this.match.slot);
    }

    world() {
      const { width, height } = this.config;
      return { width, height };
    }

    color(slot) {
      return teamInfo(teamOf(slot)).color;
    }

    last() {
      return this.match.last;
    }

    row(snap, slot) {
      return snap && snap.players ? snap.players.find((p) => p[SLOT] === slot) : undefined;
    }

    // a player in a sentence; a slot we may not see is null: `fallback` words it
    who(slot, fallback) {
      if (slot === null || slot === undefined) {
        return { text: fallback, color: "#9ca3af", plain: true };
      }
      if (slot === this.match.slot) return { text: "you", color: "#ffffff", plain: true };
      return { text: this.match.name(slot), color: teamInfo(teamOf(slot)).light };
    }

    flagName(team) {
      const t = teamInfo(team);
      return { text: `${t.name} flag`, color: t.light };
    }

    // ---- messages

    onWelcome() {}

    onSnapshot(snap, now) {
      const feed = [];
      for (const ev of snap.events || []) {
        const parts = this.describe(ev, snap);
        if (!parts) continue;
        feed.push(parts);
        if (ev[0] === "capture" || ev[0] === "tag" || ev[0] === "pickup") {
          this.notices.push({ parts, at: now, big: ev[0] === "capture" });
        }
      }
      if (this.notices.length > 4) this.notices.splice(0, this.notices.length - 4);
      return feed;
    }

    describe(ev, snap) {
      const parts = this.sentence(ev, snap);
      const first = parts && parts[0];
      if (first && first.plain) { // a sentence starts with a capital; a name stays as it is
        parts[0] = { ...first, text: first.text[0].toUpperCase() + first.text.slice(1) };
      }
      return parts;
    }

    sentence(ev, snap) {
      const [kind, a, b] = ev;
      switch (kind) {
        case "tag":
          return [this.who(a, "an unseen enemy"), " tagged ", this.who(b, "an unseen enemy")];
        case "pickup":
          return [this.who(a, "an unseen enemy"), " took the ", this.flagName(b)];
        case "drop":
          this.dropped.set(b, snap.tick);
          return [this.who(a, "an unseen enemy"), " dropped the ", this.flagName(b)];
        case "return":
          this.dropped.delete(b);
          if (a === null) return ["The ", this.flagName(b), " went home"];
          return [this.who(a, "someone"), " returned the ", this.flagName(b)];
        case "capture": {
          const t = teamInfo(b);
          const team = { text: t.name, color: t.light };
          if (a === null) return [team, " captured a flag!"];
          return [this.who(a, "someone"), " captured a flag for ", team, "!"];
        }
        default:
          return null;
      }
    }

    // ---- input

    input(controls) {
      const { dx, dy } = this.kit.movement(controls);
      const sprint = controls.down("ShiftLeft") || controls.down("ShiftRight");
      this.sprinting = sprint && (dx !== 0 || dy !== 0);
      return { dx, dy, sprint };
    }

    inputKey(fields) {
      return `${fields.dx},${fields.dy},${fields.sprint}`;
    }

    inputSent() {}

    // ---- interpolation (no prediction: the server's positions, a little in the past)

    // The view at `now`: the later of the two snapshots around the render time, its
    // players' positions blended from the earlier one's (a jump to jail is not slid).
    view(now) {
      const sample = this.match.buffer.sample(now);
      if (!sample) return null;
      const cfg = this.config;
      const stride = (cfg.speed * cfg.sprint_factor) / this.match.tickRate;
      const rows = this.kit.interpolateRows(sample.a.players, sample.b.players || [], sample.t, {
        fields: [X, Y],
        snap: this.kit.snapWhen({ x: X, y: Y, maxDistance: stride * 3, flags: [JAILED] }),
      });
      const positions = new Map(rows.map((row) => [row[SLOT], { x: row[X], y: row[Y] }]));
      return { players: rows, flags: sample.b.flags || [], positions };
    }

    position(slot, now) {
      const view = this.view(now);
      return (view && view.positions.get(slot)) || null;
    }

    // ---- drawing

    draw(stage, now) {
      const cfg = this.config;
      const last = this.last();
      const view = this.view(now);
      const players = view ? view.players : [];
      const positions = view ? view.positions : new Map();
      this.drawField(stage, cfg);
      if (view && this.myTeam !== null) this.drawFog(stage, cfg, players, positions); // a spectator sees all
      const flags = view ? view.flags : [];
      for (const flag of flags) {
        if (flag[F_STATUS] !== "carried") this.drawFlag(stage, cfg, flag, players, positions);
      }
      const online = new Set(last ? last.online || [] : []);
      const rows = [...players].sort((x, y) => (x[SLOT] === this.match.slot) -
        (y[SLOT] === this.match.slot));
      let drawn = 0;
      for (const row of rows) {
        const pos = positions.get(row[SLOT]);
        if (!pos) continue;
        this.drawPlayer(stage, cfg, row, pos, online.has(row[SLOT]));
        drawn++;
      }
      for (const flag of flags) { // carried flags on top of their carriers
        if (flag[F_STATUS] === "carried") this.drawFlag(stage, cfg, flag, players, positions);
      }
      this.drawScore(stage, last);
      this.drawStamina(stage);
      this.drawNotices(stage, now);
      return drawn;
    }

    drawField(stage, cfg) {
      const { ctx } = stage;
      const s = stage.scale;
      const W = cfg.width * s;
      const H = cfg.height * s;
      ctx.clearRect(0, 0, stage.w, stage.h);
      ctx.save();
      ctx.translate(stage.ox, stage.oy);
      ctx.fillStyle = teamInfo(0).half;
      ctx.fillRect(0, 0, W / 2, H);
      ctx.fillStyle = teamInfo(1).half;
      ctx.fillRect(W / 2, 0, W / 2, H);
      ctx.strokeStyle = "rgba(255,255,255,.05)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let g = 100; g < Math.max(cfg.width, cfg.height); g += 100) {
        if (g < cfg.width) {
          ctx.moveTo(g * s, 0);
          ctx.lineTo(g * s, H);
        }
        if (g < cfg.height) {
          ctx.moveTo(0, g * s);
          ctx.lineTo(W, g * s);
        }
      }
      ctx.stroke();
      // the halfway line: in your own half you tag intruders
      ctx.strokeStyle = "rgba(226,232,240,.35)";
      ctx.lineWidth = 2;
      ctx.setLineDash([10, 8]);
      ctx.beginPath();
      ctx.moveTo(W / 2, 0);
      ctx.lineTo(W / 2, H);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.beginPath();
      ctx.arc(W / 2, H / 2, 60 * s, 0, Math.PI * 2);
      ctx.stroke();
      // the bases, where a flag lives and where its team scores
      (cfg.bases || []).forEach(([bx, by], team) => {
        const t = teamInfo(team);
        ctx.beginPath();
        ctx.arc(bx * s, by * s, cfg.base_radius * s, 0, Math.PI * 2);
        ctx.fillStyle = `${t.color}26`;
        ctx.fill();
        ctx.lineWidth = 2;
        ctx.strokeStyle = `${t.color}aa`;
        ctx.stroke();
        ctx.beginPath(); // the flag's stand
        ctx.arc(bx * s, by * s, cfg.flag_radius * s, 0, Math.PI * 2);
        ctx.strokeStyle = `${t.light}66`;
        ctx.setLineDash([3, 3]);
        ctx.stroke();
        ctx.setLineDash([]);
      });
      ctx.strokeStyle = "#3b4a6b";
      ctx.lineWidth = 2;
      ctx.strokeRect(0, 0, W, H);
      ctx.restore();
    }

    // darken what our team does not see: everything but circles around our players
    drawFog(stage, cfg, players, positions) {
      const { ctx } = stage;
      const main = ctx.canvas;
      if (!this.fog) this.fog = document.createElement("canvas");
      const fog = this.fog;
      if (fog.width !== main.width || fog.height !== main.height) {
        fog.width = main.width;
        fog.height = main.height;
      }
      const f = fog.getContext("2d");
      const dpr = stage.dpr;
      f.setTransform(1, 0, 0, 1, 0, 0);
      f.clearRect(0, 0, fog.width, fog.height);
      f.setTransform(dpr, 0, 0, dpr, 0, 0);
      f.globalCompositeOperation = "source-over";
      f.fillStyle = "rgba(2,4,10,.68)";
      f.fillRect(stage.ox, stage.oy, cfg.width * stage.scale, cfg.height * stage.scale);
      f.globalCompositeOperation = "destination-out";
      const r = cfg.sight_radius * stage.scale;
      let holes = 0;
      for (const row of players) {
        if (row[TEAM] !== this.myTeam) continue;
        const pos = positions.get(row[SLOT]);
        if (!pos) continue;
        const c = stage.toCanvas(pos.x, pos.y);
        const g = f.createRadialGradient(c.x, c.y, r * 0.8, c.x, c.y, r);
        g.addColorStop(0, "rgba(0,0,0,1)");
        g.addColorStop(1, "rgba(0,0,0,0)");
        f.fillStyle = g;
        f.beginPath();
        f.arc(c.x, c.y, r, 0, Math.PI * 2);
        f.fill();
        holes++;
      }
      f.globalCompositeOperation = "source-over";
      this.fogHoles = holes;
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.drawImage(fog, 0, 0);
      ctx.restore();
    }

    drawFlag(stage, cfg, flag, players, positions) {
      const team = flag[F_TEAM];
      const status = flag[F_STATUS];
      let x = flag[F_X];
      let y = flag[F_Y];
      if (status === "carried") {
        // on its carrier: a visible enemy of the flag's team who carries
        const carrier = players.find((p) => p[CARRYING] && p[TEAM] !== team);
        const pos = carrier && positions.get(carrier[SLOT]);
        if (!pos) return; // carried by someone we do not see
        x = pos.x + cfg.player_radius * 0.9;
        y = pos.y + cfg.player_radius * 0.2;
      }
      if (x === null || y === null) return;
      const { ctx } = stage;
      const t = teamInfo(team);
      const c = stage.toCanvas(x, y);
      const size = Math.max(8, cfg.flag_radius * stage.scale * 1.5);
      ctx.save();
      if (status === "dropped") {
        // a dashed ring; the time until it goes home by itself, if we saw it fall
        const ring = Math.max(10, cfg.flag_radius * stage.scale * 1.8);
        ctx.beginPath();
        ctx.arc(c.x, c.y, ring, 0, Math.PI * 2);
        ctx.strokeStyle = t.light;
        ctx.setLineDash([4, 4]);
        ctx.lineWidth = 1.5;
        ctx.stroke();
        ctx.setLineDash([]);
        const since = this.dropped.get(team);
        const last = this.last();
        if (since !== undefined && last && cfg.flag_return_ticks) {
          const left = this.kit.clamp(1 - (last.tick - since) / cfg.flag_return_ticks, 0, 1);
          ctx.beginPath();
          ctx.arc(c.x, c.y, ring, -Math.PI / 2, -Math.PI / 2 + left * Math.PI * 2);
          ctx.lineWidth = 3;
          ctx.stroke();
        }
      } else {
        this.dropped.delete(team);
      }
      // the pole, then the pennant
      ctx.strokeStyle = "#e5e7eb";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(c.x, c.y + size * 0.6);
      ctx.lineTo(c.x, c.y - size);
      ctx.stroke();
      ctx.fillStyle = t.color;
      ctx.shadowColor = t.glow;
      ctx.shadowBlur = 10;
      ctx.beginPath();
      ctx.moveTo(c.x, c.y - size);
      ctx.lineTo(c.x + size * 1.1, c.y - size * 0.65);
      ctx.lineTo(c.x, c.y - size * 0.3);
      ctx.closePath();
      ctx.fill();
      ctx.restore();
    }

    drawPlayer(stage, cfg, row, pos, online) {
      const { ctx } = stage;
      const slot = row[SLOT];
      const t = teamInfo(row[TEAM]);
      const me = slot === this.match.slot;
      const jailed = !!row[JAILED];
      const r = Math.max(4, cfg.player_radius * stage.scale);
      const c = stage.toCanvas(pos.x, pos.y);
      ctx.save();
      ctx.globalAlpha = jailed ? 0.35 : online ? 1 : 0.55;
      if (me) {
        ctx.shadowColor = "#ffffff";
        ctx.shadowBlur = 16;
      }
      ctx.fillStyle = t.color;
      ctx.beginPath();
      ctx.arc(c.x, c.y, r, 0, Math.PI * 2);
      ctx.fill();
      ctx.shadowBlur = 0;
      ctx.lineWidth = me ? 3 : 1.5;
      ctx.strokeStyle = me ? "#ffffff" : "rgba(0,0,0,.55)";
      ctx.stroke();
      if (jailed) { // bars
        ctx.strokeStyle = "rgba(226,232,240,.9)";
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        for (const k of [-0.5, 0, 0.5]) {
          ctx.moveTo(c.x + k * r, c.y - r * 0.85);
          ctx.lineTo(c.x + k * r, c.y + r * 0.85);
        }
        ctx.stroke();
      }
      ctx.globalAlpha = jailed ? 0.6 : 1;
      ctx.font = `${me ? 700 : 500} 12px system-ui, sans-serif`;
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.fillStyle = me ? "#fff" : t.light;
      const label = this.match.name(slot) + (me ? " (you)" : "") + (jailed ? " · jailed" : "");
      // kept inside the field
      const half = ctx.measureText(label).width / 2 + 2;
      const left = stage.ox + half;
      const right = stage.ox + cfg.width * stage.scale - half;
      const lx = left < right ? this.kit.clamp(c.x, left, right) : c.x;
      ctx.fillText(label, lx, c.y - r - (me ? 9 : 4));
      if (me && row[STAMINA] !== null && row[STAMINA] !== undefined) {
        const bw = Math.max(28, r * 2.4);
        const by = c.y - r - 8;
        const frac = this.kit.clamp(row[STAMINA] / 100, 0, 1);
        ctx.fillStyle = "rgba(0,0,0,.6)";
        ctx.fillRect(c.x - bw / 2, by, bw, 4);
        ctx.fillStyle = frac > 0.3 ? "#fbbf24" : "#f87171";
        ctx.fillRect(c.x - bw / 2, by, bw * frac, 4);
      }
      ctx.restore();
    }

    drawScore(stage, last) {
      const { ctx } = stage;
      const score = last && Array.isArray(last.score) ? last.score : [0, 0];
      const left = this.timeLeft();
      const cx = stage.ox + (this.config.width * stage.scale) / 2;
      const top = stage.oy + 8;
      ctx.save();
      ctx.fillStyle = "rgba(8,11,18,.78)";
      roundRect(ctx, cx - 92, top, 184, 46, 10);
      ctx.fill();
      ctx.font = "800 22px system-ui, sans-serif";
      ctx.textBaseline = "top";
      ctx.textAlign = "right";
      ctx.fillStyle = teamInfo(0).light;
      ctx.fillText(String(score[0] ?? 0), cx - 16, top + 5);
      ctx.textAlign = "left";
      ctx.fillStyle = teamInfo(1).light;
      ctx.fillText(String(score[1] ?? 0), cx + 16, top + 5);
      ctx.textAlign = "center";
      ctx.fillStyle = "#94a3b8";
      ctx.fillText(":", cx, top + 4);
      ctx.font = "600 11px system-ui, sans-serif";
      ctx.fillStyle = "#cbd5e1";
      const limit = this.config.capture_limit;
      const time = left === null ? "–" : this.kit.fmtTime(left);
      ctx.fillText(`${time} · first to ${limit}`, cx, top + 31);
      ctx.restore();
    }

    drawStamina(stage) {
      const me = this.row(this.last(), this.match.slot);
      if (!me || me[STAMINA] === null || me[STAMINA] === undefined) return;
      const { ctx } = stage;
      const frac = this.kit.clamp(me[STAMINA] / 100, 0, 1);
      const x = stage.ox + 12;
      const y = stage.oy + this.config.height * stage.scale - 26;
      const w = 150;
      ctx.save();
      ctx.fillStyle = "rgba(8,11,18,.78)";
      roundRect(ctx, x - 6, y - 18, w + 12, 34, 8);
      ctx.fill();
      ctx.font = "600 10px system-ui, sans-serif";
      ctx.textBaseline = "bottom";
      ctx.textAlign = "left";
      ctx.fillStyle = "#94a3b8";
      ctx.fillText(this.sprinting ? "STAMINA · SPRINTING" : "STAMINA · SHIFT SPRINTS", x, y - 3);
      ctx.fillStyle = "rgba(255,255,255,.12)";
      ctx.fillRect(x, y, w, 8);
      ctx.fillStyle = frac > 0.3 ? "#fbbf24" : "#f87171";
      ctx.fillRect(x, y, w * frac, 8);
      ctx.restore();
    }

    drawNotices(stage, now) {
      this.notices = this.notices.filter((n) => now - n.at < NOTICE_MS);
      if (!this.notices.length) return;
      const { ctx } = stage;
      const cx = stage.ox + (this.config.width * stage.scale) / 2;
      let y = stage.oy + 64;
      ctx.save();
      ctx.textBaseline = "top";
      for (const n of [...this.notices].reverse()) {
        const age = now - n.at;
        ctx.globalAlpha = age > NOTICE_MS - 600 ? (NOTICE_MS - age) / 600 : 1;
        ctx.font = `${n.big ? 800 : 600} ${n.big ? 17 : 13}px system-ui, sans-serif`;
        const parts = n.parts.map((p) => (typeof p === "string" ? { text: p } : p));
        const width = parts.reduce((sum, p) => sum + ctx.measureText(p.text).width, 0);
        ctx.fillStyle = "rgba(8,11,18,.7)";
        const h = n.big ? 26 : 20;
        roundRect(ctx, cx - width / 2 - 8, y - 3, width + 16, h, 6);
        ctx.fill();
        let x = cx - width / 2;
        ctx.textAlign = "left";
        for (const p of parts) {
          ctx.fillStyle = p.color || "#e5e7eb";
          ctx.fillText(p.text, x, y);
          x += ctx.measureText(p.text).width;
        }
        y += h + 4;
      }
      ctx.restore();
    }

    // ---- HUD and state

    timeLeft() {
      const last = this.last();
      return last && typeof last.left === "number" ? last.left / this.match.tickRate : null;
    }

    // the scoreboard's rows, every seated player (hidden enemies too: their names are no
    // secret); app.js adds names and who is online
    scores() {
      const last = this.last();
      const score = last && Array.isArray(last.score) ? last.score : [0, 0];
      return [...this.match.names.keys()].sort((a, b) => a - b).map((slot) => {
        const row = this.row(last, slot);
        const team = teamOf(slot);
        let note = "";
        if (row && row[JAILED]) note = "jailed";
        else if (row && row[CARRYING]) note = "⚑ flag";
        return { slot, team, score: score[team] ?? 0, note, seen: !!row };
      });
    }

    teams() {
      const last = this.last();
      const score = last && Array.isArray(last.score) ? last.score : [0, 0];
      return [0, 1].map((team) => ({
        team, name: teamInfo(team).name, color: teamInfo(team).color, score: score[team] ?? 0,
      }));
    }

    hud() {
      const last = this.last();
      const score = last && Array.isArray(last.score) ? last.score : [0, 0];
      const me = this.row(last, this.match.slot);
      const stamina = me && typeof me[STAMINA] === "number" ? `${Math.round(me[STAMINA])}%` : "–";
      const flagText = { home: "at home", carried: "taken!", dropped: "dropped" };
      const flag = (team) => {
        const f = last && (last.flags || []).find((row) => row[F_TEAM] === team);
        return f ? flagText[f[F_STATUS]] || f[F_STATUS] : "–";
      };
      const scoreItem = { key: "score", label: "Score", text: `${score[0] ?? 0} – ${score[1] ?? 0}` };
      if (this.myTeam === null) { // a spectator: both flags
        return [scoreItem, ...[0, 1].map((team) => ({
          key: `flag-${team}`, label: `${teamInfo(team).name} flag`, text: flag(team),
        }))];
      }
      return [
        scoreItem,
        { key: "stamina", label: "Stamina", text: stamina },
        { key: "flag", label: "Our flag", text: flag(this.myTeam) },
      ];
    }

    debug() {
      const last = this.last();
      const me = this.position(this.match.slot, performance.now());
      const mine = this.row(last, this.match.slot);
      return {
        self: me,
        team: this.myTeam,
        score: last && Array.isArray(last.score) ? last.score : null,
        left: last && typeof last.left === "number" ? last.left : null,
        stamina: mine ? mine[STAMINA] : null,
        players: last
          ? (last.players || []).map((p) => ({
            slot: p[SLOT], team: p[TEAM], x: p[X], y: p[Y], carrying: !!p[CARRYING],
            jailed: !!p[JAILED], stamina: p[STAMINA],
          }))
          : [],
        flags: last
          ? (last.flags || []).map((f) => ({ team: f[F_TEAM], x: f[F_X], y: f[F_Y], status: f[F_STATUS] }))
          : [],
        fogHoles: this.fogHoles,
        notices: this.notices.length,
      };
    }
  }

  function roundRect(ctx, x, y, w, h, r) {
    ctx.beginPath();
    ctx.moveTo(x + r, y);
    ctx.arcTo(x + w, y, x + w, y + h, r);
    ctx.arcTo(x + w, y + h, x, y + h, r);
    ctx.arcTo(x, y + h, x, y, r);
    ctx.arcTo(x, y, x + w, y, r);
    ctx.closePath();
  }

  const modes = (window.SkirmishModes = window.SkirmishModes || {});
  modes.ctf = {
    title: "Capture the flag",
    blurb: "2v2, fog of war",
    teams: 2,
    keys: KEYS,
    canvasLabel: "Capture the flag field",
    cursor: "default",
    feedTitle: "Events",
    help: [["W", "A", "S", "D"], " / arrows move · hold ", ["Shift"], " to sprint · take the " +
      "enemy flag to your base · tag intruders in your half"],
    teamName: (team) => teamInfo(team).name,
    resultColumns: [
      { label: "Captures", value: (p) => p.score },
      { label: "Tags", value: (p) => p.kills },
      { label: "Jailed", value: (p) => p.deaths },
    ],
    create: (match, kit) => new CtfRenderer(match, kit),
  };
})();
