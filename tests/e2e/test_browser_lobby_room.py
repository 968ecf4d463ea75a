"""A private lobby with its chat in the browser client, in real Chromium: two tabs (each its
own guest) against a real server. Tab A creates a private lobby and sees its code; tab B
joins by the code from the menu; they chat (a line with markup shows literally, as text);
an operator's announcement reaches both; each sees the other's ready mark pushed, without
reloading or polling the lobby; A starts and both land in the same match through the
match access the lobby socket pushed. Nothing is downloaded.
"""

from __future__ import annotations

import re
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
LOBBY_GET = re.compile(r"/v1/lobbies/l_[^/?]+$")  # GET /v1/lobbies/{id}: a poll

CHAT_TEXTS = "(sel) => [...document.querySelectorAll(sel)].map((n) => n.textContent)"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with skirmish_server(tmp_path, {**FAST_MATCH_ENV, "SKIRMISH_ADMIN_TOKEN": ADMIN}) as process:
        yield process


def chat_texts(page: Any) -> list[str]:
    texts: list[str] = page.evaluate(CHAT_TEXTS, "#lobby-chat-log .chat-text")
    return texts


def wait_line(page: Any, text: str) -> None:
    wait_for(page, f"(t) => ({CHAT_TEXTS})('#lobby-chat-log .chat-text').includes(t)", text)


def ready_marks(page: Any) -> int:
    count: int = page.locator("#lobby-members .badge.ok").count()
    return count


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.timeout(90)
def test_private_lobby_chat_and_pushed_ready_in_chromium(server: ServerProcess) -> None:
    chromium_path()  # fails at once, and clearly, without a browser
    errors: list[str] = []
    polls: list[str] = []

    def note_poll(request: Any) -> None:
        if request.method == "GET" and LOBBY_GET.search(request.url):
            polls.append(request.url)

    def context() -> str:
        return f"\n--- page errors ---\n{errors}\n--- server log ---\n{server.log()[-4000:]}"

    with two_tabs(server.url, errors) as (a, b):
        for page in (a, b):
            page.on("request", note_poll)

        # A: a private lobby; its code is shown to its members
        a.check("#lobby-private-check")
        a.fill("#lobby-name", "secret room")
        a.click("#lobby-create")
        wait_phase(a, ["lobby"], 10)
        wait_for(a, "() => window.skirmishDebug.state().lobbyConn === 'open'")
        code = a.inner_text("#lobby-code").strip()
        assert re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", code), code
        assert a.is_visible("#lobby-private")
        lobby_id = debug_state(a)["lobbyId"]

        # B: not in the list; joins with the code, typed in lower case
        b.click("#lobby-refresh")
        wait_for(b, "() => !!document.querySelector('#lobby-list li')")
        assert b.locator(f"#lobby-list li[data-lobby='{lobby_id}']").count() == 0
        b.fill("#lobby-code-input", code.lower())
        b.click("#lobby-code-join")
        wait_phase(b, ["lobby"], 10)
        assert debug_state(b)["lobbyId"] == lobby_id
        assert b.inner_text("#lobby-code").strip() == code
        wait_for(b, "() => window.skirmishDebug.state().lobbyConn === 'open'")
        # A sees B come in, pushed
        wait_for(a, "() => document.querySelectorAll('#lobby-members li').length === 2")

        # chat: B sees A's line, with A's name; markup from B is shown as it was typed
        a.fill("#lobby-chat-input", "hello bob")
        a.press("#lobby-chat-input", "Enter")
        wait_line(b, "hello bob")
        assert a.input_value("#lobby-chat-input") == ""
        line = b.locator("#lobby-chat-log li.chat-line").last
        assert line.locator(".chat-name").inner_text() == "host-ada"
        markup = "<b>bold?</b> <img src=x onerror=window.pwned=1>"
        b.fill("#lobby-chat-input", markup)
        b.click("#lobby-chat-send")
        wait_line(a, markup)
        wait_line(b, markup)
        for page in (a, b):
            assert page.locator("#lobby-chat-log b, #lobby-chat-log img").count() == 0
            assert page.evaluate("() => window.pwned === undefined")
            assert chat_texts(page) == ["hello bob", markup]

        # an operator's word reaches both
        resp = httpx.post(
            f"{server.url}/admin/announce",
            json={"text": "server restarts at noon"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert resp.status_code == 200, resp.text
        for page in (a, b):
            wait_for(
                page,
                "() => [...document.querySelectorAll('#lobby-chat-log .announcement')]"
                ".some((n) => n.textContent.includes('server restarts at noon'))",
            )

        # ready marks: each sees the other's, pushed
        b.click("#lobby-ready")
        wait_for(a, "() => document.querySelectorAll('#lobby-members .badge.ok').length === 1")
        assert a.inner_text("#lobby-ready") == "Ready"  # A's own is not set
        a.click("#lobby-ready")
        wait_for(b, "() => document.querySelectorAll('#lobby-members .badge.ok').length === 2")
        assert ready_marks(a) == 2
        wait_for(a, "() => !document.getElementById('lobby-start').disabled")

        # A starts: both land in the same match, B through the pushed access
        a.click("#lobby-start")
        wait_phase(a, ["playing"], 10)
        wait_phase(b, ["playing"], 10)
        match_id = debug_state(a)["matchId"]
        assert match_id and debug_state(b)["matchId"] == match_id
        wait_for(b, "() => window.skirmishDebug.state().conn === 'open'")
        assert debug_state(b)["lobbyConn"] is None  # the lobby room is over

        assert not polls, f"the lobby view polled: {polls}"
        assert not errors, context()
