"""A player that plays a match through the SDK's `Reconnector` and notes every input it
sends, and the check that a match's replay applied each of them exactly once, in order.

The replay's inputs are `[tick, slot, message as received]` (None: the player left), so
the seqs of one slot, in the order applied, must be exactly the seqs that player sent,
up to the last one applied, minus those the server answered with `input_dropped`."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from skirmish.sdk.reconnect import Reconnector

Message = dict[str, Any]


@dataclass
class Played:
    sent: list[int] = field(default_factory=list)  # every seq the player sent, in order
    pods: list[str] = field(default_factory=list)  # the pod behind each welcome
    welcomes: list[tuple[float, int, int]] = field(default_factory=list)  # (when, last_seq, sent)
    ticks: list[int] = field(default_factory=list)
    session: Reconnector | None = None

    @property
    def tick(self) -> int:
        return self.ticks[-1] if self.ticks else 0


async def play(session: Reconnector, played: Played, burst_every: int = 10) -> Played:
    """Answer every snapshot with an input, and every `burst_every`-th with three: the
    server's buffer then always holds a few, and now and then overflows."""
    played.session = session
    async for message in session:
        kind = message["type"]
        if kind == "welcome":
            conn = session.connection
            pod = conn.ws.response.headers.get("x-skirmish-pod", "") if conn else ""
            played.pods.append(pod)
            last = played.sent[-1] if played.sent else 0
            played.welcomes.append((time.monotonic(), message["last_seq"], last))
        elif kind == "snapshot" and session.result is None:
            played.ticks.append(message["tick"])
            for _ in range(3 if message["tick"] % burst_every == 0 else 1):
                angle = (message["tick"] * 0.1) % math.tau
                seq = await session.send_input(dx=math.cos(angle), dy=0.0, aim=angle, fire=False)
                if seq is not None:
                    played.sent.append(seq)
    return played


def applied(replay: Message, slot: int) -> list[int]:
    """The seqs of `slot`'s inputs, in the order the match applied them."""
    return [m["seq"] for _, s, m in replay["inputs"] if s == slot and m is not None]


def assert_applied_exactly_once(replay: Message, slot: int, played: Played) -> list[int]:
    """Each input of the player applied once and in seq order, or reported dropped; the
    inputs sent after the last one applied crossed the end of the match. Returns the
    applied seqs."""
    assert played.session is not None
    seqs = applied(replay, slot)
    assert seqs, "nothing applied"
    assert len(seqs) == len(set(seqs)), "an input was applied twice"
    assert seqs == sorted(seqs), "inputs applied out of order"
    dropped = set(played.session.dropped)
    assert dropped <= set(played.sent)
    expected = [s for s in played.sent if s <= seqs[-1] and s not in dropped]
    missing = sorted(set(expected) - set(seqs))
    assert seqs == expected, f"sent, not dropped, never applied: {missing}"
    return seqs
