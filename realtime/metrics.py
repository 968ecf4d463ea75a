"""Prometheus metrics of the realtime side (one registry per process, served at /metrics)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily

MATCHES_HOSTED = Gauge("skirmish_matches_hosted", "Matches whose loop runs on this pod")
PLAYERS_CONNECTED = Gauge("skirmish_players_connected", "Match sockets open on this pod")
MATCHES_FINISHED = Counter("skirmish_matches_finished_total", "Matches played to the end")
TICK_LATENESS = Histogram(
    "skirmish_tick_lateness_seconds",
    "How late the pod's tick ran against its schedule",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25),
)
TICK_DURATION = Histogram(
    "skirmish_tick_duration_seconds",
    "Wall time of one pod-wide tick (its matches, and the socket work between its slices)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.033, 0.05, 0.1),
)
WS_ERRORS = Counter("skirmish_ws_errors_total", "Client messages refused", ["code"])
WS_CLOSES = Counter("skirmish_ws_closes_total", "Sockets closed by the server", ["code"])
LOBBY_SOCKETS = Gauge("skirmish_lobby_sockets", "Lobby sockets open on this pod")
SPECTATORS = Gauge(
    "skirmish_spectators", "Spectator sockets on this pod: live views and recordings", ["kind"]
)
ROOM_MESSAGES = Counter(
    "skirmish_room_messages_total",
    "Room messages this pod received (lobby changes, chat lines, announcements)",
    ["kind"],
)
MATCH_ERRORS = Counter(
    "skirmish_match_errors_total", "Matches ended as no contest: their mode raised or ran slow"
)
STEP_OVERRUNS = Counter(
    "skirmish_step_overruns_total", "Steps of a match's mode that ran past their time budget"
)


class MessageCounts:
    """Client messages received, counted in plain ints and exported at scrape time.

    Inputs and pings arrive 31 times a second per player: a prometheus `Counter` takes a
    lock per increment (~1.5 µs a message measured on the 2-core box), `+= 1` on an
    attribute costs a few dozen nanoseconds. The event loop is the only writer.
    """

    __slots__ = ("input", "ping")

    def __init__(self) -> None:
        self.input = 0
        self.ping = 0


RECEIVED = MessageCounts()


class _ReceivedCollector:
    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "skirmish_ws_messages", "Client messages received", labels=["type"]
        )
        family.add_metric(["input"], RECEIVED.input)
        family.add_metric(["ping"], RECEIVED.ping)
        yield family


REGISTRY.register(_ReceivedCollector())

RELAY_BATCHES_SENT = Counter(
    "skirmish_relay_batches_sent_total", "Per-tick batches sent to other pods over the layer"
)
RELAY_BATCHES_RECEIVED = Counter(
    "skirmish_relay_batches_received_total", "Per-tick batches received from other pods"
)
RELAY_ENTRIES_SENT = Counter(
    "skirmish_relay_entries_sent_total", "Snapshots, frames, inputs and notices in those batches"
)
RELAY_BATCHES_LOST = Counter(
    "skirmish_relay_batches_lost_total",
    "Batches other pods sent that never arrived (channel full or expired, Redis away)",
)
RELAY_ENTRIES_DROPPED = Counter(
    "skirmish_relay_entries_dropped_total", "Entries lost: a peer unreachable or too slow"
)
