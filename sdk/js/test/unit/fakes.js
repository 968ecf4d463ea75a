// Test doubles: a clock driven by hand and a WebSocket whose server side the test plays.

export class FakeClock {
  constructor(start = 1000) {
    this.t = start;
    this.timers = new Map();
    this.nextId = 1;
    this.now = () => this.t;
    this.setTimeout = (fn, ms) => {
      const id = this.nextId++;
      this.timers.set(id, { fn, due: this.t + Math.max(0, ms), id });
      return id;
    };
    this.clearTimeout = (id) => {
      this.timers.delete(id);
    };
  }

  /** Move time forward by `ms`, running every timer due on the way, in order. */
  advance(ms) {
    const target = this.t + ms;
    for (;;) {
      let next = null;
      for (const timer of this.timers.values()) {
        if (timer.due <= target && (!next || timer.due < next.due || (timer.due === next.due && timer.id < next.id))) {
          next = timer;
        }
      }
      if (!next) break;
      this.timers.delete(next.id);
      this.t = Math.max(this.t, next.due);
      next.fn();
    }
    this.t = target;
  }

  /** Advance in steps, letting promises settle between them. */
  async run(ms, step = 10) {
    for (let done = 0; done < ms; done += step) {
      this.advance(Math.min(step, ms - done));
      await flush();
    }
  }
}

export async function flush() {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const encoder = new TextEncoder();

export function binary(message) {
  const bytes = encoder.encode(JSON.stringify(message));
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

/** A WebSocket class whose instances the test drives; `FakeWebSocket.instances` lists them. */
export function fakeWebSocketClass() {
  class FakeWebSocket {
    static instances = [];

    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.binaryType = "blob";
      this.sent = [];
      this.closedWith = null;
      this.terminated = false;
      this.onopen = null;
      this.onmessage = null;
      this.onclose = null;
      this.onerror = null;
      FakeWebSocket.instances.push(this);
    }

    static get last() {
      return FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
    }

    send(data) {
      if (this.readyState !== 1) throw new Error("not open");
      this.sent.push(JSON.parse(data));
    }

    close(code, reason) {
      this.closedWith = { code, reason };
      this.readyState = 3;
    }

    terminate() {
      this.terminated = true;
      this.readyState = 3;
    }

    // -- the server side

    open() {
      this.readyState = 1;
      this.onopen && this.onopen({});
    }

    receive(message) {
      this.onmessage && this.onmessage({ data: binary(message) });
    }

    serverClose(code, reason = "") {
      this.readyState = 3;
      this.onclose && this.onclose({ code, reason });
    }

    sentOfType(type) {
      return this.sent.filter((m) => m.type === type);
    }
  }
  return FakeWebSocket;
}

export function welcome(fields = {}) {
  return {
    type: "welcome",
    match_id: "m_1",
    player_id: "p_1",
    slot: 0,
    mode: "arena",
    tick_rate: 30,
    teams: 0,
    status: "running",
    tick: 10,
    last_seq: 0,
    players: [{ slot: 0, player_id: "p_1", name: "ada" }],
    config: { speed: 200, width: 1000, height: 1000, player_radius: 20 },
    ...fields,
  };
}

export function snapshot(tick, ack, fields = {}) {
  return { type: "snapshot", tick, ack, online: [0], left: 100, players: [], shots: [], ...fields };
}

export const ACCESS = Object.freeze({
  match_id: "m_1",
  ws_path: "/ws/matches/m_1",
  token: "tok-1",
  expires_at: "2099-01-01T00:00:00Z",
});
