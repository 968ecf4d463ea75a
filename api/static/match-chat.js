// The match screen's chat panel: a player's lines to every player of the match or, in a
// team mode, to their own team (the "To my team only" toggle), over the SDK's
// MatchSession (`chat()`, its `chat` event), and the operators' announcements. The
// server sends spectators no lines (a team's would tell what the delayed view hides): a
// watch shows no panel, only announcements should one come. Names and lines are what
// players typed: only ever text (el's `text`: textContent), never HTML.
//
// Keys typed into the chat box are text, never moves: stage.js ignores key presses aimed
// at an input. Enter on the field opens the chat box; Enter sends and goes back to the
// field, as does Escape (or Enter with nothing typed).

import { stage } from "./stage.js";
import { app } from "./state.js";
import { $, chatTime, el } from "./ui.js";

const CHAT_KEEP = 60; // lines kept on screen
const ENTER = new Set(["Enter", "NumpadEnter"]);
const TYPING = new Set(["INPUT", "SELECT", "TEXTAREA", "BUTTON"]);

const chat = { lines: 0 };

// for window.skirmishDebug
export function matchChatDebug() {
  return { matchChatLines: chat.lines, matchChatOpen: chatOpen() };
}

// The form is there: a player's match, not over.
const chatOpen = () => !$("#match-chat").hidden && !$("#match-chat-form").hidden;

// An empty panel for the match screen: a player's (with the form), or a watch's (hidden).
export function resetMatchChat(player) {
  $("#match-chat-log").replaceChildren();
  $("#match-chat-input").value = "";
  $("#match-chat-team").checked = false;
  $("#match-chat-team-box").hidden = true;
  $("#match-chat-form").hidden = !player;
  $("#match-chat").hidden = !player;
  chat.lines = 0;
  placeholder();
}

// The welcome says whether the mode has teams: then the team toggle.
export function matchChatWelcome(welcome) {
  $("#match-chat-team-box").hidden = !(welcome.teams >= 2);
  placeholder();
}

// The match is over: its socket too. The lines stay, the form goes.
export function closeMatchChat() {
  $("#match-chat-form").hidden = true;
  if (document.activeElement === $("#match-chat-input")) stage.canvas.focus();
}

function addLine(node) {
  const log = $("#match-chat-log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
  log.append(node);
  while (log.children.length > CHAT_KEEP) log.firstElementChild.remove();
  chat.lines++;
  $("#match-chat").hidden = false;
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// A player's line: [team] for a team's, the name in the player's colour, the text as text.
export function addMatchLine(match, line) {
  const mine = line.slot === match.slot;
  const color = match.renderer && typeof line.slot === "number" ? match.renderer.color(line.slot) : null;
  addLine(el("li", { class: `chat-line${mine ? " mine" : ""}${line.team ? " team" : ""}`, title: line.at },
    el("span", { class: "chat-time", text: chatTime(line.at) }),
    line.team ? el("span", { class: "chat-team", text: "[team]" }) : null,
    el("span", { class: "chat-name", text: line.name, style: color && `color:${color}` }),
    el("span", { class: "chat-text", text: line.text })));
}

// A note of the page's or the operators' (kind: announcement, error).
export function addMatchNote(text, kind, at) {
  addLine(el("li", { class: `chat-note ${kind}`, title: at || "" },
    el("span", { class: "chat-time", text: at ? chatTime(at) : "" }),
    el("span", { class: "chat-text", text })));
}

function placeholder() {
  const team = !$("#match-chat-team-box").hidden && $("#match-chat-team").checked;
  $("#match-chat-input").placeholder = team ? "Say to your team" : "Say something (Enter)";
}

function backToField() {
  $("#match-chat-input").blur();
  if (stage.canvas) stage.canvas.focus();
}

function send(ev) {
  ev.preventDefault();
  const m = app.match;
  const input = $("#match-chat-input");
  const text = input.value.trim();
  if (!text) {
    backToField();
    return;
  }
  if (!m || m.spectating || m.done) return;
  const team = !$("#match-chat-team-box").hidden && $("#match-chat-team").checked;
  try {
    if (m.session.chat(text, { team })) {
      input.value = "";
      backToField();
    } else {
      addMatchNote("Not connected right now: the line was not sent.", "error");
    }
  } catch (e) {
    addMatchNote(e.message, "error"); // too long (the box allows 200 UTF-16 units)
  }
}

// Enter on the field opens the chat box; Escape in it goes back to the field.
function onKey(ev) {
  if (app.phase !== "playing" || !chatOpen()) return;
  const input = $("#match-chat-input");
  if (ev.target === input) {
    if (ev.key === "Escape") {
      ev.preventDefault();
      backToField();
    }
    return;
  }
  const tag = (ev.target && ev.target.tagName) || "";
  if (!ENTER.has(ev.code) || TYPING.has(tag) || ev.repeat) return;
  ev.preventDefault();
  input.focus();
}

export function bindMatchChat() {
  $("#match-chat-form").addEventListener("submit", send);
  $("#match-chat-team").addEventListener("change", placeholder);
  window.addEventListener("keydown", onKey);
}
