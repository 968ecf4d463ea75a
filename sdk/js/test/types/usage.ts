// A typed usage example, checked by `tsc --noEmit` (npm test): it compiles only if the
// declarations in src/*.d.ts describe the API as a TypeScript user would call it. It is
// never run. No DOM or Node types: the SDK's own interfaces must be enough.

import {
  ApiError,
  type ChatMessage,
  type Lobby,
  LobbyError,
  type LobbyOutcome,
  LobbyRoom,
  type ArenaInput,
  type ArenaView,
  type MatchAccess,
  type MatchChatMessage,
  MatchSession,
  type Settings,
  type SpectateAccess,
  type SpectatorClosedEvent,
  Predictor,
  Spectator,
  SkirmishClient,
  SnapshotBuffer,
  type SnapshotMessage,
  type WebSocketConstructor,
  backoffDelay,
  closeAction,
  interpolateRows,
  snapWhen,
} from "@skirmish/sdk";
import { PendingInputs } from "@skirmish/sdk/pending.js";

declare const WebSocketImpl: WebSocketConstructor;

type ArenaRow = ArenaView["players"][number];
interface Me {
  x: number;
  y: number;
}
interface ArenaConfig {
  speed: number;
  player_radius: number;
  width: number;
  height: number;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

export async function play(baseUrl: string): Promise<string | null> {
  const client = new SkirmishClient(baseUrl, { WebSocket: WebSocketImpl, maxRetries: 2 });
  const me = await client.guest("ada");
  const modes = await client.modes();
  const arena = modes.find((m) => m.name === "arena");
  if (!arena) return null;

  let access: MatchAccess;
  try {
    access = await client.queue("arena", { pollMs: 300, timeoutMs: 30_000, settings: { time_limit_seconds: 60 } });
  } catch (err) {
    if (err instanceof ApiError) return `${err.status} ${err.code}: ${err.message}`;
    throw err;
  }

  const session: MatchSession<ArenaView, ArenaInput> = client.connect<ArenaView, ArenaInput>(access, {
    pingIntervalMs: 1000,
  });
  const buffer = new SnapshotBuffer<SnapshotMessage<ArenaView>>({ tickRate: arena.tick_rate });
  const predictor = new Predictor<Me, ArenaInput, ArenaConfig>({
    predict: (s, input, cfg) => ({
      x: clamp(s.x + (input.dx * cfg.speed) / 30, cfg.player_radius, cfg.width - cfg.player_radius),
      y: clamp(s.y + (input.dy * cfg.speed) / 30, cfg.player_radius, cfg.height - cfg.player_radius),
    }),
  });
  predictor.attach(session, (snap, s) => {
    const row = snap.players.find((p) => p[0] === s.slot);
    return row && row[6] ? { x: row[1], y: row[2] } : null;
  });

  session.on("welcome", (w) => buffer.setTickRate(w.tick_rate));
  session.on("snapshot", (snap) => {
    buffer.push(snap, session.clock.now());
    const seq: number | null = session.sendInput({ dx: 1, dy: 0, aim: 0, fire: snap.tick % 10 === 0 });
    void seq;
  });
  session.on("reconnecting", ({ attempt, delay, code }) => {
    const text: string = `attempt ${attempt} in ${Math.round(delay)} ms after ${code}`;
    void text;
  });
  session.on("error", (e) => {
    if (e.code === "input_dropped" && e.seq !== undefined) void e.seq;
  });
  // chat in the match: to all, or to your team (a mode with teams); plain text to show as text
  session.on("chat", (line: MatchChatMessage) => {
    const shown: string = `${line.team ? "[team] " : ""}${line.name} (slot ${line.slot}): ${line.text}`;
    void shown;
  });
  session.on("announcement", ({ text, at }) => void `${at} ${text}`);
  const said: boolean = session.chat("gl hf");
  session.chat("flag at their base", { team: true });
  // @ts-expect-error a line is a string
  session.chat(42);
  void said;

  const players = buffer.view(session.clock.now(), (a, b, t) =>
    interpolateRows<ArenaRow>(a.players, b.players, t, {
      fields: [1, 2],
      angles: [3],
      snap: snapWhen({ maxDistance: 30, flags: [6] }),
    }),
  );
  void players;
  void predictor.state?.x;

  const welcome = await session.ready;
  const closed = await session.done;
  const winner = closed.result ? closed.result.winner : null;
  void welcome.last_seq;

  const info = await client.getMatch(access.match_id);
  const played: Settings = info.settings;
  void played;
  const replay = await client.replay(info.id);
  const seqs = replay.inputs.map(([, , msg]) => (msg ? msg.seq : null));
  void seqs;

  const lobby = await client.createLobby({ mode: "arena", name: "mine", maxPlayers: 2, settings: { score_limit: 5 } });
  const limits = arena.settings_schema.properties ?? {};
  const chosen: Settings = {};
  for (const [name, spec] of Object.entries(limits)) {
    if (typeof spec.default === "number" && spec.maximum !== undefined) chosen[name] = Math.min(spec.default * 2, spec.maximum);
  }
  const changed = await client.setLobbySettings(lobby.id, chosen);
  void changed.settings["score_limit"];
  const ticket = await client.createTicket("arena", { settings: chosen });
  void ticket.settings;
  const page = await client.listLobbies({ limit: 10, after: null });
  void page.next;
  await client.setReady(lobby.id, true);
  const seat: MatchAccess = await client.waitLobbyStarted(lobby.id, { pollMs: 500 });
  void seat;

  const secret = await client.createLobby({ name: "ours", private: true });
  const code: string | null = secret.code;
  const theirs = await client.joinLobbyByCode(code ?? "K7WQ2M");
  const room: LobbyRoom = client.lobbyRoom(theirs, { pingIntervalMs: 20_000 });
  room.on("lobby", ({ event, lobby: now }) => {
    const revision: number = now.revision;
    void event;
    void revision;
  });
  room.on("chat", (line: ChatMessage) => {
    const shown: string = `${line.name}: ${line.text} (${line.at})`;
    void shown;
  });
  room.on("announcement", (notice) => void notice.text);
  room.on("closed", ({ code: closeCode, outcome, match }) => {
    const how: LobbyOutcome = outcome;
    void closeCode;
    void how;
    void match?.ws_path;
  });
  const sent: boolean = room.say("gl hf");
  void sent;
  room.apply(await client.setReady(theirs.id, true));
  const myLobby: Lobby | null = room.lobby;
  void myLobby;
  try {
    const mySeat: MatchAccess = await room.started;
    void client.connect(mySeat);
  } catch (err) {
    if (err instanceof LobbyError) void err.status;
  }

  // watching: a link match's code from the access its players get, then a recording at ×4
  const mine: SpectateAccess = await client.spectateAccess(access.match_id);
  const watchCode: string | null = mine.code;
  const watcher: Spectator<ArenaView> = await client.spectate<ArenaView>(access.match_id, {
    code: watchCode,
    speed: 4,
    pingIntervalMs: 20_000,
  });
  watcher.on("spectating", (w) => {
    const behind: string = w.live ? `${w.delay_ms} ms behind` : `replay ×${w.speed}`;
    void behind;
  });
  watcher.on("snapshot", (snap) => void snap.players.length);
  // @ts-expect-error a spectator sends no inputs
  watcher.sendInput({ dx: 1, dy: 0, aim: 0, fire: true });
  watcher.on("spectators", ({ count }) => void count);
  session.on("spectators", ({ count }) => void count);
  const drawn = watcher.buffer.view(watcher.clock.now(), (a, b, t) =>
    interpolateRows<ArenaRow>(a.players, b.players, t, { fields: [1, 2] }),
  );
  void drawn;
  const watched: SpectatorClosedEvent = await watcher.done;
  const replayed: boolean | undefined = watched.result ? watched.result.replayed : undefined;
  void replayed;
  await client.createLobby({ name: "watched", spectators: "link" });

  const action: "reconnect" | "refresh" | "final" = closeAction(1012);
  const delay: number = backoffDelay(3, { afterRestart: false });
  const pending = new PendingInputs();
  pending.add(1, { type: "input", seq: 1, dx: 0 });
  void action;
  void delay;
  return winner ?? me.player_id;
}
