"""The browser client plays capture the flag in real headless Chromium, 2v2 with bots.

Signs in as a guest, picks ctf, clicks Quick match while three bots (`run_bot`, in a
thread of their own) queue for ctf too, and plays the first seconds of the match: the
ctf renderer draws the field, the scoreboard shows the teams, held keys become inputs the
server applies (we move, sprinting drains stamina) and acknowledges. A ctf match lasts
five minutes: the test leaves it early. Chromium is Debian's; nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from game.modes import CtfMode, CtfRules
from skirmish.sdk.bot import run_bot
from tests.e2e.conftest import FAST_MATCH_ENV
from tests.e2e.test_browser import (
    CANVAS_HASH_JS,
    chromium_page,
    chromium_path,
    debug_state,
    wait_phase,
)
from tests.support.processes import ServerProcess, skirmish_server

# A group forms only at the full four (ctf's size here), never early as a 1v1 while the
# bots are still signing in; then the match starts as soon as all four are connected. The
# match is the real ctf with a 40 s time limit (`short_ctf`, which the server loads
# through SKIRMISH_MODES like any plug-in mode), so the page reaches the result.
CTF_ENV = {
    **FAST_MATCH_ENV,
    "SKIRMISH_MATCH_FILL_SECONDS": "30",
    "SKIRMISH_MODES": "arena,tests.e2e.test_browser_ctf:short_ctf",
    "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
}
BOTS = 3


def short_ctf() -> CtfMode:
    return CtfMode(CtfRules(time_limit_seconds=40))


@pytest.fixture
def ctf_server(tmp_path: Path) -> Iterator[ServerProcess]:
    with skirmish_server(tmp_path, CTF_ENV) as server:
        yield server


class Bots:
    """`run_bot(mode="ctf")` players on an event loop in a thread, until stopped."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.names = [f"ctf-bot-{i + 1}" for i in range(count)]
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: list[asyncio.Task[list[dict[str, Any]]]] = []
        self.errors: list[str] = []
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ctf-bots", daemon=True)

    def start(self) -> None:
        self.thread.start()
        assert self.started.wait(10), "the bots' event loop did not start"

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by the test, not by the thread
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.started.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.tasks = [
            asyncio.create_task(run_bot(self.url, name, mode="ctf", rng_seed=i))
            for i, name in enumerate(self.names)
        ]
        self.started.set()
        outcomes = await asyncio.gather(*self.tasks, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, asyncio.CancelledError
            ):
                self.errors.append(f"{type(outcome).__name__}: {outcome}")

    def stop(self) -> None:
        loop = self.loop
        if loop is not None and self.thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                for task in self.tasks:
                    loop.call_soon_threadsafe(task.cancel)
        self.thread.join(20)


@dataclass
class Observed:
    ticks: list[int] = field(default_factory=list)
    snapshots: list[int] = field(default_factory=list)
    acks: list[int] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    xs: list[float] = field(default_factory=list)
    stamina: list[float] = field(default_factory=list)
    drawn: list[int] = field(default_factory=list)
    fog: list[int] = field(default_factory=list)
    canvas: set[int] = field(default_factory=set)


def observe(page: Any, seen: Observed, seconds: float) -> None:
    """Sample the page's state and canvas every 100 ms for a while."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = debug_state(page)
        assert state["phase"] == "playing", state
        seen.ticks.append(state["lastTick"])
        seen.snapshots.append(state["snapshotsReceived"])
        seen.acks.append(state["ack"])
        seen.seqs.append(state["seq"])
        seen.drawn.append(state["playersDrawn"])
        seen.fog.append(state["fogHoles"])
        if state["self"]:
            seen.xs.append(state["self"]["x"])
        if state["stamina"] is not None:
            seen.stamina.append(state["stamina"])
        seen.canvas.add(page.evaluate(CANVAS_HASH_JS))
        page.wait_for_timeout(100)


def hold(page: Any, held: set[str], wanted: set[str]) -> set[str]:
    for key in held - wanted:
        page.keyboard.up(key)
    for key in wanted - held:
        page.keyboard.down(key)
    return wanted


def run_for_the_flag(page: Any, slot: int, timeout_s: float) -> dict[str, Any] | None:
    """Walk to the enemy flag until we carry it or an enemy tags us (in their half, one
    of the two must happen soon); returns the page's state then, None if a teammate bot
    took the flag from its base first (it then is not ours to take)."""
    held: set[str] = set()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            state = debug_state(page)
            me = next((p for p in state["players"] if p["slot"] == slot), None)
            if me is None or me["carrying"] or me["jailed"]:
                return state
            flag = next(
                (f for f in state["flags"] if f["team"] != slot % 2 and f["status"] == "home"),
                None,
            )
            if flag is None:
                return None
            dx, dy = flag["x"] - me["x"], flag["y"] - me["y"]
            wanted = {"KeyD"} if dx > 8 else {"KeyA"} if dx < -8 else set()
            wanted |= {"KeyS"} if dy > 8 else {"KeyW"} if dy < -8 else set()
            held = hold(page, held, wanted)
            page.wait_for_timeout(40)
        raise AssertionError(f"neither took the flag nor was tagged: {debug_state(page)}")
    finally:
        hold(page, held, set())


def option_texts(page: Any, select: str) -> dict[str, str]:
    texts: dict[str, str] = page.eval_on_selector_all(
        f"{select} option", "(os) => Object.fromEntries(os.map((o) => [o.value, o.textContent]))"
    )
    return texts


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.timeout(90)
def test_ctf_quick_match_with_three_bots_in_chromium(
    ctf_server: ServerProcess, tmp_path: Path
) -> None:
    chromium_path()  # fails at once, and clearly, without a browser
    bots = Bots(ctf_server.url, BOTS)
    page_errors: list[str] = []

    def context() -> str:
        return (
            f"\n--- page errors ---\n{page_errors}\n--- bot errors ---\n{bots.errors}"
            f"\n--- server log ---\n{ctf_server.log()[-4000:]}"
        )

    try:
        with chromium_page(ctf_server.url, "browser-ctf", page_errors) as page:
            # both pickers offer every mode the server has, the lobby's with its range
            page.wait_for_function(
                "[...document.querySelectorAll('#mode option')].some((o) => o.value === 'ctf')",
                timeout=10_000,
            )
            assert set(option_texts(page, "#mode")) == {"arena", "ctf"}
            lobby_modes = option_texts(page, "#lobby-form-mode")
            assert set(lobby_modes) == {"arena", "ctf"}, lobby_modes
            assert "2–4 players" in lobby_modes["ctf"], lobby_modes
            assert "2–10 players" in lobby_modes["arena"], lobby_modes

            page.select_option("#mode", "ctf")
            assert "2–4 players" in page.inner_text("#mode-info")
            # the lobby form follows: ctf lobbies hold two equal teams
            assert page.input_value("#lobby-form-mode") == "ctf"
            assert list(option_texts(page, "#lobby-max")) == ["2", "4"]

            page.click("#quick")
            wait_phase(page, ["searching", "playing"], 10)
            bots.start()
            try:
                wait_phase(page, ["playing"], 30)
                page.wait_for_function(
                    "window.skirmishDebug.state().status === 'running'",
                    timeout=20_000,
                    polling=100,
                )
            except Exception as exc:
                raise AssertionError(f"never played: {debug_state(page)}{context()}") from exc

            state = debug_state(page)
            info = f"{state}{context()}"
            assert state["mode"] == "ctf", info
            slot = state["mySlot"]
            assert slot in range(4), info
            assert state["team"] == slot % 2, info
            assert page.get_attribute("#arena", "data-mode") == "ctf"
            assert page.text_content("#feed-title") == "Events"
            assert "Shift" in page.inner_text("#help")
            # the scoreboard shows the teams, each with its two players
            page.wait_for_function(
                "document.querySelectorAll('#scoreboard li.member').length === 4", timeout=5_000
            )
            assert page.locator("#scoreboard li.team").count() == 2
            mine = page.locator(f"#scoreboard li.team[data-team='{slot % 2}']").inner_text()
            assert "your team" in mine, mine
            assert re.fullmatch(r"\d+ – \d+", page.inner_text("#hud-score")), info

            # standing still for a moment, then sprinting towards the middle: in our own
            # half, so nobody can tag us
            seen = Observed()
            observe(page, seen, 1.0)
            still = Observed(xs=list(seen.xs), acks=list(seen.acks))
            towards_middle = "KeyD" if slot % 2 == 0 else "KeyA"
            page.keyboard.down("Shift")
            page.keyboard.down(towards_middle)
            try:
                observe(page, seen, 1.5)
            finally:
                page.keyboard.up(towards_middle)
                page.keyboard.up("Shift")
            observe(page, seen, 0.3)

            final = debug_state(page)
            info = f"seen={seen}\nfinal={final}{context()}"
            # snapshots flow at 20 Hz, every one drawn over the fog of our two players
            assert seen.ticks[-1] > seen.ticks[0], info
            assert seen.snapshots[-1] - seen.snapshots[0] >= 25, info
            assert max(seen.drawn) >= 2, info
            assert max(seen.fog) == 2, info
            assert len(seen.canvas) >= 5, info
            # our inputs reach the server: it acknowledges ever later ones
            assert seen.seqs[-1] - seen.seqs[0] >= 25, info
            assert seen.acks[-1] - seen.acks[0] >= 25, info
            assert seen.acks[-1] <= seen.seqs[-1], info
            # and applies them: we moved towards the middle, sprinting
            assert max(still.xs) - min(still.xs) < 1, info
            moved = seen.xs[-1] - seen.xs[0]
            assert (moved if slot % 2 == 0 else -moved) > 200, info
            assert min(seen.stamina) < 80, info
            assert final["serverErrors"] == 0, info

            # into the enemy half: we take their flag (and carry it), or they tag us (and
            # we sit in jail); either way the page tells
            ran = run_for_the_flag(page, slot, timeout_s=15)
            if ran is not None:  # (rarely, a teammate bot was quicker)
                me = next(p for p in ran["players"] if p["slot"] == slot)
                news = "took the" if me["carrying"] else "tagged"
                page.wait_for_function(
                    "(news) => document.getElementById('killfeed').textContent.includes(news)",
                    arg=news,
                    timeout=3_000,
                )
                assert debug_state(page)["notices"] >= 1, f"{ran}{context()}"
                if me["carrying"]:
                    flag = next(f for f in ran["flags"] if f["team"] != slot % 2)
                    assert flag["status"] == "carried", ran
            shot = tmp_path / "ctf.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000

            # the match ends at its time limit (or three captures): the result screen names
            # the winning team, or a draw, with a row per player
            wait_phase(page, ["result"], 45)
            title = page.inner_text("#result-title")
            assert "win" in title.lower() or "draw" in title.lower(), title
            result = debug_state(page)["result"]
            assert result is not None and result["reason"] in ("capture_limit", "time_limit")
            assert page.locator("#result-table tbody tr").count() == 4
            page.screenshot(path=str(tmp_path / "ctf-result.png"))
            assert not page_errors, context()

            page.click("#leave")
            wait_phase(page, ["menu"], 10)
    finally:
        bots.stop()
    assert not bots.thread.is_alive(), "the bots did not stop"
    assert not bots.errors, context()
