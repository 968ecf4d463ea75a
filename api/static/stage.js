// The canvas (the field fitted into it) and the player's controls (keys held, the mouse).

import { app } from "./state.js";

// The canvas and the fitted field: world units → canvas CSS pixels.
export const stage = {
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

const input = {
  codes: new Set(), // KeyboardEvent.code of the keys held
  mouse: null, // {x, y} in canvas CSS pixels
  mouseDown: false,
};
const SCROLL_KEYS = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Space"]);
const MOVE_KEYS = {
  up: ["KeyW", "ArrowUp"], down: ["KeyS", "ArrowDown"],
  left: ["KeyA", "ArrowLeft"], right: ["KeyD", "ArrowRight"],
};

// what a renderer's input() reads
export const controls = {
  down: (code) => input.codes.has(code),
  get pointer() {
    return input.mouse ? stage.toWorld(input.mouse.x, input.mouse.y) : null;
  },
  get pointerDown() {
    return input.mouseDown;
  },
};

// the movement keys held, as a vector of length at most 1
export function movement(ctl) {
  const held = (dir) => MOVE_KEYS[dir].some((code) => ctl.down(code));
  let dx = (held("right") ? 1 : 0) - (held("left") ? 1 : 0);
  let dy = (held("down") ? 1 : 0) - (held("up") ? 1 : 0);
  const len = Math.hypot(dx, dy);
  if (len > 1) {
    dx /= len;
    dy /= len;
  }
  return { dx, dy };
}

export function releaseControls() {
  input.codes.clear();
  input.mouseDown = false;
}

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

export function bindStage(canvas) {
  stage.canvas = canvas;
  stage.ctx = canvas.getContext("2d");
  window.addEventListener("keydown", (ev) => onKey(ev, true));
  window.addEventListener("keyup", (ev) => onKey(ev, false));
  window.addEventListener("blur", releaseControls);
  const at = (ev) => {
    const rect = canvas.getBoundingClientRect();
    input.mouse = { x: ev.clientX - rect.left, y: ev.clientY - rect.top };
  };
  canvas.addEventListener("mousemove", at);
  canvas.addEventListener("mouseleave", () => {
    input.mouseDown = false;
  });
  canvas.addEventListener("mousedown", (ev) => {
    if (ev.button !== 0) return;
    ev.preventDefault();
    canvas.focus();
    input.mouseDown = true;
    at(ev);
  });
  window.addEventListener("mouseup", () => {
    input.mouseDown = false;
  });
  canvas.addEventListener("contextmenu", (ev) => ev.preventDefault());
}

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

// Draw the match's field as its renderer sees it at `now` (an empty field before the
// welcome says which mode it is).
export function render(match, now) {
  const r = match.renderer;
  fitStage(r ? r.world() : { width: 1000, height: 1000 });
  stage.pointer = match.spectating ? null : input.mouse; // a spectator aims at nothing
  let drawn = 0;
  if (r) {
    drawn = r.draw(stage, now) || 0;
  } else {
    const ctx = stage.ctx;
    ctx.clearRect(0, 0, stage.w, stage.h);
    ctx.fillStyle = "#0f1522";
    ctx.fillRect(stage.ox, stage.oy, 1000 * stage.scale, 1000 * stage.scale);
  }
  stage.playersDrawn = drawn;
  stage.frames++;
}
