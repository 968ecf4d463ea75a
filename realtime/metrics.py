"""Prometheus metrics of the realtime side (one registry per process, served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
    "CPU time of one pod-wide tick (all hosted matches)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.033, 0.05, 0.1),
)
WS_MESSAGES = Counter("skirmish_ws_messages_total", "Client messages received", ["type"])
WS_ERRORS = Counter("skirmish_ws_errors_total", "Client messages refused", ["code"])
WS_CLOSES = Counter("skirmish_ws_closes_total", "Sockets closed by the server", ["code"])
MATCH_ERRORS = Counter("skirmish_match_errors_total", "Matches aborted by a server fault")

INPUTS = WS_MESSAGES.labels("input")
PINGS = WS_MESSAGES.labels("ping")

RELAY_BATCHES_SENT = Counter(
    "skirmish_relay_batches_sent_total", "Per-tick batches sent to other pods over the layer"
)
RELAY_BATCHES_RECEIVED = Counter(
    "skirmish_relay_batches_received_total", "Per-tick batches received from other pods"
)
RELAY_ENTRIES_SENT = Counter(
    "skirmish_relay_entries_sent_total", "Snapshots, frames, inputs and notices in those batches"
)
RELAY_ENTRIES_DROPPED = Counter(
    "skirmish_relay_entries_dropped_total", "Entries lost: a peer unreachable or too slow"
)
