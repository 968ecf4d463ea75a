"""The reconnect policy's parts on their own (docs/protocol.md, "Reconnecting"): which
closes are retried, how long each attempt waits, when the client gives up, how long a
socket may be silent, and which inputs a resend carries."""

from __future__ import annotations

import random
import socket

import pytest

from skirmish.sdk.client import (
    FINAL_CLOSE_CODES,
    NEVER_RECONNECT_CODES,
    MatchAccess,
    MatchClosed,
    SkirmishClient,
)
from skirmish.sdk.reconnect import (
    Backoff,
    PendingInputs,
    ReconnectFailed,
    Reconnector,
    Timing,
    after_close,
)

RECONNECT = [1001, 1006, 1011, 1012, 1013, 4008]
NEVER = [1000, 1008, 1009, 4003, 4004, 4009, 4010, 4029]


@pytest.mark.parametrize("code", RECONNECT)
def test_these_closes_are_reconnected_with_the_same_token(code: int) -> None:
    assert after_close(code) == "reconnect"
    assert not MatchClosed(code).final


def test_an_expired_token_is_refreshed_first() -> None:
    assert after_close(4001) == "refresh"
    assert MatchClosed(4001).final  # the same token cannot help


@pytest.mark.parametrize("code", NEVER)
def test_these_closes_are_never_reconnected(code: int) -> None:
    assert after_close(code) == "stop"
    assert MatchClosed(code).final


def test_final_close_codes_are_the_never_list_and_4001() -> None:
    assert set(NEVER) == NEVER_RECONNECT_CODES
    assert set(NEVER) | {4001} == FINAL_CLOSE_CODES


@pytest.mark.parametrize(
    ("status", "action"),
    [
        *[(None, "reconnect"), (500, "reconnect"), (502, "reconnect"), (503, "reconnect")],
        *[(400, "stop"), (403, "stop"), (404, "stop"), (426, "stop")],
    ],
)
def test_a_refused_handshake_is_retried_only_without_an_answer_or_after_a_5xx(
    status: int | None, action: str
) -> None:
    assert after_close(None, status) == action


class Fixed(random.Random):
    """Random numbers that are always `value`: the ends of the jitter's range."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize(("value", "share"), [(0.0, 0.5), (1.0, 1.0)])
def test_attempt_n_waits_between_half_and_all_of_its_limit(value: float, share: float) -> None:
    backoff = Backoff(Timing(), Fixed(value))
    delays = [backoff.delay(1006) for _ in range(8)]
    limits = [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert delays == pytest.approx([share * limit for limit in limits])


def test_jitter_spreads_the_waits_within_their_bounds() -> None:
    rng = random.Random(7)
    for attempt, limit in enumerate([0.25, 0.5, 1.0, 2.0, 4.0, 4.0]):
        waits = []
        for _ in range(200):
            backoff = Backoff(Timing(), rng)
            backoff.attempt = attempt
            waits.append(backoff.delay(1006))
        assert limit / 2 <= min(waits) < 0.55 * limit and 0.95 * limit < max(waits) <= limit


def test_the_first_attempt_after_a_1012_waits_at_most_250_ms() -> None:
    backoff = Backoff(Timing(), Fixed(1.0))
    for _ in range(4):
        backoff.delay(1006)  # attempts 0-3 failed: the next would wait up to 4 s
    assert backoff.delay(1012) == 0.25
    assert backoff.delay(1006) == 4.0


def test_a_welcome_starts_the_attempts_over() -> None:
    backoff = Backoff(Timing(), Fixed(1.0))
    for _ in range(5):
        backoff.delay(1006)
    backoff.reset()
    assert backoff.delay(1006) == 0.25


@pytest.mark.parametrize(
    ("tick_rate", "silence"), [(60, 1.0), (30, 1.0), (3, 1.0), (2, 1.5), (1, 3.0), (0.5, 6.0)]
)
def test_silence_is_a_second_or_three_ticks_of_a_slow_mode(
    tick_rate: float, silence: float
) -> None:
    assert Timing().silence_for(tick_rate) == silence
    assert Timing().ping_after == 0.5


def message(seq: int) -> dict[str, object]:
    return {"type": "input", "seq": seq, "dx": 0.0}


def test_inputs_are_kept_until_acknowledged_or_dropped() -> None:
    pending = PendingInputs()
    for seq in range(1, 8):
        pending.add(message(seq))
    pending.acked(2)
    assert pending.seqs == [3, 4, 5, 6, 7]
    assert pending.dropped(4) and not pending.dropped(4) and not pending.dropped(1)
    pending.acked(3)
    assert pending.seqs == [5, 6, 7]
    assert [m["seq"] for m in pending.above(5)] == [6, 7]  # welcome.last_seq 5: resend these
    assert [m["seq"] for m in pending.above(0)] == [5, 6, 7]  # in order
    pending.acked(99)
    assert len(pending) == 0 and pending.above(0) == []


def test_inputs_are_kept_in_strictly_increasing_seq_order() -> None:
    pending = PendingInputs()
    pending.add(message(3))
    with pytest.raises(ValueError):
        pending.add(message(3))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once this returns


async def test_it_gives_up_after_30_s_without_a_welcome() -> None:
    """Real refused connections; the waits go by on a clock of the test's own."""
    now = 0.0
    waits: list[float] = []

    def clock() -> float:
        return now

    async def sleep(seconds: float) -> None:
        nonlocal now
        waits.append(seconds)
        now += seconds

    async with SkirmishClient(f"http://127.0.0.1:{closed_port()}") as client:
        access = MatchAccess("m_gone", "/ws/matches/m_gone", "token")
        session = Reconnector(client, access, rng=Fixed(1.0), clock=clock, sleep=sleep)
        with pytest.raises(ReconnectFailed) as failed:
            async for _ in session:
                pytest.fail("no server: no message")
    assert failed.value.last.code is None and failed.value.last.status is None
    assert waits == [0.25, 0.5, 1.0, 2.0] + [4.0] * 6  # 27.75 s: 4 more would pass 30
    assert session.welcomes == 0
