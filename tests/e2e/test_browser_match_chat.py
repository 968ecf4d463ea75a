"""Chat inside a match in the browser client, in real Chromium: two tabs (each its own
guest) quick-match into one arena match against a real server. Keys typed into the chat
box (WASD, arrows, space) are text there and never move the player, while the same key
on the field does; a line with markup sent from one tab shows in both as typed, as text;
the other tab answers by opening the chat box with Enter on the field; an operator's
announcement shows on both match screens. Nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import FAST_MATCH_ENV
from tests.e2e.test_browser import chromium_path, debug_state, wait_phase
from tests.e2e.test_browser_settings import two_tabs, wait_for
from tests.support.processes import ServerProcess, skirmish_server

ADMIN = "admin-secret-0123456789abcdef0123456789"
# the match must outlast the test: nobody fires, and it is left running at the end
ENV = {**FAST_MATCH_ENV, "SKIRMISH_ARENA_TIME_LIMIT_SECONDS": "60", "SKIRMISH_ADMIN_TOKEN": ADMIN}

LOG_TEXTS = (
    "() => [...document.querySelectorAll('#match-chat-log .chat-text')].map((n) => n.textContent)"
)
FOCUSED = "() => document.activeElement && document.activeElement.id"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with skirmish_server(tmp_path, ENV) as process:
        yield process


def wait_line(page: Any, text: str) -> None:
    wait_for(page, f"(t) => ({LOG_TEXTS})().includes(t)", text)


def position(page: Any) -> tuple[float, float]:
    me = debug_state(page)["self"]
    assert me is not None, debug_state(page)
    return me["x"], me["y"]


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.timeout(60)
def test_two_players_chat_in_a_match_in_chromium(server: ServerProcess) -> None:
    chromium_path()  # fails at once, and clearly, without a browser
    errors: list[str] = []

    def context() -> str:
        return f"\n--- page errors ---\n{errors}\n--- server log ---\n{server.log()[-4000:]}"

    with two_tabs(server.url, errors) as (a, b):
        for page in (a, b):
            page.click("#quick")
        for page in (a, b):
            wait_phase(page, ["playing"], 15)
            wait_for(page, "() => window.skirmishDebug.state().status === 'running'")
        match_id = debug_state(a)["matchId"]
        assert match_id and debug_state(b)["matchId"] == match_id, context()
        for page in (a, b):
            assert page.is_visible("#match-chat-input")
            assert not page.is_visible("#match-chat-team-box")  # the arena has no teams

        # keys typed into the chat box are text: the player stays where it is
        a.click("#match-chat-input")
        before = position(a)
        a.keyboard.type("wasd ")
        for key in ("ArrowUp", "ArrowLeft", "Space"):
            a.keyboard.press(key)
        a.keyboard.down("KeyD")
        a.wait_for_timeout(600)  # ~18 ticks: a held D on the field would have moved us
        a.keyboard.up("KeyD")
        a.wait_for_timeout(200)
        assert position(a) == before, f"typing moved the player{context()}"
        # the arrows moved the caret to the start, where the space and the d went
        assert a.input_value("#match-chat-input") == " dwasd "
        assert a.evaluate(FOCUSED) == "match-chat-input"

        # a line with markup: sent with Enter, shown in both tabs literally, as text
        markup = "<b>gg</b> <img src=x onerror=window.pwned=1>"
        a.fill("#match-chat-input", markup)
        a.keyboard.press("Enter")
        for page in (a, b):
            wait_line(page, markup)
        assert a.input_value("#match-chat-input") == ""
        assert a.evaluate(FOCUSED) == "arena", "sending goes back to the field"
        line = b.locator("#match-chat-log li.chat-line").last
        assert line.locator(".chat-name").inner_text() == "host-ada"
        for page in (a, b):
            assert page.locator("#match-chat-log b, #match-chat-log img").count() == 0
            assert page.evaluate("() => window.pwned === undefined")

        # the field has the keys again: the same D (or A, away from the wall) moves us
        x0 = position(a)[0]
        key = "KeyD" if x0 < 500 else "KeyA"
        a.keyboard.down(key)
        wait_for(a, "(x) => Math.abs(window.skirmishDebug.state().self.x - x) > 20", x0, 5)
        a.keyboard.up(key)

        # B opens the chat box with Enter on the field and answers
        b.focus("#arena")
        b.keyboard.press("Enter")
        assert b.evaluate(FOCUSED) == "match-chat-input"
        b.keyboard.type("hi ada")
        b.keyboard.press("Enter")
        for page in (a, b):
            wait_line(page, "hi ada")
            assert page.evaluate(LOG_TEXTS) == [markup, "hi ada"]
        assert b.locator("#match-chat-log li.chat-line.mine .chat-name").inner_text() == "guest-bob"

        # an operator's word shows on both match screens
        resp = httpx.post(
            f"{server.url}/admin/announce",
            json={"text": "server restarts at noon"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert resp.status_code == 200, resp.text
        for page in (a, b):
            wait_for(
                page,
                "() => [...document.querySelectorAll('#match-chat-log .announcement')]"
                ".some((n) => n.textContent.includes('server restarts at noon'))",
            )
        assert debug_state(a)["matchChatLines"] == 3
        assert not errors, context()
