"""The benchmark's bookkeeping: histograms, the tick probe's window, the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadtest import report
from loadtest.bench import least_disturbed
from loadtest.histogram import Histogram
from loadtest.matches import PLAYERS, socket_for
from loadtest.probe import window_stats


def test_histogram_percentiles_and_merge() -> None:
    a, b = Histogram(), Histogram()
    for i in range(100):
        a.add(i / 1000)  # 0..99 ms
    b.add(5.0)  # one slow sample
    merged = Histogram.merged([a.to_json(), b.to_json()])
    assert merged.total == 101
    p50 = merged.percentile_ms(50)
    assert p50 is not None and 49 <= p50 <= 51
    assert merged.percentile_ms(100) == 5001.0
    assert Histogram().percentile_ms(99) is None


def test_window_stats_picks_the_ticks_inside() -> None:
    times = [10 + i / 30 for i in range(300)]
    record = {
        "times": times,
        "inputs": [i * 5 for i in range(300)],
        "gc": [0.001 * i for i in range(300)],
    }
    stats = window_stats(record, 11.0, 15.0)
    assert stats["ticks"] == 120 or stats["ticks"] == 121
    assert abs(stats["tick_rate"] - 30) < 0.01
    assert abs(stats["interval_p99_ms"] - 33.3) < 0.1
    assert stats["inputs_received"] == 5 * (stats["ticks"] - 1)
    assert abs(stats["gc_s"] - 0.001 * (stats["ticks"] - 1)) < 1e-9


def run(target: str, r: int, cpu: float) -> dict[str, Any]:
    return {
        "target": target, "R": r, "cpu_us_per_msg": cpu, "server_cores": 0.5,
        "loadgen_cores": 0.3, "msgs_per_s": 300.0 * r, "expected_per_s": 300 * r,
        "delivered_ratio": 1.0, "inputs_ratio": 1.0, "tick_rate_min": 30.0,
        "tick_p99_ms": 34.0, "rtt_p50_ms": 1.0, "rtt_p99_ms": 3.0, "ack_p50_ms": 17.0,
        "ack_p99_ms": 40.0, "bytes_per_msg": 370.0, "lateness_p99_ms": 1.0,
    }  # fmt: skip


def test_report_has_ratios_targets_and_plot(tmp_path: Path) -> None:
    runs = [run("ceiling", 50, 20.0), run("single", 50, 23.0), run("cluster", 50, 30.0)]
    settings = {"command": "python -m loadtest.bench", "warmup": 3, "duration": 20, "workers": 2}
    text = report.markdown(runs, report.machine(), settings, "x")
    assert "23.0 (1.15×)" in text
    assert "1.30× single" in text
    assert "R = 50: CPU per message 1.15× the ceiling (target ≤ 1.2×): met" in text
    report.plot(runs, tmp_path / "x.png")
    assert (tmp_path / "x.png").stat().st_size > 1000


def test_the_least_disturbed_round_is_reported_with_the_spread() -> None:
    rounds = [
        {"target": "single", "cpu_us_per_msg": 41.0, "round": 1},
        {"target": "single", "cpu_us_per_msg": 37.5, "round": 2},
        {"target": "single", "cpu_us_per_msg": None, "round": 3},  # delivered nothing
    ]
    best = least_disturbed(rounds)
    assert best["round"] == 2
    assert best["rounds_cpu_us_per_msg"] == [41.0, 37.5, None]
    assert "rounds_cpu_us_per_msg" not in rounds[1]  # the rounds themselves are untouched


def test_the_pod_target_must_hold_in_every_round() -> None:
    """The reported round is picked for its CPU; a latency target met by luck in that one
    round and missed in the other is not met."""
    calm = run("single", 100, 28.0)
    stormy = {**run("single", 100, 30.0), "tick_p99_ms": 61.0, "rtt_p99_ms": 15.0}
    best = least_disturbed([calm, stormy])
    text = "\n".join(report.targets([run("ceiling", 100, 33.0), best]))
    assert "met in 1 of 2 rounds (tick p99/RTT p99: 34.0/3.0 ms, 61.0/15.0 ms): **missed**" in text
    both = least_disturbed([calm, {**calm, "cpu_us_per_msg": 29.0}])
    assert "met in 2 of 2 rounds" in "\n".join(report.targets([best, both][1:]))


def test_the_cross_pod_target_judges_the_routed_cluster_and_shows_the_split_one() -> None:
    runs = [run("single", 25, 30.0), run("cluster", 25, 48.0), run("cluster-routed", 25, 46.5)]
    lines = report.targets(runs)
    head = "- cross-pod (2 pods as deployed), R = 25: "
    assert head + "1.55× single-pod CPU per message (target ≤ 1.5×): **missed**" in lines
    (split,) = [line for line in lines if "every match split" in line]
    assert "1.60× single-pod" in split and "over 1.5×" in split and "target ≤" not in split
    routed_ok = report.targets([runs[0], runs[1], run("cluster-routed", 25, 31.5)])
    assert head + "1.05× single-pod CPU per message (target ≤ 1.5×): met" in routed_ok


@pytest.mark.parametrize("split", [True, False])
def test_cluster_plans_split_each_match_or_keep_it_on_its_owner(split: bool) -> None:
    pods = ["http://127.0.0.1:1", "http://127.0.0.1:2"]
    access = {"ws_path": "/ws/matches/m", "token": "t"}
    for match in range(4):
        owner = pods[match % 2]
        urls = [socket_for(pods, match, slot, access, split)["url"] for slot in range(PLAYERS)]
        on_owner = sum(url.startswith(owner.replace("http", "ws")) for url in urls)
        assert urls[0].startswith(owner.replace("http", "ws"))  # the first socket claims it
        assert on_owner == (PLAYERS // 2 if split else PLAYERS)


def test_bench_options_reach_the_factories_and_unknown_names_are_refused() -> None:
    """Variants and options go in through the factories' parameters, never by patching."""
    from channels.consumer import AsyncConsumer

    from loadtest.relay_direct import DirectLayer
    from loadtest.variants import choices
    from realtime.consumers import MatchConsumer
    from realtime.layers import ShardSafeRedisChannelLayer, StockLayerCalls
    from skirmish.base.settings import Settings
    from skirmish.server.services import build_services

    chosen = choices("stock", "relay-replies")
    consumer = chosen.application["consumer"]
    assert issubclass(consumer, MatchConsumer) and consumer.dispatch is AsyncConsumer.dispatch
    assert MatchConsumer.dispatch is not AsyncConsumer.dispatch  # the product is untouched
    settings = Settings(token_secret="x" * 32, redis_url="redis://127.0.0.1:1")
    layer = chosen.services["layer_factory"](settings)
    assert isinstance(layer, StockLayerCalls)
    assert isinstance(layer.layer, ShardSafeRedisChannelLayer)
    services = build_services(settings, **choices("direct", "relay-direct").services)
    assert isinstance(services.host.relay.layer, DirectLayer)
    assert choices("direct", "") == type(chosen)()  # the product's defaults
    with pytest.raises(ValueError, match="unknown patch 'warp-drive'"):
        choices("direct", "warp-drive")


def test_relay_direct_frames_batches_whole_in_order_however_they_arrive() -> None:
    """The `relay-direct` layer must deliver what the channel layer would, or it measures less."""
    import asyncio

    import msgpack

    from loadtest.relay_direct import LENGTH, Inbound

    batches = [
        {"type": "relay.batch", "from": "a", "reply_to": "ch-a", "seq": n, "entries": [["i", n]]}
        for n in (1, 2, 3)
    ]
    wire = b"".join(LENGTH.pack(len(b)) + b for b in map(msgpack.packb, batches))
    for chunk in (1, 3, 7, len(wire)):
        inbox: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        inbound = Inbound(inbox)
        for at in range(0, len(wire), chunk):
            inbound.data_received(wire[at : at + chunk])
        assert [inbox.get_nowait() for _ in batches] == batches
        assert inbox.empty() and not inbound.buffer


async def test_relay_direct_carries_batches_between_two_pods_over_loopback() -> None:
    import asyncio

    from loadtest.relay_direct import DirectLayer
    from realtime.relay import Relay

    a, b = Relay(DirectLayer(), "a"), Relay(DirectLayer(), "b")
    received: list[dict[str, object]] = []
    await a.start(lambda message: None)
    await b.start(received.append)
    link = a.link(b.channel)
    for n in range(3):
        link.add(["f", "m1", 1, f"frame {n}".encode()])
        link.flush()
        await asyncio.sleep(0.01)
    for _ in range(200):
        if len(received) == 3:
            break
        await asyncio.sleep(0.01)
    assert [m["entries"] for m in received] == [
        [["f", "m1", 1, f"frame {n}".encode()]] for n in range(3)
    ]
    assert b.link(a.channel).batches_lost == 0
    await a.stop()
    await b.stop()
