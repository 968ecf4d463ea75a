"""Watching a match in the browser client, in real headless Chromium against a real server.

Tab A creates a lobby whose match only watch-link holders may watch; a bot (the Python
SDK, in a thread) joins and readies; A starts and plays, and its match screen shows the
watch link (with the match's watch code). Tab B, another guest, opens that link: it
watches the match live through the arena's renderer, its canvas moving, a bar over the
field saying it is live and 2 s behind (and it is: its ticks trail the player's), and how
many watch (the player sees the count too). At the end B shows the result; its "Watch
replay" plays the recording (at ×8, chosen on the bar) to a result screen with the
winner the API recorded. From the menu, the match id without its code is refused; the
link opened by someone not signed in plays once they sign in; the player's own result
screen replays the match too. Chromium is Debian's; nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skirmish.sdk import SkirmishClient
from skirmish.sdk.bot import play_match
from tests.e2e.conftest import FAST_MATCH_ENV
from tests.e2e.test_browser import CANVAS_HASH_JS, chromium_path, debug_state, wait_phase
from tests.e2e.test_browser_settings import api, two_tabs, wait_for
from tests.support.processes import ServerProcess, skirmish_server

DELAY_S = 2  # the server's default spectator delay, said as such on the bar
ENV = {
    **FAST_MATCH_ENV,
    "SKIRMISH_ARENA_TIME_LIMIT_SECONDS": "5",
    "SKIRMISH_SPECTATOR_DELAY_SECONDS": str(DELAY_S),
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with skirmish_server(tmp_path, ENV) as process:
        yield process


class LobbyBot:
    """A Python SDK player on an event loop in a thread: joins the lobby, readies, plays the
    match to its result."""

    def __init__(self, url: str, lobby_id: str) -> None:
        self.url = url
        self.lobby_id = lobby_id
        self.result: dict[str, Any] | None = None
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, name="lobby-bot", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            asyncio.run(self._play())
        except BaseException as exc:  # reported by the test, not by the thread
            self.errors.append(f"{type(exc).__name__}: {exc}")

    async def _play(self) -> None:
        async with SkirmishClient(self.url) as client:
            await client.guest("bot-bob")
            await client.join_lobby(self.lobby_id)
            await client.set_ready(self.lobby_id, True)
            access = await client.wait_lobby_started(self.lobby_id, timeout=20)
            self.result = await play_match(client, access, random.Random(7))


def text(page: Any, selector: str) -> str:
    content: str = page.inner_text(selector)
    return content


def start_watched_match(player: Any, url: str) -> tuple[LobbyBot, str, str]:
    """Tab A's lobby (watch-link holders only), the bot in it, the match started: the bot,
    the match id and the watch link A's match screen shows."""
    player.select_option("#lobby-spectators", "link")
    player.fill("#lobby-name", "watched lobby")
    player.click("#lobby-create")
    wait_phase(player, ["lobby"], 10)
    bot = LobbyBot(url, debug_state(player)["lobbyId"])
    bot.start()
    wait_for(player, "() => document.querySelectorAll('#lobby-members .badge.ok').length === 1")
    player.click("#lobby-ready")
    wait_for(player, "() => !document.getElementById('lobby-start').disabled")
    player.click("#lobby-start")
    wait_phase(player, ["playing"], 10)
    wait_for(player, "() => !!window.skirmishDebug.state().watchLink")
    return bot, debug_state(player)["matchId"], player.input_value("#watch-link")


def sample_live_view(watcher: Any, player: Any) -> dict[str, Any]:
    """About a second of the live view: canvas fingerprints, players drawn, and how many
    ticks the view trails the player's."""
    canvas, lags, drawn = set(), [], []
    for _ in range(12):
        behind, ahead = debug_state(watcher), debug_state(player)
        if behind["phase"] != "watching" or ahead["status"] != "running":
            break
        canvas.add(watcher.evaluate(CANVAS_HASH_JS))
        lags.append(ahead["lastTick"] - behind["lastTick"])
        drawn.append(behind["playersDrawn"])
        watcher.wait_for_timeout(100)
    return {"canvas": len(canvas), "lags": lags, "drawn": drawn}


def bot_result(bot: LobbyBot) -> dict[str, Any] | None:
    deadline = time.monotonic() + 10
    while bot.result is None and not bot.errors and time.monotonic() < deadline:
        time.sleep(0.1)
    return bot.result


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.timeout(60)
def test_watch_a_match_live_then_its_replay_in_chromium(server: ServerProcess) -> None:
    chromium_path()  # fails at once, and clearly, without a browser
    errors: list[str] = []
    bots: list[LobbyBot] = []

    def context() -> str:
        return (
            f"\n--- page errors ---\n{errors}\n--- bot ---\n{[b.errors for b in bots]}"
            f"\n--- server log ---\n{server.log()[-4000:]}"
        )

    with two_tabs(server.url, errors) as (player, watcher):
        # A plays; its match screen shows the watch link, with the match's watch code
        bot, match_id, link = start_watched_match(player, server.url)
        bots.append(bot)
        prefix = f"{server.url}/#watch={match_id}."
        assert link.startswith(prefix) and len(link) > len(prefix) + 8, link

        # B opens it: the live view, behind the match by the delay, and says so
        watcher.goto(link)
        wait_phase(watcher, ["watching"], 10)
        wait_for(watcher, "() => window.skirmishDebug.state().snapshotsReceived > 0", None, 8)
        state = debug_state(watcher)
        assert state["spectating"] and state["watch"]["live"] is True, state
        assert state["mySlot"] is None
        bar = text(watcher, "#watch-state")
        assert "Live" in bar and f"{DELAY_S} s behind" in bar, bar
        wait_for(
            watcher, "() => /\\d+ watching/.test(document.getElementById('watch-count').innerText)"
        )
        seen = sample_live_view(watcher, player)
        info = f"{seen}{context()}"
        assert len(seen["lags"]) >= 5, info
        assert seen["canvas"] >= 4, info  # the field moves
        assert max(seen["drawn"]) == 2, info  # both players: the whole field
        # 30 ticks a second: 2 s behind is 60 ticks, give or take a snapshot and the pacing
        assert 40 <= sorted(seen["lags"])[len(seen["lags"]) // 2] <= 80, info
        assert watcher.is_hidden("#help")  # no controls to explain
        wait_for(player, "() => window.skirmishDebug.state().watchers >= 1")

        # the live view ends with the players' result
        wait_phase(watcher, ["result"], 15)
        result = debug_state(watcher)["result"]
        played = bot_result(bot)
        assert played is not None, context()
        assert (result["winner"], result["reason"]) == (played["winner"], played["reason"])
        assert watcher.is_visible("#watch-replay") and watcher.is_hidden("#again")
        names = {p["player_id"]: p["name"] for p in result["players"]}
        title = text(watcher, "#result-title")
        assert title == (f"{names[result['winner']]} wins" if result["winner"] else "Draw")

        # the replay: the recording, sped up to ×8 on the bar, to the recorded result
        watcher.click("#watch-replay")
        wait_for(watcher, "() => document.getElementById('watch-state').innerText === 'Replay ×1'")
        assert debug_state(watcher)["watch"]["live"] is False
        watcher.select_option("#watch-speed", "8")
        wait_for(watcher, "() => document.getElementById('watch-state').innerText === 'Replay ×8'")
        wait_phase(watcher, ["result"], 10)
        replayed = debug_state(watcher)["result"]
        with api(server.url) as rest:
            recorded = rest.get(f"/v1/matches/{match_id}").json()["result"]
        assert replayed["replayed"] is True, replayed
        assert (replayed["winner"], replayed["reason"]) == (recorded["winner"], recorded["reason"])
        assert text(watcher, "#result-title") == title
        assert "replay" in text(watcher, "#result-reason")
        assert "Rating" not in text(watcher, "#result-table thead")

        # from the menu, the match id alone does not open a `link` match: the code is needed
        watcher.click("#back-menu")
        wait_phase(watcher, ["menu"], 5)
        assert watcher.evaluate("location.hash") == ""
        watcher.fill("#watch-input", match_id)
        watcher.click("#watch-go")
        wait_for(watcher, "() => !document.getElementById('error').hidden")
        assert "may not watch" in text(watcher, "#error-text")
        wait_phase(watcher, ["menu"], 5)

        # a link opened by someone not signed in: sign in first, then it plays
        newcomer = player.context.browser.new_context().new_page()
        newcomer.on("pageerror", lambda exc: errors.append(f"newcomer: {exc}"))
        newcomer.goto(link)
        wait_phase(newcomer, ["signin"], 10)
        assert "watch" in text(newcomer, "#signin-note")
        newcomer.fill("#name", "late-carol")
        newcomer.click("#signin")
        wait_phase(newcomer, ["watching"], 10)
        wait_for(newcomer, "() => window.skirmishDebug.state().snapshotsReceived > 0")
        assert debug_state(newcomer)["watch"]["live"] is False
        newcomer.context.close()

        # the player's own result screen offers the replay too
        wait_phase(player, ["result"], 5)
        player.click("#watch-replay")
        wait_for(player, "() => document.getElementById('watch-state').innerText === 'Replay ×1'")
        player.select_option("#watch-speed", "16")
        wait_for(player, "() => document.getElementById('watch-state').innerText === 'Replay ×16'")
        wait_phase(player, ["result"], 10)
        assert debug_state(player)["result"]["replayed"] is True
        assert text(player, "#result-title") == title
        assert not errors, context()
