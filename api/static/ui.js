// DOM helpers shared by the page's modules. Server-provided strings only ever become
// text (textContent, text nodes, attribute values): never HTML.

import { ApiError } from "@skirmish/sdk";

import { app } from "./state.js";

export const $ = (sel) => document.querySelector(sel);

export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

// el("li", {class, text, onclick, ...attributes}, ...children)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== "" && c !== null && c !== undefined) node.append(c);
  return node;
}

export function fmtTime(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// A chat line's time (its ISO 8601 `at`) as the reader's clock shows it: "14:05".
export function chatTime(at) {
  const time = new Date(at);
  if (Number.isNaN(time.getTime())) return "";
  return time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// An AbortController's abort shows up as an error of its own name (the SDK's AbortError,
// or the DOMException fetch and timers throw).
export const isAbort = (err) => !!err && err.name === "AbortError";

// No answer, or a server error: worth trying again; anything else is an answer.
export const isTransient = (err) =>
  err instanceof ApiError && (err.status === 0 || err.status >= 500 || err.status === 429);

// ---------------------------------------------------------------- errors

let errorTimer = 0;
let onUnauthorized = null;

// Called when a call answers 401 while signed in (the player token expired).
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export function showError(err) {
  if (err instanceof ApiError && err.status === 401 && app.auth && onUnauthorized) {
    onUnauthorized();
    return;
  }
  const text = err instanceof ApiError
    ? `${err.message || "request failed"} (${err.code})`
    : String((err && err.message) || err);
  $("#error-text").textContent = text;
  $("#error").hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(hideError, 8000);
}

export function hideError() {
  $("#error").hidden = true;
}

// ---------------------------------------------------------------- phases

// signin | menu | searching | lobby | playing | result: the views whose data-phases list it
export function setPhase(phase) {
  app.phase = phase;
  for (const view of document.querySelectorAll("[data-phases]")) {
    view.hidden = !view.dataset.phases.split(" ").includes(phase);
  }
  $("#who").hidden = !app.auth;
  if (app.auth) $("#who-name").textContent = app.auth.name;
}
