// Skirmish browser client: the arena's rendering and input.
// A free-for-all top-down shooter: WASD/arrows move, the mouse aims, click or Space fires.
// Our own player is predicted (the SDK's Predictor over the inputs the server has not
// applied yet), the others interpolated (the SDK's SnapshotBuffer and interpolateRows).
// Registers itself on window.SkirmishModes; app.js (loaded after) picks it by welcome.mode.
// The renderer contract is described at the top of app.js.
"use strict";

(() => {
  const COLORS = ["#60a5fa", "#f87171", "#34d399", "#fbbf24", "#a78bfa", "#f472b6", "#22d3ee",
    "#fb923c"];
  const DEFAULT_CONFIG = { width: 1000, height: 1000, speed: 200, player_radius: 20, max_hp: 100 };
  const KEYS = ["KeyW", "KeyA", "KeyS", "KeyD", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight",
    "Space"];
  // a snapshot's player row: [slot, x, y, aim, hp, score, alive]
  const SLOT = 0, X = 1, Y = 2, AIM = 3, HP = 4, SCORE = 5, ALIVE = 6;

  const colorOf = (slot) => COLORS[((slot % COLORS.length) + COLORS.length) % COLORS.length];

  class ArenaRenderer {
    constructor(match, kit) {
      this.match = match;
      this.kit = kit;
      this.flashes = new Map(); // slot → time of last hit
      this.aim = 0;
      // our position: the last snapshot's, moved by every input it has not applied yet
      this.predictor = new kit.Predictor({ predict: (s, input, cfg) => this.step(s, input, cfg) });
      this.dispose = this.predictor.attach(match.session, (snap, session) => {
        const row = this.row(snap, session.slot);
        return row && row[ALIVE] && session.status === "running" ? { x: row[X], y: row[Y] } : null;
      });
    }

    get config() {
      return { ...DEFAULT_CONFIG, ...(this.match.config || {}) };
    }

    world() {
      const { width, height } = this.config;
      return { width, height };
    }

    color(slot) {
      return colorOf(slot);
    }

    last() {
      return this.match.last;
    }

    row(snap, slot) {
      return snap && snap.players ? snap.players.find((p) => p[SLOT] === slot) : undefined;
    }

    // ---- messages

    onWelcome() {}

    onSnapshot(snap, now) {
      const feed = [];
      for (const [kind, a, b] of snap.events || []) {
        if (kind === "hit") this.flashes.set(b, now);
        else if (kind === "kill") {
          feed.push([
            { text: this.match.name(a), color: colorOf(a) },
            { text: "✖", cls: "k" },
            { text: this.match.name(b), color: colorOf(b) },
          ]);
        }
      }
      return feed;
    }

    // ---- input

    input(controls) {
      const { dx, dy } = this.kit.movement(controls);
      const me = this.selfPosition();
      const p = controls.pointer;
      if (me && p && Math.hypot(p.x - me.x, p.y - me.y) > 1) {
        this.aim = Math.atan2(p.y - me.y, p.x - me.x);
      }
      const aim = Number.isFinite(this.aim) ? Math.round(this.aim * 1000) / 1000 : 0;
      const fire = controls.pointerDown || controls.down("Space");
      return { dx, dy, aim, fire };
    }

    // the aim changes with every mouse move: only movement and firing count as a change
    inputKey(fields) {
      return `${fields.dx},${fields.dy},${fields.fire}`;
    }

    inputSent() {} // the predictor follows the session's inputs

    // ---- prediction and interpolation

    // one input's move (one tick), for the predictor
    step(s, input, cfg) {
      const { speed, player_radius: r, width, height } = { ...DEFAULT_CONFIG, ...cfg };
      const step = speed / this.match.tickRate;
      const clamp = this.kit.clamp;
      return {
        x: clamp(s.x + input.dx * step, r, width - r),
        y: clamp(s.y + input.dy * step, r, height - r),
      };
    }

    // where we are: predicted while alive in a running match, else the server's
    selfPosition() {
      const row = this.row(this.last(), this.match.slot);
      if (!row) return null;
      const predicted = row[ALIVE] && this.match.status === "running" ? this.predictor.state : null;
      return predicted ? { x: predicted.x, y: predicted.y } : { x: row[X], y: row[Y] };
    }

    // the other players' rows, between the two snapshots around the buffer's render time
    // (one tick apart for a player, a few for a spectator); a respawn or a jump is not slid
    // across the field
    others(sample) {
      const ticks = Math.max(1, sample.b.tick - sample.a.tick);
      const maxDistance = (this.config.speed / this.match.tickRate) * (ticks + 3);
      const rows = this.kit.interpolateRows(sample.a.players, sample.b.players || [], sample.t, {
        fields: [X, Y],
        angles: [AIM],
        snap: this.kit.snapWhen({ x: X, y: Y, maxDistance, flags: [ALIVE] }),
      });
      return rows.filter((row) => row[SLOT] !== this.match.slot);
    }

    // ---- drawing

    draw(stage, now) {
      const { ctx } = stage;
      const cfg = this.config;
      drawField(ctx, stage, cfg);
      const last = this.last();
      const sample = this.match.buffer.sample(now);
      let drawn = 0;
      if (last && sample) {
        this.drawShots(stage, sample);
        const online = new Set(last.online || []);
        for (const row of this.others(sample)) {
          const pos = { x: row[X], y: row[Y], aim: row[AIM] };
          this.drawPlayer(stage, row, pos, now, online.has(row[SLOT]));
          drawn++;
        }
        // own player last so it is on top
        const mine = this.row(last, this.match.slot);
        const pos = this.selfPosition();
        if (mine && pos) {
          pos.aim = this.match.status === "running" ? this.aim : mine[AIM];
          this.drawPlayer(stage, mine, pos, now, online.has(mine[SLOT]));
          drawn++;
        }
      }
      this.drawAimCursor(stage);
      return drawn;
    }

    // the shots of the earlier snapshot drawn, moved on to the render time
    drawShots(stage, sample) {
      const { ctx } = stage;
      const ticks = sample.tick - sample.a.tick;
      const dt = this.match.status === "running" ? ticks / this.match.tickRate : 0;
      const r = Math.max(2, 5 * stage.scale);
      for (const [, owner, x, y, vx, vy] of sample.a.shots || []) {
        const p = stage.toCanvas(x + vx * dt, y + vy * dt);
        const tail = stage.toCanvas(x + vx * (dt - 0.04), y + vy * (dt - 0.04));
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

    drawPlayer(stage, row, pos, now, online) {
      const { ctx } = stage;
      const slot = row[SLOT];
      const hp = row[HP];
      const alive = row[ALIVE];
      const cfg = this.config;
      const me = slot === this.match.slot;
      const r = cfg.player_radius * stage.scale;
      const c = stage.toCanvas(pos.x, pos.y);
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
      const flash = this.flashes.get(slot);
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
      const frac = this.kit.clamp(hp / (cfg.max_hp || 100), 0, 1);
      ctx.fillStyle = frac > 0.5 ? "#34d399" : frac > 0.25 ? "#fbbf24" : "#f87171";
      ctx.fillRect(c.x - bw / 2, by, bw * frac, 5);
      ctx.font = `${me ? 700 : 500} 12px system-ui, sans-serif`;
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.fillStyle = me ? "#fff" : "#cbd5e1";
      const label = this.match.name(slot) + (me ? " (you)" : "") + (alive ? "" : " ✖");
      ctx.fillText(label, c.x, by - 3);
      ctx.restore();
    }

    drawAimCursor(stage) {
      const { ctx, pointer } = stage;
      if (!pointer || this.match.status !== "running") return;
      const { x, y } = pointer;
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

    // ---- HUD and state

    timeLeft() {
      const last = this.last();
      return last && typeof last.left === "number" ? last.left / this.match.tickRate : null;
    }

    // the scoreboard's rows; app.js adds names and who is online
    scores() {
      const last = this.last();
      return (last ? last.players || [] : []).map((p) => ({
        slot: p[SLOT], score: p[SCORE], hp: p[HP], alive: !!p[ALIVE],
      }));
    }

    teams() {
      return null; // every player for themself
    }

    hud() {
      return [];
    }

    debug() {
      const last = this.last();
      return {
        self: this.selfPosition(),
        players: last
          ? (last.players || []).map((p) => ({
            slot: p[SLOT], x: p[X], y: p[Y], hp: p[HP], score: p[SCORE], alive: !!p[ALIVE],
          }))
          : [],
        shots: last ? (last.shots || []).length : 0,
        left: last && typeof last.left === "number" ? last.left : null,
      };
    }
  }

  function drawField(ctx, stage, cfg) {
    const s = stage.scale;
    ctx.clearRect(0, 0, stage.w, stage.h);
    ctx.save();
    ctx.translate(stage.ox, stage.oy);
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

  const modes = (window.SkirmishModes = window.SkirmishModes || {});
  modes.arena = {
    title: "Arena",
    blurb: "free-for-all shooter",
    teams: 0,
    keys: KEYS,
    canvasLabel: "Arena",
    feedTitle: "Kill feed",
    // the side panel's controls line: strings, and arrays of them as keys
    help: [["W", "A", "S", "D"], " / arrows move · mouse aims · click or ", ["Space"], " fires"],
    resultColumns: [
      { label: "Score", value: (p) => p.score },
      { label: "K", value: (p) => p.kills },
      { label: "D", value: (p) => p.deaths },
      { label: "Shots", value: (p) => p.shots },
      { label: "Hits", value: (p) => p.hits },
      { label: "Acc.", value: (p) => (p.shots ? `${Math.round((100 * p.hits) / p.shots)}%` : "–") },
    ],
    create: (match, kit) => new ArenaRenderer(match, kit),
  };
})();
