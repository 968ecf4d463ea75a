"""The browser client in real headless Chromium against a real server and a real bot.

Signs in as a guest, clicks Quick match while `skirmish bot` queues too, plays the short
match of the `live_server` fixture (aiming at the bot and firing) and waits for the result.
Chromium is Debian's (/usr/bin/chromium); nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SKIRMISH = str(Path(sys.executable).with_name("skirmish"))
README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"

# A cheap fingerprint of what the canvas shows: scaled down to 64×64, then summed.
CANVAS_HASH_JS = """() => {
  const src = document.getElementById("arena");
  if (!src.width || !src.height) return 0;
  const small = document.createElement("canvas");
  small.width = small.height = 64;
  const ctx = small.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(src, 0, 0, 64, 64);
  const data = ctx.getImageData(0, 0, 64, 64).data;
  let h = 0;
  for (let i = 0; i < data.length; i += 4) {
    h = (h * 31 + data[i] * 3 + data[i + 1] * 5 + data[i + 2] * 7) % 1000000007;
  }
  return h;
}"""

MOVE_KEYS = {"up": "KeyW", "down": "KeyS", "left": "KeyA", "right": "KeyD"}


def chromium_path() -> str:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        found = shutil.which("chromium")
        if not found:
            pytest.fail(
                f"Chromium not found at {CHROMIUM} nor on PATH: install Debian's package "
                "(apt-get install chromium); this test never downloads a browser",
                pytrace=False,
            )
        return found
    return str(CHROMIUM)


def debug_state(page: Any) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate("window.skirmishDebug.state()")
    return state


def wait_phase(page: Any, phases: list[str], timeout_s: float) -> None:
    page.wait_for_function(
        "(phases) => phases.includes(window.skirmishDebug.state().phase)",
        arg=phases,
        timeout=timeout_s * 1000,
        polling=100,
    )


@dataclass
class Driver:
    """Plays our player: keeps a distance from the nearest opponent, aims at it, fires."""

    page: Any
    held: set[str] = field(default_factory=set)
    firing: bool = False
    strafe: int = 1

    def hold(self, wanted: set[str]) -> None:
        for key in self.held - wanted:
            self.page.keyboard.up(MOVE_KEYS[key])
        for key in wanted - self.held:
            self.page.keyboard.down(MOVE_KEYS[key])
        self.held = wanted

    def step(self, state: dict[str, Any]) -> None:
        me, slot = state.get("self"), state.get("mySlot")
        foes = [p for p in state["players"] if p["slot"] != slot and p["alive"]]
        if not me or not foes:
            self.hold(set())
            return
        foe = min(foes, key=lambda p: math.hypot(p["x"] - me["x"], p["y"] - me["y"]))
        dx, dy = foe["x"] - me["x"], foe["y"] - me["y"]
        dist = math.hypot(dx, dy) or 1.0
        if dist > 320:  # close in
            vx, vy = dx / dist, dy / dist
        elif dist < 180:  # back off
            vx, vy = -dx / dist, -dy / dist
        else:  # circle around it
            vx, vy = -dy / dist * self.strafe, dx / dist * self.strafe
        if min(me["x"], me["y"]) < 80 or max(me["x"], me["y"]) > 920:
            self.strafe = -self.strafe
        wanted = set()
        if vx > 0.35:
            wanted.add("right")
        if vx < -0.35:
            wanted.add("left")
        if vy > 0.35:
            wanted.add("down")
        if vy < -0.35:
            wanted.add("up")
        self.hold(wanted)
        target = self.page.evaluate(
            "([x, y]) => window.skirmishDebug.toPage(x, y)", [foe["x"], foe["y"]]
        )
        self.page.mouse.move(target["x"], target["y"])
        if not self.firing:
            self.page.mouse.down()
            self.firing = True

    def release(self) -> None:
        self.hold(set())
        if self.firing:
            self.page.mouse.up()
            self.firing = False


@dataclass
class Observed:
    ticks: list[int] = field(default_factory=list)
    snapshots: list[int] = field(default_factory=list)
    drawn: list[int] = field(default_factory=list)
    positions: set[tuple[Any, ...]] = field(default_factory=set)
    canvas: set[int] = field(default_factory=set)
    scores: set[tuple[Any, ...]] = field(default_factory=set)
    screenshot: Path | None = None


def good_moment(state: dict[str, Any], running_for: float) -> bool:
    """Worth a screenshot: everybody alive and on screen, shots in the air, some score."""
    if state["playersDrawn"] < 2 or running_for < 1.5:
        return False
    everybody_alive = all(p["alive"] for p in state["players"])
    scored = any(s["score"] for s in state["scores"])
    if running_for > 5.0:
        return everybody_alive
    return everybody_alive and state["shots"] > 0 and scored


@contextlib.contextmanager
def chromium_page(url: str, name: str, page_errors: list[str]) -> Iterator[Any]:
    """Headless Chromium on the client at `url`, signed in as a guest `name`, on the menu;
    uncaught page errors go to `page_errors`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.goto(f"{url}/")
            wait_phase(page, ["signin"], 10)
            page.fill("#name", name)
            page.click("#signin")
            wait_phase(page, ["menu"], 10)
            yield page
        finally:
            browser.close()


def play_until_result(page: Any, tmp_path: Path, timeout_s: float) -> Observed:
    """Drive the match, sampling the debug state and canvas, until the result screen."""
    seen = Observed()
    driver = Driver(page)
    running_since: float | None = None
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            state = debug_state(page)
            if state["phase"] != "playing":
                break
            if state["status"] == "running":
                running_since = running_since or time.monotonic()
                driver.step(state)
                seen.ticks.append(state["lastTick"])
                seen.snapshots.append(state["snapshotsReceived"])
                seen.drawn.append(state["playersDrawn"])
                seen.positions.add(tuple((p["slot"], p["x"], p["y"]) for p in state["players"]))
                seen.scores.add(tuple(s["score"] for s in state["scores"]))
                seen.canvas.add(page.evaluate(CANVAS_HASH_JS))
                if seen.screenshot is None and good_moment(state, time.monotonic() - running_since):
                    seen.screenshot = tmp_path / "playing.png"
                    page.screenshot(path=str(seen.screenshot))
            page.wait_for_timeout(100)
    finally:
        driver.release()
    return seen


def start_bot(url: str, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [SKIRMISH, "bot", "--url", url, "--players", "1"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop_bot(bot: subprocess.Popen[bytes]) -> None:
    if bot.poll() is None:
        bot.terminate()
        try:
            bot.wait(10)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait()


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.timeout(150)
def test_quick_match_against_bot_in_chromium(live_server: ServerProcess, tmp_path: Path) -> None:
    chromium_path()  # fails at once, and clearly, without a browser
    bot_log = tmp_path / "bot.log"
    bot: subprocess.Popen[bytes] | None = None
    page_errors: list[str] = []

    def context() -> str:
        bot_text = bot_log.read_text(errors="replace")[-3000:] if bot_log.exists() else ""
        return (
            f"\n--- page errors ---\n{page_errors}\n--- bot log ---\n{bot_text}"
            f"\n--- server log ---\n{live_server.log()[-4000:]}"
        )

    try:
        with chromium_page(live_server.url, "browser-ada", page_errors) as page:
            page.click("#quick")
            wait_phase(page, ["searching", "playing"], 10)
            assert page.is_visible("#cancel") or debug_state(page)["phase"] == "playing"
            bot = start_bot(live_server.url, bot_log)

            try:
                wait_phase(page, ["playing"], 30)
            except Exception as exc:
                raise AssertionError(f"never matched: {debug_state(page)}{context()}") from exc
            page.wait_for_function(
                "window.skirmishDebug.state().status === 'running'", timeout=20_000, polling=100
            )

            seen = play_until_result(page, tmp_path, timeout_s=40)

            # the match really ran in the browser: ticks advance, snapshots flow, both
            # players drawn, something moves, the canvas changes
            info = f"seen={seen}{context()}"
            assert len(seen.ticks) >= 10, info
            assert seen.ticks[-1] > seen.ticks[0], info
            assert seen.snapshots[-1] - seen.snapshots[0] >= 20, info
            assert max(seen.drawn) >= 2, info
            assert len(seen.positions) >= 5, info
            assert len(seen.canvas) >= 5, info

            # and ended on the result screen with a winner or a draw
            wait_phase(page, ["result"], 15)
            assert page.is_visible("#result")
            title = page.inner_text("#result-title")
            assert "win" in title.lower() or title == "Draw", title
            final = debug_state(page)
            result = final["result"]
            assert result is not None, final
            assert result["reason"] in ("score_limit", "time_limit"), result
            assert len(result["players"]) >= 2, result
            assert page.locator("#result-table tbody tr").count() == len(result["players"])
            assert page.locator("#scoreboard li").count() >= 2
            if result["reason"] == "score_limit" or len(seen.scores) > 1:
                assert any(p["score"] > 0 for p in result["players"]), result
            page.screenshot(path=str(tmp_path / "result.png"))
            if os.environ.get("SKIRMISH_UPDATE_SCREENSHOT") == "1":
                best = seen.screenshot or tmp_path / "result.png"
                README_SCREENSHOT.write_bytes(best.read_bytes())
            assert not page_errors, context()
    finally:
        if bot is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                bot.wait(20)  # it plays one match and leaves
            stop_bot(bot)
    assert bot is not None
    assert bot.returncode == 0, f"bot exited with {bot.returncode}{context()}"


HTML_SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser")


def test_the_page_never_renders_strings_as_html() -> None:
    """Server-provided strings (names, lobby names, error messages, settings' descriptions)
    become text only: no script of the page uses an HTML sink."""
    static = Path(__file__).resolve().parents[2] / "api" / "static"
    scripts = sorted(static.glob("*.js"))
    assert len(scripts) >= 5, scripts
    for script in scripts:
        text = script.read_text()
        for sink in HTML_SINKS:
            assert sink not in text, f"{script.name} uses {sink}"
