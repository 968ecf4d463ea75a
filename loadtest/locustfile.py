"""Skirmish load test: WebSocket players that play real matches, and REST lobby users.

    cd loadtest && locust --host http://127.0.0.1:8000          # web UI on :8089
    cd loadtest && locust --headless --host https://game.example.com -u 200 -r 20 -t 5m

`locust.conf` (next to this file) holds the defaults; `docs/loadtesting.md` explains the
stats, the options (`locust --help`, section "Custom arguments") and the SLO gates.

- `MatchPlayer`: signs in as a guest, picks a game mode by `--mode-weights` (default:
  every mode GET /v1/modes lists, equally), queues for it (or gathers in a lobby), connects
  to the match socket, plays it with that mode's bot at its tick rate until the result,
  then picks and queues again. Its stats carry the mode: `WS match (ctf)`.
- `LobbyBrowser`: exercises the lobby and matchmaking routes (list, get, create, join,
  ready, leave; tickets create, get, cancel) in the same modes, without playing.
"""

from __future__ import annotations

import random
import time
from typing import Any

import gevent
from locust import HttpUser, events, task
from locust_support import gates, modes, options
from locust_support.api import Access, Api, Report
from locust_support.match import MatchSocket, Outcome, WsFailure, open_socket, ws_url
from locust_support.modes import ModeInfo
from locust_support.options import Settings, parse_mix
from locust_support.slo import per_mode


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    options.add_arguments(parser)


@events.init.add_listener
def _weights(environment: Any, **_: Any) -> None:
    """User weights from the options; a class with weight 0 is not spawned at all."""
    if environment.parsed_options is None:
        return
    settings = Settings.from_options(environment.parsed_options)
    if settings.mode_weights.strip() and not modes.parse_weights(settings.mode_weights):
        raise ValueError(f"--mode-weights {settings.mode_weights!r}: every weight is 0")
    MatchPlayer.weight = settings.ws_weight
    LobbyBrowser.weight = settings.rest_weight
    kept = [cls for cls in environment.user_classes if cls.weight > 0 or cls.fixed_count]
    if kept and len(kept) < len(environment.user_classes):
        environment.user_classes[:] = kept


events.quitting.add_listener(gates.check_gates)


class SkirmishUser(HttpUser):
    abstract = True
    name_prefix = "lt"

    def on_start(self) -> None:
        self.settings = Settings.from_options(self.environment.parsed_options)
        self.rng = random.Random()
        self.api = Api(self.client, self.settings, self.name_prefix)
        self.catalogue: dict[str, ModeInfo] | None = None

    def ready(self) -> bool:
        """Signed in, and the server's game modes known (GET /v1/modes, once)."""
        if self.api.token is None and not self.api.sign_in():
            return False
        if self.catalogue is None:
            self.catalogue = self.api.modes()
        return self.catalogue is not None

    def weights(self) -> dict[str, float]:
        settings, offered = self.settings, self.catalogue or {}
        return modes.mode_weights(settings.mode_weights, settings.mode, offered)

    def mode_info(self, name: str) -> ModeInfo:
        return (self.catalogue or {}).get(name) or ModeInfo(name)

    def report(
        self, name: str, ms: float, length: int = 0, exc: Exception | None = None, kind: str = "WS"
    ) -> None:
        self.environment.events.request.fire(
            request_type=kind,
            name=name,
            response_time=ms,
            response_length=length,
            exception=exc,
            context={},
        )


class MatchPlayer(SkirmishUser):
    """Plays real matches over the match socket, one after another."""

    weight = 9
    name_prefix = "lt-mp"

    def wait_time(self) -> float:
        return self.settings.match_pause

    @task
    def play(self) -> None:
        if not self.ready():
            gevent.sleep(1.0)
            return
        mode = self.next_mode()
        report = self.reporter(mode.name)
        if self.rng.random() < self.settings.lobby_share:
            access = self.api.lobby_match(report, mode)
        else:
            access = self.api.queue(report, mode.name)
        if access is not None:
            self.play_match(access, mode, report)

    def next_mode(self) -> ModeInfo:
        """The next mode by the weights, dealt evenly among this process's players."""
        process = getattr(self.environment.runner, "worker_index", 0)
        return self.mode_info(modes.shared_dealer(self.weights(), process).deal())

    def reporter(self, mode: str) -> Report:
        """`report`, with the mode added to each name: `WS match (ctf)`."""

        def report(
            name: str, ms: float, length: int = 0, exc: Exception | None = None, kind: str = "WS"
        ) -> None:
            self.report(per_mode(name, mode), ms, length, exc, kind)

        return report

    def play_match(self, access: Access, mode: ModeInfo, report: Report) -> None:
        """Play to the result, reconnecting with back-off as the protocol says."""
        delay = 0.25
        for attempt in range(self.settings.reconnects + 1):
            if attempt:
                gevent.sleep(delay)
                delay = min(delay * 2, 4.0)
            outcome = self.play_socket(access, mode, report)
            if outcome.finished or not outcome.reconnectable:
                return
            if outcome.code == 4001:  # match token expired: a fresh one, then once more
                reply = self.api.call(
                    "POST",
                    f"/v1/matches/{access['match_id']}/token",
                    name="/v1/matches/[id]/token",
                )
                if reply is None:
                    return
                access = reply.body

    def play_socket(self, access: Access, mode: ModeInfo, report: Report) -> Outcome:
        url = ws_url(self.host or "", str(access["ws_path"]))
        started = time.perf_counter()
        try:
            ws = open_socket(url, str(access["token"]), 10.0, self.rng)
        except Exception as exc:  # refused, timed out, bad status: all are failures
            report("connect", (time.perf_counter() - started) * 1000, exc=exc)
            return Outcome(False, None, str(exc))
        report("connect", (time.perf_counter() - started) * 1000)
        outcome = MatchSocket(ws, report, self.settings, self.rng, mode).run()
        played = (time.perf_counter() - started) * 1000
        if outcome.finished:
            report("match", played)
        else:
            failure = WsFailure(f"closed {outcome.code} before the result: {outcome.reason}")
            report("match", played, exc=failure)
        return outcome


class LobbyBrowser(SkirmishUser):
    """Exercises the lobby and matchmaking routes the way a menu screen does."""

    weight = 1
    name_prefix = "lt-rb"
    lobby_prefix = "lt-rest"

    def on_start(self) -> None:
        super().on_start()
        self.mix = parse_mix(self.settings.rest_mix)
        self.current_lobby: str | None = None
        self.current_ticket: str | None = None

    def on_stop(self) -> None:
        """Leave nothing behind: a lobby or a searching ticket would outlive the run."""
        if self.current_lobby:
            self.api.lobby(self.current_lobby, "leave")
        if self.current_ticket:
            self.api.cancel_ticket(self.current_ticket)

    def wait_time(self) -> float:
        return self.rng.uniform(self.settings.rest_wait_min, self.settings.rest_wait_max)

    def think(self) -> None:
        gevent.sleep(self.rng.uniform(0.5, 1.0) * self.settings.rest_wait_max)

    def pick_mode(self) -> ModeInfo:
        """A mode by the weights, drawn at random (only MatchPlayers are dealt evenly)."""
        weights = self.weights()
        return self.mode_info(self.rng.choices(list(weights), list(weights.values()))[0])

    @task
    def act(self) -> None:
        if not self.ready() or not self.mix:
            return
        actions = {
            "browse": self.browse,
            "host": self.host_lobby,
            "join": self.join_lobby,
            "ticket": self.ticket,
        }
        names = [name for name in self.mix if name in actions]
        if names:
            actions[self.rng.choices(names, [self.mix[n] for n in names])[0]]()

    def browse(self) -> None:
        lobbies = self.api.list_lobbies()
        if lobbies:
            self.api.lobby(self.rng.choice(lobbies)["id"])
        else:
            self.api.call("GET", "/v1/modes")

    def host_lobby(self) -> None:
        mode = self.pick_mode()
        name = f"{self.lobby_prefix} {self.api.name}"
        lobby = self.api.create_lobby(name, mode.group_size(4), mode.name)
        if lobby is None:
            return
        self.current_lobby = lobby["id"]
        self.think()  # stays open a while, for joiners
        self.api.lobby(lobby["id"], "ready", {"ready": True})
        self.think()
        self.api.lobby(lobby["id"])
        self.api.lobby(lobby["id"], "ready", {"ready": False})
        self.api.lobby(lobby["id"], "leave")
        self.current_lobby = None

    def join_lobby(self) -> None:
        mine = [lb for lb in self.api.list_lobbies() if self.api._joinable(lb, self.lobby_prefix)]
        if not mine:
            return
        reply = self.api.lobby(self.rng.choice(mine)["id"], "join")
        if reply is None or reply.status != 200:
            return  # full or gone meanwhile: a 409 is an answer, not a failure
        self.current_lobby = reply.body["id"]
        self.api.lobby(reply.body["id"], "ready", {"ready": True})
        self.think()
        self.api.lobby(reply.body["id"], "leave")
        self.current_lobby = None

    def ticket(self) -> None:
        """Queue, look, cancel. Cancelled within a second it rarely matches; when it does
        (a 409), the match waits for this player to connect, and then plays without it."""
        self.current_ticket = self.api.create_ticket(self.pick_mode().name)
        if self.current_ticket is None:
            return
        gevent.sleep(self.rng.uniform(0.05, 0.3))
        self.api.get_ticket(self.current_ticket)
        self.api.cancel_ticket(self.current_ticket)
        self.current_ticket = None
