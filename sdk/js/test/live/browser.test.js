// The SDK in a real browser, unchanged: headless Chromium loads src/ as static files from
// /sdk/ (as the server is to serve it) and two clients in one page sign in, queue, play an
// arena match to its result over the browser's own fetch and WebSocket, and report.
// Skipped when no Chromium is installed (CHROMIUM=/path/to/it to choose one).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { within } from "./play.js";
import { LIVE, SDK_DIR, startServer } from "./servers.js";

function findChromium() {
  const names = [process.env.CHROMIUM, "chromium", "chromium-browser", "google-chrome"].filter(Boolean);
  for (const name of names) {
    const found = spawnSync("sh", ["-c", `command -v "${name}"`], { encoding: "utf8" }).stdout.trim();
    if (found) return found;
  }
  return null;
}

const CHROMIUM = LIVE ? findChromium() : null;

const PAGE = `<!doctype html><meta charset="utf-8"><title>sdk</title>
<script type="module">
import { SkirmishClient, SnapshotBuffer, interpolateRows } from "/sdk/skirmish.js";
const report = (body) => fetch("/report", { method: "POST", body: JSON.stringify(body) });
try {
  const clients = [new SkirmishClient(), new SkirmishClient()];
  await Promise.all(clients.map((c, i) => c.guest("web" + i)));
  const accesses = await Promise.all(clients.map((c) => c.queue("arena")));
  const buffer = new SnapshotBuffer();
  let drawn = 0;
  const sessions = clients.map((c, i) => {
    const s = c.connect(accesses[i], { pingIntervalMs: 500 });
    s.on("snapshot", (snap) => {
      if (i === 0) {
        buffer.push(snap, performance.now());
        const rows = buffer.view(performance.now(), (a, b, t) => interpolateRows(a.players, b.players, t, { fields: [1, 2] }));
        if (rows && rows.length === 2) drawn++;
      }
      const a = Math.random() * 2 * Math.PI;
      s.sendInput({ dx: Math.cos(a), dy: Math.sin(a), aim: a, fire: Math.random() < 0.3 });
    });
    return s;
  });
  const closed = await Promise.all(sessions.map((s) => s.done));
  report({
    ok: true,
    codes: closed.map((c) => c.code),
    winners: closed.map((c) => c.result && c.result.winner),
    reasons: closed.map((c) => c.result && c.result.reason),
    inputs: sessions.map((s) => s.stats.inputs),
    rtts: sessions.map((s) => s.rtt),
    drawn,
    userAgent: navigator.userAgent,
  });
} catch (err) {
  report({ ok: false, error: String(err && err.stack || err) });
}
</script>`;

/** Same origin for the page, /sdk/ (src/ as static files) and the API (proxied). */
function startFrontend(apiUrl, onReport) {
  const api = new URL(apiUrl);
  const server = http.createServer((req, res) => {
    if (req.url === "/page.html") {
      res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
    } else if (req.url === "/report") {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        res.writeHead(204).end();
        onReport(JSON.parse(body));
      });
    } else if (req.url.startsWith("/sdk/")) {
      const file = path.join(SDK_DIR, "src", path.basename(req.url));
      try {
        res.writeHead(200, { "content-type": "text/javascript" }).end(readFileSync(file));
      } catch {
        res.writeHead(404).end();
      }
    } else {
      const upstream = http.request(
        { host: api.hostname, port: api.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", () => res.writeHead(502).end());
      req.pipe(upstream);
    }
  });
  server.on("upgrade", (req, socket, head) => {
    const up = net.connect(Number(api.port), api.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        if (req.rawHeaders[i].toLowerCase() === "origin") continue; // same origin for the API
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      }
      up.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    const end = () => {
      socket.destroy();
      up.destroy();
    };
    up.on("error", end);
    socket.on("error", end);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe("in a browser", { skip: (!LIVE && "SKIRMISH_LIVE=0") || (!CHROMIUM && "no Chromium installed") }, () => {
  let api;
  let frontend;
  let browser;
  let profile;

  before(async () => {
    api = await startServer({
      SKIRMISH_MATCH_TARGET_SIZE: "2",
      SKIRMISH_MATCHER_INTERVAL_SECONDS: "0.1",
      SKIRMISH_ARENA_TIME_LIMIT_SECONDS: "3",
      SKIRMISH_ARENA_SCORE_LIMIT: "1000",
    });
  });
  after(async () => {
    if (browser) {
      // SIGTERM first: Chromium then ends (and reaps) its own helpers; the group after.
      const exited = new Promise((resolve) => browser.once("exit", resolve));
      if (browser.exitCode === null && browser.signalCode === null) {
        browser.kill("SIGTERM");
        let timer;
        await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 3000)))]);
        clearTimeout(timer);
      }
      try {
        process.kill(-browser.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    if (frontend) {
      frontend.closeAllConnections();
      frontend.close();
    }
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (api) await api.stop();
  });

  test("two clients in one page play a match to its result", async () => {
    let resolveReport;
    const reported = new Promise((resolve) => (resolveReport = resolve));
    frontend = await startFrontend(api.url, resolveReport);
    const url = `http://127.0.0.1:${frontend.address().port}/page.html`;
    profile = mkdtempSync(path.join(os.tmpdir(), "sdk-chromium-"));
    browser = spawn(
      CHROMIUM,
      ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", `--user-data-dir=${profile}`, url],
      { stdio: "ignore", detached: true },
    );
    const report = await within(25000, reported, "the page's report");
    assert.equal(report.ok, true, report.error);
    assert.deepEqual(report.codes, [1000, 1000]);
    assert.equal(report.winners[0], report.winners[1]);
    assert.deepEqual(report.reasons, ["time_limit", "time_limit"]);
    assert.ok(report.inputs.every((n) => n > 30), `inputs ${report.inputs}`);
    assert.ok(report.rtts.every((r) => typeof r === "number" && r >= 0), `rtts ${report.rtts}`);
    assert.ok(report.drawn > 30, `interpolated frames ${report.drawn}`);
  });
});
