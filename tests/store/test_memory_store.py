"""The embedded store forgets as Redis does: a server left running for weeks holds what is
live, not every ticket, lobby and match it ever saw."""

from __future__ import annotations

import pytest

from skirmish.base.errors import Conflict
from skirmish.base.store import MemoryStore
from skirmish.base.store.memory import SWEEP_SECONDS
from skirmish.base.store.records import MatchRecord, PlayerRecord, new_id
from skirmish.base.store.ttl import ACTIVE_MATCH_TTL, FINISHED_MATCH_TTL
from tests.store.factories import cancel, lobby, match, ticket

TICKET_TTL, LOBBY_TTL, TOKEN_TTL = 1200.0, 3600.0, 7200.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> MemoryStore:
    return MemoryStore(ticket_ttl=TICKET_TTL, lobby_ttl=LOBBY_TTL, clock=clock)


def finish(current: MatchRecord) -> MatchRecord:
    return current.model_copy(update={"status": "finished"})


async def test_tickets_expire_a_ttl_after_their_last_write(
    store: MemoryStore, clock: Clock
) -> None:
    searching = ticket("p1")
    await store.add_ticket(searching)
    clock.now += TICKET_TTL - 1
    assert await store.get_ticket(searching.id) == searching
    with pytest.raises(Conflict):  # still searching: one search per player
        await store.add_ticket(ticket("p1"))
    clock.now += 2
    assert await store.get_ticket(searching.id) is None
    assert await store.searching_tickets() == []
    await store.add_ticket(again := ticket("p1"))  # the expired search no longer blocks
    clock.now += TICKET_TTL - 1
    await store.update_ticket(again.id, cancel)  # a write renews the ticket's lifetime
    clock.now += TICKET_TTL - 1
    assert (await store.get_ticket(again.id)).status == "cancelled"  # type: ignore[union-attr]


async def test_lobbies_expire_unless_written(store: MemoryStore, clock: Clock) -> None:
    idle, busy = lobby(), lobby()
    await store.add_lobby(idle)
    await store.add_lobby(busy)
    clock.now += LOBBY_TTL - 1
    await store.update_lobby(busy.id, lambda current: current)
    clock.now += 2
    assert await store.get_lobby(idle.id) is None
    assert [lb.id for lb in await store.open_lobbies()] == [busy.id]


async def test_a_private_lobbys_code_expires_with_it(store: MemoryStore, clock: Clock) -> None:
    private = lobby(code="XY23ZQ")
    await store.add_lobby(private)
    clock.now += LOBBY_TTL - 1
    await store.update_lobby(private.id, lambda current: current)  # renews both
    clock.now += LOBBY_TTL - 1
    assert await store.lobby_by_code("XY23ZQ") == private
    clock.now += 2
    assert await store.lobby_by_code("XY23ZQ") is None
    await store.add_lobby(lobby(code="XY23ZQ"))  # free with its lobby gone


async def test_matches_live_a_day_and_their_results_a_week(
    store: MemoryStore, clock: Clock
) -> None:
    waiting, played = match(), match()
    await store.add_match(waiting)
    await store.add_match(played)
    assert await store.save_checkpoint(played.id, {"tick": 30}, epoch=1)
    clock.now += ACTIVE_MATCH_TTL - 10
    await store.update_match(played.id, finish)  # finished: kept a week from now
    clock.now += 11
    assert await store.get_match(waiting.id) is None
    assert await store.waiting_matches(created_before=float("inf"), limit=10) == []
    assert await store.get_checkpoint(played.id) is None
    assert (await store.get_match(played.id)).status == "finished"  # type: ignore[union-attr]
    clock.now += FINISHED_MATCH_TTL
    assert await store.get_match(played.id) is None


async def test_what_expired_unread_leaves_memory(store: MemoryStore, clock: Clock) -> None:
    for _ in range(50):
        await store.add_ticket(ticket())
        await store.add_lobby(lobby())
        await store.add_match(match())
    held = store.sizes()
    assert held["tickets"] == held["lobbies"] == held["matches"] == 50
    clock.now += ACTIVE_MATCH_TTL + SWEEP_SECONDS  # nobody read any of it meanwhile
    await store.add_ticket(fresh := ticket())  # writes sweep, now and then
    held = store.sizes()
    assert held["tickets"] == held["searching"] == 1 and held["lobbies"] == held["matches"] == 0
    assert await store.searching_tickets() == [fresh]


async def test_guests_expire_with_their_token(clock: Clock) -> None:
    store = MemoryStore(player_ttl=TOKEN_TTL, clock=clock)
    guest, unread = (PlayerRecord(id=new_id("p"), name=n, created_at=0.0) for n in "AB")
    await store.add_player(guest)
    await store.add_player(unread)
    clock.now += TOKEN_TTL - 1
    assert await store.get_player(guest.id) == guest
    clock.now += 2  # the token signed in with has expired: nobody can act as this guest
    assert await store.get_player(guest.id) is None
    clock.now += SWEEP_SECONDS
    await store.add_player(PlayerRecord(id=new_id("p"), name="C", created_at=clock.now))
    assert store.sizes()["players"] == 1  # the write swept the guest nobody read again
