// The page's state: one SDK client (this tab's player) and what the UI shows.

import { SkirmishClient } from "@skirmish/sdk";

const STORE_AUTH = "skirmish.auth";
const STORE_MATCH = "skirmish.match";

// "": the page's own origin, for REST and the match sockets (ws:// or wss:// to match)
export const client = new SkirmishClient();

export const app = {
  phase: "signin",
  auth: null, // the guest player: {player_id, name, token, expires_at}
  modes: [], // GET /v1/modes
  match: null, // the current Match (play.js)
};

function load(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

// The player this tab signed in as (each tab is its own player: sessionStorage), or null.
export function restoreAuth() {
  const auth = load(STORE_AUTH);
  if (!auth || !(Date.parse(auth.expires_at || "") > Date.now())) {
    sessionStorage.removeItem(STORE_AUTH);
    return null;
  }
  setAuth(auth);
  return auth;
}

export function setAuth(auth) {
  app.auth = auth;
  client.player = auth;
  client.token = auth ? auth.token : null;
  if (auth) sessionStorage.setItem(STORE_AUTH, JSON.stringify(auth));
  else sessionStorage.removeItem(STORE_AUTH);
}

// The match access of the match this tab plays (kept across a reload), or null.
export const savedMatch = {
  get: () => load(STORE_MATCH),
  set: (access) => sessionStorage.setItem(STORE_MATCH, JSON.stringify(access)),
  clear: () => sessionStorage.removeItem(STORE_MATCH),
};
