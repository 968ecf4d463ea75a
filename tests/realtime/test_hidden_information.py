"""Every frame a ctf player's socket is sent holds no enemy hidden from that player's team:
the fog of war holds on the wire, not just in the mode."""

from __future__ import annotations

import math
import random
from typing import Any

import orjson

from game.modes import CtfMode
from realtime.match_host import MatchHost
from skirmish.base.store import MemoryStore
from skirmish.base.store.records import MatchPlayer, MatchRecord

MODE = CtfMode()
SIGHT = MODE.rules.sight_radius


class Socket:
    def __init__(self) -> None:
        self.closed = False
        self.frames: list[dict[str, Any]] = []

    def send_snapshot(self, ack: int, body: bytes) -> None:
        self.frames.append(orjson.loads(body))

    def send_frame(self, frame: bytes) -> None:
        self.frames.append(orjson.loads(frame))

    def close(self, code: int, reason: str = "") -> None:
        self.closed = True


def in_sight(state: Any, team: int) -> set[int]:
    """The slots `team` may see, from the full state: its own, and enemies near one of its."""
    players = state.players
    mates = [p for s, p in enumerate(players) if s % 2 == team]
    return {
        s
        for s, p in enumerate(players)
        if s % 2 == team or any(math.hypot(p.x - m.x, p.y - m.y) <= SIGHT for m in mates)
    }


def known_slots(event: list[Any]) -> set[int]:
    if event[0] == "tag":
        return {s for s in event[1:3] if s is not None}
    return {event[1]} if event[1] is not None else set()


async def test_a_ctf_players_frames_never_show_an_enemy_out_of_sight() -> None:
    store = MemoryStore()
    players = tuple(MatchPlayer(player_id=f"p{i}", name=f"p{i}", slot=i) for i in range(4))
    await store.add_match(MatchRecord(id="m", mode="ctf", seed=5, players=players, created_at=0))
    host = MatchHost(store, {"ctf": MODE}, tick_rate=30, start_wait=0)
    sockets = [Socket() for _ in players]
    for player, socket in zip(players, sockets, strict=True):
        await host.attach("m", player.player_id, socket)
    hosted = host.owned.get("m")
    assert hosted is not None
    rng, hidden, seen = random.Random(3), 0, 0
    try:
        for tick in range(1, 400):
            for seat in hosted.seats:  # each team heads for the other's half, wandering
                towards = 1.0 if seat.slot % 2 == 0 else -1.0
                dx = towards if tick < 80 else rng.uniform(-1, 1)
                move = {"type": "input", "seq": tick, "dx": dx, "dy": rng.uniform(-1, 1)}
                hosted.accept_input(seat, tick, {**move, "sprint": rng.random() < 0.3})
            host.scheduler.tick_all()
            if hosted.status != "running":
                break
            mine = in_sight(hosted.state, team=0)
            frame = sockets[0].frames[-1]  # the snapshot body just sent (acks aside)
            assert frame["tick"] == tick and frame["online"] == [0, 1, 2, 3]
            assert {row[0] for row in frame["players"]} == mine
            for event in frame.get("events", []):
                assert known_slots(event) <= mine, event
            spectator = MODE.view(hosted.state, None)
            assert len(spectator["players"]) == 4  # a spectator sees everyone
            hidden += 4 - len(mine)
            seen += len(mine) - 2
        assert tick == 399  # played on throughout
        assert hidden > 100 and seen > 100  # enemies both hidden and in sight, many times
    finally:
        await host.stop()
