"""Per-mode match settings in the browser client, through a whole lobby, in real Chromium.

A host creates an arena lobby with settings of their own through the form the page builds
from the mode's `settings_schema`; a second player (another tab: its own guest) sees them
in the lobby list and the lobby, readies; the host changes one (which clears the ready
marks), both ready, the host starts, and the match plays by those settings: its record
(GET /v1/matches/{id}) has them and it ends at the chosen time limit. On the way, the
socket is broken once: the SDK reconnects and the match goes on. Nothing is downloaded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.test_browser import CHROMIUM_ARGS, chromium_path, debug_state, wait_phase
from tests.support.processes import ServerProcess

FORM = "#lobby-form-settings"
VIEW = "#lobby-settings-fields"


def setting(scope: str, name: str) -> str:
    return f"{scope} [data-setting='{name}']"


def report(errors: list[str], who: str) -> Callable[[Any], None]:
    return lambda exc: errors.append(f"{who}: {exc}")


@contextlib.contextmanager
def two_tabs(url: str, errors: list[str]) -> Iterator[tuple[Any, Any]]:
    """Two pages of one headless Chromium (each its own guest: sessionStorage is per tab),
    signed in as "host-ada" and "guest-bob", on the menu."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            pages = []
            for name in ("host-ada", "guest-bob"):
                page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                page.on("pageerror", report(errors, name))
                page.goto(f"{url}/")
                wait_phase(page, ["signin"], 10)
                page.fill("#name", name)
                page.click("#signin")
                wait_phase(page, ["menu"], 10)
                pages.append(page)
            yield pages[0], pages[1]
        finally:
            browser.close()


@contextlib.contextmanager
def api(url: str) -> Iterator[httpx.Client]:
    """A REST client signed in as a guest of its own (to read lobbies and matches)."""
    with httpx.Client(base_url=url, timeout=5.0) as client:
        token = client.post("/v1/auth/guest", json={"name": "observer"}).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def wait_for(page: Any, script: str, arg: Any = None, timeout_s: float = 10) -> None:
    page.wait_for_function(script, arg=arg, timeout=timeout_s * 1000, polling=100)


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.timeout(120)
def test_lobby_with_chosen_settings_in_chromium(live_server: ServerProcess) -> None:
    chromium_path()  # fails at once, and clearly, without a browser
    errors: list[str] = []

    def context() -> str:
        return f"\n--- page errors ---\n{errors}\n--- server log ---\n{live_server.log()[-4000:]}"

    with api(live_server.url) as rest, two_tabs(live_server.url, errors) as (host, guest):
        # the form offers the arena's settings, from its schema: bounds, defaults (the
        # server's: the live server plays to 3 kills or 8 s), the descriptions as labels
        host.select_option("#lobby-form-mode", "arena")
        wait_for(host, "(sel) => !!document.querySelector(sel)", setting(FORM, "score_limit"))
        score = host.locator(setting(FORM, "score_limit"))
        assert score.get_attribute("type") == "number"
        assert (score.get_attribute("min"), score.get_attribute("max")) == ("1", "1000")
        assert score.input_value() == "3"
        assert host.locator(setting(FORM, "time_limit_seconds")).input_value() == "8"
        labels = host.inner_text(FORM)
        assert "Kills that win the match" in labels and "(1–1000)" in labels, labels
        assert "Seconds until the match ends on time" in labels, labels

        # out of bounds: the form does not submit
        score.fill("0")
        host.click("#lobby-create")
        assert score.evaluate("(input) => input.validity.rangeUnderflow")
        assert debug_state(host)["phase"] == "menu"

        # the host's own settings
        score.fill("7")
        host.fill(setting(FORM, "time_limit_seconds"), "30")
        host.fill("#lobby-name", "settings lobby")
        host.click("#lobby-create")
        wait_phase(host, ["lobby"], 10)
        lobby_id = debug_state(host)["lobbyId"]
        assert lobby_id, debug_state(host)
        lobby = rest.get(f"/v1/lobbies/{lobby_id}").json()
        assert lobby["settings"] == {"score_limit": 7, "time_limit_seconds": 30}, lobby
        # the host sees them as inputs, to change
        assert host.input_value(setting(VIEW, "score_limit")) == "7"
        assert host.input_value(setting(VIEW, "time_limit_seconds")) == "30"
        assert host.is_visible("#lobby-settings-save")

        # the other player: the lobby list says what differs from the defaults; in the
        # lobby, the settings are text, not inputs
        guest.click("#lobby-refresh")
        row = guest.locator(f"#lobby-list li[data-lobby='{lobby_id}']")
        row.wait_for(timeout=5_000)
        assert "score_limit 7" in row.inner_text() and "time_limit_seconds 30" in row.inner_text()
        row.locator("button.lobby-join").click()
        wait_phase(guest, ["lobby"], 10)
        shown = guest.locator(setting(VIEW, "score_limit"))
        assert shown.evaluate("(node) => node.tagName") == "SPAN"
        assert shown.inner_text() == "7"
        assert guest.inner_text(setting(VIEW, "time_limit_seconds")) == "30"
        assert not guest.is_visible("#lobby-settings-save")
        guest.click("#lobby-ready")
        wait_for(guest, "() => document.getElementById('lobby-ready').textContent === 'Ready ✓'")
        wait_for(host, "() => document.querySelectorAll('#lobby-members .badge.ok').length === 1")

        # the host shortens the match: everyone's ready mark goes, the guest sees it
        host.fill(setting(VIEW, "time_limit_seconds"), "5")
        host.click("#lobby-settings-save")
        wait_for(
            guest,
            "(sel) => document.querySelector(sel).textContent === '5'",
            setting(VIEW, "time_limit_seconds"),
        )
        wait_for(guest, "() => document.getElementById('lobby-ready').textContent === 'Ready'")
        lobby = rest.get(f"/v1/lobbies/{lobby_id}").json()
        assert lobby["settings"] == {"score_limit": 7, "time_limit_seconds": 5}, lobby
        assert not any(m["ready"] for m in lobby["members"]), lobby
        assert host.input_value(setting(VIEW, "time_limit_seconds")) == "5"

        # both ready, the host starts: both play the same match, by those settings
        guest.click("#lobby-ready")
        host.click("#lobby-ready")
        wait_for(host, "() => !document.getElementById('lobby-start').disabled")
        host.click("#lobby-start")
        wait_phase(host, ["playing"], 10)
        wait_phase(guest, ["playing"], 10)
        match_id = debug_state(host)["matchId"]
        assert match_id and debug_state(guest)["matchId"] == match_id
        record = rest.get(f"/v1/matches/{match_id}").json()
        assert record["settings"] == {"score_limit": 7, "time_limit_seconds": 5}, record
        assert record["mode"] == "arena"

        wait_for(host, "() => window.skirmishDebug.state().status === 'running'", timeout_s=15)
        state = debug_state(host)
        assert state["left"] is not None and state["left"] <= 5 * 30, state  # 30 Hz ticks

        # a broken socket: the SDK reconnects (back-off, the same token) and play goes on
        before = debug_state(host)
        seen = before["snapshotsReceived"]
        assert host.evaluate("window.skirmishDebug.drop()")
        assert debug_state(host)["conn"] == "reconnecting"
        wait_for(host, "() => window.skirmishDebug.state().conn === 'open'", timeout_s=5)
        assert debug_state(host)["welcomes"] == before["welcomes"] + 1
        wait_for(
            host,
            "(seen) => window.skirmishDebug.state().snapshotsReceived > seen + 10",
            seen,
            timeout_s=5,
        )

        # over on time (nobody fired): the result screen on both pages
        for page in (host, guest):
            wait_phase(page, ["result"], 15)
            result = debug_state(page)["result"]
            assert result is not None and result["reason"] == "time_limit", result
            assert page.locator("#result-table tbody tr").count() == 2
        record = rest.get(f"/v1/matches/{match_id}").json()
        assert record["status"] == "finished" and record["result"]["reason"] == "time_limit"
        assert record["settings"] == {"score_limit": 7, "time_limit_seconds": 5}, record
        assert not errors, context()
