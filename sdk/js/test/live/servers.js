// Real Skirmish servers for the live tests: one pod (`skirmish serve`) or a cluster
// (`skirmish cluster`: a private redis-server, N pods, nginx in front). Every process the
// tests start is stopped by its id, even when a test fails or the runner stops the file.

import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const SDK_DIR = path.resolve(here, "..", "..");

/** The `skirmish` executable: $SKIRMISH_BIN, or the repository's .venv. */
export function skirmishBin() {
  const bin = process.env.SKIRMISH_BIN || path.resolve(SDK_DIR, "../../.venv/bin/skirmish");
  if (!existsSync(bin)) {
    throw new Error(
      `no skirmish server at ${bin}: run \`make .venv/.installed\` at the repository root, or set SKIRMISH_BIN`,
    );
  }
  return bin;
}

/** Set SKIRMISH_LIVE=0 to leave the live tests out (they need Python, redis-server, nginx). */
export const LIVE = process.env.SKIRMISH_LIVE !== "0";

export const ADMIN_TOKEN = "sdk-js-live-tests-admin-token-0123456789abcdef";

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// -- process bookkeeping ------------------------------------------------------------------

const started = new Set(); // {pid, group}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid, sig, group = false) {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch {
    // gone already
  }
}

/** The processes below `pid` (Linux /proc): a cluster's pods, redis and nginx. */
export function descendants(pid) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    for (const child of children.get(stack.pop()) || []) {
      out.push(child);
      stack.push(child);
    }
  }
  return out;
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** Last resort when the runner stops this file: kill what is left, by id, at once. */
function killAllNow() {
  for (const entry of started) {
    for (const pid of entry.known) signal(pid, "SIGKILL");
    for (const pid of descendants(entry.pid)) signal(pid, "SIGKILL");
    signal(entry.pid, "SIGKILL", true);
  }
  started.clear();
}
process.once("exit", killAllNow);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => {
    killAllNow();
    process.exit(130);
  });
}

class Managed {
  constructor(argv, env, name) {
    this.name = name;
    this.output = "";
    this.child = spawn(argv[0], argv.slice(1), {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, stopped as one
    });
    this.pid = this.child.pid;
    this.known = new Set(); // descendants seen, killed by id if they outlive it
    this.exited = new Promise((resolve) => this.child.once("exit", (code, sig) => resolve({ code, sig })));
    this.exitCode = undefined;
    this.exited.then(({ code }) => (this.exitCode = code));
    const keep = (chunk) => {
      this.output += chunk.toString();
      if (this.output.length > 200000) this.output = this.output.slice(-100000);
    };
    this.child.stdout.on("data", keep);
    this.child.stderr.on("data", keep);
    started.add(this);
  }

  get running() {
    return this.exitCode === undefined;
  }

  /** Wait for the exit, at most `ms`; true if it exited. */
  async waitExit(ms) {
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    return !this.running;
  }

  remember() {
    for (const pid of descendants(this.pid)) this.known.add(pid);
  }

  tail(lines = 30) {
    return this.output.split("\n").slice(-lines).join("\n");
  }

  /** SIGTERM (the group, or the process alone), wait, then SIGKILL whatever is left. */
  async stop({ timeoutMs = 12000, group = true } = {}) {
    this.remember();
    if (this.running) {
      signal(this.pid, "SIGTERM", group);
      await this.waitExit(timeoutMs);
    }
    if (this.running) signal(this.pid, "SIGKILL", true);
    await this.waitExit(2000);
    // a cluster's children live in sessions of their own: after its harness, by id
    for (const pid of [...this.known, ...descendants(this.pid)]) {
      if (alive(pid)) signal(pid, "SIGKILL");
    }
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    started.delete(this);
  }
}

async function waitReady(url, proc, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`${proc.name} exited before it was ready:\n${proc.tail()}`);
    try {
      const res = await fetch(`${url}/readyz`);
      await res.text();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${proc.name} not ready at ${url} after ${timeoutMs} ms:\n${proc.tail()}`);
}

/** One pod: `skirmish serve --port <free>`; returns {url, stop()}. */
export async function startServer(env = {}) {
  const port = await freePort();
  const proc = new Managed(
    [skirmishBin(), "serve", "--host", "127.0.0.1", "--port", String(port), "--no-access-log"],
    env,
    "skirmish serve",
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, proc);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, proc, stop: () => proc.stop() };
}

/**
 * `skirmish cluster --pods N --port <free>`: redis, N pods, nginx. Returns
 * {url (nginx), pods: {name: url}, podPid(name), stop()}.
 */
export async function startCluster(pods = 2, env = {}) {
  const port = await freePort();
  const proc = new Managed(
    [skirmishBin(), "cluster", "--pods", String(pods), "--port", String(port)],
    env,
    "skirmish cluster",
  );
  const deadline = Date.now() + 45000;
  try {
    while (!proc.output.includes("Ctrl-C stops everything")) {
      if (!proc.running) throw new Error(`skirmish cluster exited:\n${proc.tail()}`);
      if (Date.now() > deadline) throw new Error(`skirmish cluster not up:\n${proc.tail()}`);
      await sleep(100);
    }
    proc.remember();
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const podUrls = {};
  for (const m of proc.output.matchAll(/^\s+(pod-\d+): (http:\/\/127\.0\.0\.1:\d+)/gm)) podUrls[m[1]] = m[2];
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    pods: podUrls,
    proc,
    /** The pid of a pod's process (found by its port among the cluster's children). */
    podPid(name) {
      const podPort = new URL(podUrls[name]).port;
      for (const pid of descendants(proc.pid)) {
        const argv = cmdline(pid);
        const i = argv.indexOf("--port");
        if (argv.includes("serve") && i >= 0 && argv[i + 1] === podPort) return pid;
      }
      return null;
    },
    stop: () => proc.stop({ timeoutMs: 15000, group: false }),
  };
}

/**
 * A TCP proxy to `port` whose open connections can be frozen: bytes stop flowing both
 * ways, nothing is closed (a frozen server or network). New connections flow.
 */
export async function freezingProxy(port) {
  const pairs = new Set();
  let held = 0; // bytes clients sent into frozen connections
  const server = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    const pair = { client, upstream, frozen: false };
    pairs.add(pair);
    const forward = (from, to) =>
      from.on("data", (chunk) => {
        if (!pair.frozen) to.write(chunk);
        else if (from === client) held += chunk.length;
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.address().port,
    freeze() {
      for (const pair of pairs) pair.frozen = true;
    },
    /** Bytes the clients sent into frozen connections (a ping, say). */
    get held() {
      return held;
    },
    close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      server.close();
    },
  };
}
