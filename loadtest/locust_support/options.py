"""The suite's own command-line options: Locust reads them from the command line, from
`SKIRMISH_LT_*` environment variables and from `locust.conf`, and shows them in the web UI.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

ENV_PREFIX = "SKIRMISH_LT_"

# flag, type, default, help
ARGUMENTS: tuple[tuple[str, type, Any, str], ...] = (
    ("ws-weight", int, 9, "weight of MatchPlayer (WebSocket players); 0 disables them"),
    ("rest-weight", int, 1, "weight of LobbyBrowser (REST lobby/matchmaking users); 0 disables"),
    (
        "mode-weights",
        str,
        "",
        "game modes to play and their weights, e.g. 'arena=3,ctf=1'; empty = every mode "
        "GET /v1/modes lists, equally",
    ),
    ("mode", str, "", "a single game mode to play (shorthand for --mode-weights MODE=1)"),
    ("lobby-share", float, 0.0, "share of MatchPlayer matches reached through a lobby (0..1)"),
    ("lobby-size", int, 4, "players a MatchPlayer lobby waits for"),
    (
        "lobby-fill-seconds",
        float,
        10.0,
        "after this, a lobby host starts with enough ready players for the mode",
    ),
    ("queue-timeout", float, 90.0, "seconds a player may wait for a match (queue or lobby)"),
    ("poll-interval", float, 0.3, "seconds between ticket/lobby polls"),
    ("input-rate", float, 0.0, "inputs per second; 0 = the tick rate the server announces"),
    ("ping-interval", float, 1.0, "seconds between pings"),
    ("ack-sample", int, 1, "time every Nth input for `WS input→ack` (1 = every input)"),
    ("ack-timeout", float, 5.0, "an input or ping unanswered this long is a failure"),
    ("silence-timeout", float, 30.0, "a socket silent this long is a failure"),
    ("match-timeout", float, 900.0, "a match still running after this is a failure"),
    ("match-pause", float, 1.0, "seconds a MatchPlayer waits between two matches"),
    ("reconnects", int, 5, "reconnects per match after unexpected closes (back-off 0.25-4 s)"),
    ("rest-wait-min", float, 1.0, "LobbyBrowser: minimum seconds between two actions"),
    ("rest-wait-max", float, 3.0, "LobbyBrowser: maximum seconds between two actions"),
    (
        "rest-mix",
        str,
        "browse=4,host=2,join=2,ticket=1",
        "LobbyBrowser action weights: browse, host, join, ticket",
    ),
    ("slo-fail-ratio", float, -1.0, "gate: failure ratio of all requests (negative = off)"),
    (
        "slo-fail-ratios",
        str,
        "",
        "gate: failure ratio per entry, e.g. 'WS match=0.02, MM ticket->matched=0.05'",
    ),
    (
        "slo-p99",
        str,
        "",
        "gate: p99 limits in ms, e.g. 'WS connect=1000, WS ping→pong=100' ('->' works too)",
    ),
    ("slo-exit-code", int, 3, "exit code when a gate fails"),
)


def add_arguments(parser: Any) -> None:
    """Register the options (`events.init_command_line_parser`)."""
    for flag, kind, default, text in ARGUMENTS:
        parser.add_argument(
            f"--{flag}",
            type=kind,
            default=default,
            help=f"{text} (default {default!r})",
            env_var=ENV_PREFIX + flag.upper().replace("-", "_"),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """The options of one run, read from Locust's parsed options."""

    ws_weight: int
    rest_weight: int
    mode_weights: str
    mode: str
    lobby_share: float
    lobby_size: int
    lobby_fill_seconds: float
    queue_timeout: float
    poll_interval: float
    input_rate: float
    ping_interval: float
    ack_sample: int
    ack_timeout: float
    silence_timeout: float
    match_timeout: float
    match_pause: float
    reconnects: int
    rest_wait_min: float
    rest_wait_max: float
    rest_mix: str
    slo_fail_ratio: float
    slo_fail_ratios: str
    slo_p99: str
    slo_exit_code: int

    @classmethod
    def from_options(cls, options: Any) -> Settings:
        defaults = {flag.replace("-", "_"): default for flag, _, default, _ in ARGUMENTS}
        return cls(**{f.name: getattr(options, f.name, defaults[f.name]) for f in fields(cls)})


def parse_mix(spec: str) -> dict[str, float]:
    """'browse=4,host=2' → {'browse': 4.0, 'host': 2.0} (zero weights dropped)."""
    mix: dict[str, float] = {}
    for part in spec.replace(";", ",").split(","):
        if not part.strip():
            continue
        name, _, weight = part.partition("=")
        value = float(weight or 1)
        if value > 0:
            mix[name.strip()] = value
    return mix
