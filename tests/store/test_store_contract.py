"""One contract, every backend: what MemoryStore does, RedisStore must do too."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from skirmish.base.errors import AlreadyInLobby, CodeTaken, Conflict, NotFound
from skirmish.base.store import MemoryStore, Store
from skirmish.base.store.protocols import RatingChange
from skirmish.base.store.records import LobbyRecord, MatchRecord, PlayerRecord, new_id
from skirmish.base.store.redis import RedisStore
from tests.store.factories import NOW, cancel, joiner, leaver, lobby, match, ticket


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    backend: Store
    if request.param == "memory":
        backend = MemoryStore()
    else:
        url = request.getfixturevalue("redis_url")
        backend = RedisStore(url, prefix=f"test-{secrets.token_hex(6)}")
    yield backend
    await backend.close()


async def searching_ids(store: Store) -> set[str]:
    return {t.id for t in await store.searching_tickets()}


# -- players ---------------------------------------------------------------------------------


async def test_player_round_trip(store: Store) -> None:
    player = PlayerRecord(id=new_id("p"), name="Ada", created_at=NOW)
    await store.add_player(player)
    assert await store.get_player(player.id) == player
    assert await store.get_player("p_missing") is None


# -- tickets ---------------------------------------------------------------------------------


async def test_ticket_round_trip(store: Store) -> None:
    t = ticket()
    await store.add_ticket(t)
    assert await store.get_ticket(t.id) == t
    assert await store.get_ticket("t_missing") is None
    assert await store.searching_tickets() == [t]


async def test_one_searching_ticket_per_player(store: Store) -> None:
    first = ticket("p1")
    await store.add_ticket(first)
    with pytest.raises(Conflict):
        await store.add_ticket(ticket("p1"))
    assert await searching_ids(store) == {first.id}

    await store.update_ticket(first.id, cancel)
    again = ticket("p1")
    await store.add_ticket(again)  # free to queue once the first one left the search
    assert await searching_ids(store) == {again.id}


async def test_update_ticket(store: Store) -> None:
    kept, cancelled = ticket(), ticket()
    await store.add_ticket(kept)
    await store.add_ticket(cancelled)

    result = await store.update_ticket(cancelled.id, cancel)

    assert result.status == "cancelled"
    assert await store.get_ticket(cancelled.id) == result
    assert await searching_ids(store) == {kept.id}
    with pytest.raises(NotFound):
        await store.update_ticket("t_missing", cancel)


async def test_ticket_change_that_raises_changes_nothing(store: Store) -> None:
    t = ticket()
    await store.add_ticket(t)
    await store.match_tickets([t.id], match([t.id]))
    matched = await store.get_ticket(t.id)

    with pytest.raises(Conflict):
        await store.update_ticket(t.id, cancel)
    assert await store.get_ticket(t.id) == matched


async def test_stale_cancel_keeps_newer_ticket_searching(store: Store) -> None:
    old = ticket("p1")
    await store.add_ticket(old)
    await store.update_ticket(old.id, cancel)
    new = ticket("p1")
    await store.add_ticket(new)

    await store.update_ticket(old.id, cancel)  # a repeated DELETE: idempotent

    assert await searching_ids(store) == {new.id}
    with pytest.raises(Conflict):
        await store.add_ticket(ticket("p1"))


async def test_match_tickets_is_all_or_nothing(store: Store) -> None:
    tickets = [ticket() for _ in range(3)]
    for t in tickets:
        await store.add_ticket(t)
    await store.update_ticket(tickets[1].id, cancel)
    before = [await store.get_ticket(t.id) for t in tickets]
    m = match([t.id for t in tickets])

    assert await store.match_tickets([t.id for t in tickets], m) is False

    assert [await store.get_ticket(t.id) for t in tickets] == before
    assert await store.get_match(m.id) is None
    assert await searching_ids(store) == {tickets[0].id, tickets[2].id}


async def test_match_tickets_with_an_unknown_ticket(store: Store) -> None:
    t = ticket()
    await store.add_ticket(t)
    m = match()
    assert await store.match_tickets([t.id, "t_missing"], m) is False
    assert await store.get_ticket(t.id) == t
    assert await store.get_match(m.id) is None


async def test_match_tickets_claims_every_ticket(store: Store) -> None:
    tickets = [ticket() for _ in range(4)]
    for t in tickets:
        await store.add_ticket(t)
    m = match([t.id for t in tickets])

    assert await store.match_tickets([t.id for t in tickets], m) is True

    for t in tickets:
        expected = t.model_copy(update={"status": "matched", "match_id": m.id})
        assert await store.get_ticket(t.id) == expected
    assert await store.get_match(m.id) == m
    assert await store.searching_tickets() == []
    await store.add_ticket(ticket(tickets[0].player_id))  # matched players may queue again


async def test_match_tickets_never_reuses_a_match_id(store: Store) -> None:
    first, second = ticket(), ticket()
    await store.add_ticket(first)
    await store.add_ticket(second)
    m = match([first.id])
    assert await store.match_tickets([first.id], m) is True

    assert await store.match_tickets([second.id], m) is False
    assert await store.get_ticket(second.id) == second
    assert await store.get_match(m.id) == m


# -- lobbies ---------------------------------------------------------------------------------


async def test_lobby_round_trip_and_open_list(store: Store) -> None:
    first, second = lobby(), lobby()
    await store.add_lobby(first)
    await store.add_lobby(second)
    assert await store.get_lobby(first.id) == first
    assert await store.get_lobby("l_missing") is None
    assert {lb.id for lb in await store.open_lobbies()} == {first.id, second.id}


async def test_update_lobby(store: Store) -> None:
    lb = lobby()
    await store.add_lobby(lb)

    joined = await store.update_lobby(lb.id, joiner("p2"))

    assert [m.player_id for m in joined.members] == [lb.host_id, "p2"]
    assert await store.get_lobby(lb.id) == joined
    assert await store.open_lobbies() == [joined]


async def test_lobby_leaves_open_list_when_started(store: Store) -> None:
    lb = lobby()
    await store.add_lobby(lb)

    def start(current: LobbyRecord) -> LobbyRecord:
        return current.model_copy(update={"status": "started", "match_id": "m_1"})

    started = await store.update_lobby(lb.id, start)

    assert await store.open_lobbies() == []
    assert await store.get_lobby(lb.id) == started
    with pytest.raises(Conflict):
        await store.update_lobby(lb.id, joiner("late"))


async def test_lobby_change_that_raises_changes_nothing(store: Store) -> None:
    lb = lobby(max_players=2)
    await store.add_lobby(lb)
    full = await store.update_lobby(lb.id, joiner("p2"))

    with pytest.raises(Conflict):
        await store.update_lobby(lb.id, joiner("p3"))

    assert await store.get_lobby(lb.id) == full
    assert await store.open_lobbies() == [full]


async def test_update_unknown_lobby(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.update_lobby("l_missing", joiner("p2"))


async def test_a_write_that_changes_a_lobby_bumps_its_revision(store: Store) -> None:
    lb = lobby()
    await store.add_lobby(lb)
    assert lb.revision == 0
    joined = await store.update_lobby(lb.id, joiner("p2"))
    assert joined.revision == 1
    assert await store.update_lobby(lb.id, joiner("p2")) == joined  # no change: no revision
    left = await store.update_lobby(lb.id, leaver("p2"))
    assert left.revision == 2 and await store.get_lobby(lb.id) == left


async def test_a_private_lobby_is_found_by_its_code_while_open(store: Store) -> None:
    private, public = lobby(code="K7WQ2M"), lobby()
    await store.add_lobby(private)
    await store.add_lobby(public)
    assert await store.lobby_by_code("K7WQ2M") == private
    assert await store.lobby_by_code("K7WQ2N") is None
    joined = await store.update_lobby(private.id, joiner("p2"))
    assert await store.lobby_by_code("K7WQ2M") == joined  # the code stays with its lobby
    rival = lobby(code="K7WQ2M")
    with pytest.raises(CodeTaken):  # unique among open lobbies
        await store.add_lobby(rival)
    assert await store.get_lobby(rival.id) is None
    await store.add_lobby(lobby(host=rival.host_id))  # the refused one claimed nobody


async def test_a_lobby_that_stops_being_open_frees_its_code(store: Store) -> None:
    def start(current: LobbyRecord) -> LobbyRecord:
        return current.model_copy(update={"status": "started", "match_id": "m_1"})

    first = lobby(code="ABC234")
    await store.add_lobby(first)
    started = await store.update_lobby(first.id, start)
    assert await store.lobby_by_code("ABC234") is None
    assert started.code == "ABC234"  # the record keeps it; the index does not
    second = lobby(code="ABC234")
    await store.add_lobby(second)  # free again
    assert await store.lobby_by_code("ABC234") == second
    closed = await store.update_lobby(second.id, leaver(second.host_id))
    assert closed.status == "closed" and await store.lobby_by_code("ABC234") is None
    await store.update_lobby(first.id, lambda current: current)  # a late write of the first
    assert await store.lobby_by_code("ABC234") is None  # takes nothing back
    third = lobby(code="ABC234")
    await store.add_lobby(third)
    await store.update_lobby(first.id, lambda current: current)
    assert await store.lobby_by_code("ABC234") == third  # nor takes a new holder's code


# -- matches ---------------------------------------------------------------------------------


async def test_match_round_trip(store: Store) -> None:
    m = match()
    await store.add_match(m)
    assert await store.get_match(m.id) == m
    assert await store.get_match("m_missing") is None
    with pytest.raises(Conflict):
        await store.add_match(m.model_copy(update={"seed": 1}))
    assert await store.get_match(m.id) == m


async def test_update_match(store: Store) -> None:
    m = match()
    await store.add_match(m)

    def finish(current: MatchRecord) -> MatchRecord:
        result = {"winner": "p0", "scores": {"p0": 3, "p1": 1}}
        return current.model_copy(
            update={"status": "finished", "finished_at": NOW + 60.5, "result": result}
        )

    finished = await store.update_match(m.id, finish)

    assert finished.status == "finished"
    assert await store.get_match(m.id) == finished
    with pytest.raises(NotFound):
        await store.update_match("m_missing", finish)


async def test_waiting_matches_oldest_first_until_they_stop_waiting(store: Store) -> None:
    made = [match().model_copy(update={"created_at": NOW + i}) for i in range(4)]
    for m in made[:3]:
        await store.add_match(m)
    tickets = [ticket(), ticket()]
    for t in tickets:
        await store.add_ticket(t)
    assert await store.match_tickets([t.id for t in tickets], made[3])  # the matcher's way

    assert await store.waiting_matches(NOW + 3, limit=10) == made
    assert await store.waiting_matches(NOW + 1, limit=10) == made[:2]  # created at or before
    assert await store.waiting_matches(NOW + 3, limit=2) == made[:2]

    def start(current: MatchRecord) -> MatchRecord:
        return current.model_copy(update={"status": "running", "started_at": NOW + 10})

    await store.update_match(made[0].id, start)
    await store.update_match(made[3].id, start)
    assert await store.waiting_matches(NOW + 3, limit=10) == made[1:3]
    assert await store.waiting_matches(NOW + 3, limit=1) == made[1:2]  # none left out


# -- ratings ---------------------------------------------------------------------------------


async def test_ratings_per_mode(store: Store) -> None:
    assert await store.get_ratings("arena", ["p1", "p2"]) == {}
    await store.set_ratings("arena", {"p1": 1016.0000000001, "p2": 983.75})
    await store.set_ratings("duel", {"p1": 1200.0})
    await store.set_ratings("arena", {})

    assert await store.get_ratings("arena", ["p1", "p2", "p3"]) == {
        "p1": 1016.0000000001,
        "p2": 983.75,
    }
    assert await store.get_ratings("duel", ["p1", "p2"]) == {"p1": 1200.0}
    assert await store.get_ratings("arena", []) == {}


async def test_checkpoints_keep_the_latest_exactly_and_can_be_dropped(store: Store) -> None:
    assert await store.get_checkpoint("m1") is None
    first = {"tick": 30, "state": [1, 18446744073709551615, [[1.5, 2.25]]]}
    latest = {"tick": 60, "state": [2, 12345678901234567890, [[0.1, 1e-7]]]}
    assert await store.save_checkpoint("m1", first, epoch=1)
    assert await store.save_checkpoint("m1", latest, epoch=1)
    assert await store.get_checkpoint("m1") == latest  # floats and 64-bit ints intact
    await store.drop_checkpoint("m1")
    assert await store.get_checkpoint("m1") is None


async def test_a_checkpoint_of_an_earlier_lease_epoch_is_refused(store: Store) -> None:
    """The pod that lost a match (paused past its lease) must not overwrite what the pod
    that took over saved: a failover after that would rewind the match."""
    assert await store.save_checkpoint("m1", {"tick": 90, "by": "old"}, epoch=1)
    assert await store.save_checkpoint("m1", {"tick": 95, "by": "new"}, epoch=2)
    assert not await store.save_checkpoint("m1", {"tick": 120, "by": "old"}, epoch=1)
    assert await store.get_checkpoint("m1") == {"tick": 95, "by": "new"}
    assert await store.save_checkpoint("m1", {"tick": 100, "by": "new"}, epoch=2)
    assert await store.save_checkpoint("m2", {"tick": 1}, epoch=1)  # per match
    assert await store.save_checkpoint("m2", {"tick": 2}, epoch=10)  # numbers, not text:
    assert not await store.save_checkpoint("m2", {"tick": 3}, epoch=9)  # 9 < 10
    await store.drop_checkpoint("m1")  # the match ended: its fence goes with it
    assert await store.save_checkpoint("m1", {"tick": 1}, epoch=1)


async def test_replays_round_trip(store: Store) -> None:
    header, inputs = {"match_id": "m1", "seed": 2**62}, [[1, 0, {"dx": 0.5}], [2, 1, None]]
    assert await store.get_replay("m1") is None
    await store.save_replay("m1", header, inputs)
    assert await store.get_replay("m1") == {**header, "inputs": inputs}


def ended(current: MatchRecord) -> MatchRecord:
    if current.status == "finished":  # a retry keeps the first end, as the match host's
        return current
    return current.model_copy(update={"status": "finished", "finished_at": NOW + 60})


async def test_rating_increments_from_concurrent_matches_all_count(store: Store) -> None:
    await store.set_ratings("arena", {"p1": 1000.0})
    first, second = match(), match()
    await store.add_match(first)
    await store.add_match(second)
    # Two matches of p1 end at once, each computed from the rating it read before.
    await asyncio.gather(
        store.finish_match(first.id, ended, RatingChange("arena", {"p1": 16.0, "p2": -16.0}, 1e3)),
        store.finish_match(second.id, ended, RatingChange("arena", {"p1": 8.5, "p3": -8.5}, 1e3)),
    )
    assert await store.get_ratings("arena", ["p1", "p2", "p3"]) == {
        "p1": 1024.5,
        "p2": 984.0,
        "p3": 991.5,
    }


async def test_ratings_move_once_with_the_write_that_finishes_the_match(store: Store) -> None:
    played, aborted = match(), match()
    await store.add_match(played)
    await store.add_match(aborted)
    change = RatingChange("arena", {"p1": 12.0, "p2": -12.0}, 1000.0)

    finished = await store.finish_match(played.id, ended, change)
    again = await store.finish_match(played.id, ended, change)  # a retry after a lost reply

    assert finished.status == "finished" and again == finished
    assert await store.get_match(played.id) == finished
    assert await store.get_ratings("arena", ["p1", "p2"]) == {"p1": 1012.0, "p2": 988.0}
    await store.update_match(aborted.id, ended)  # ended another way (crash, nobody came)
    await store.finish_match(aborted.id, ended, change)
    assert await store.get_ratings("arena", ["p1", "p2"]) == {"p1": 1012.0, "p2": 988.0}
    with pytest.raises(NotFound):
        await store.finish_match("m_missing", ended, change)
    assert await store.get_ratings("arena", ["p1", "p2"]) == {"p1": 1012.0, "p2": 988.0}


async def test_a_player_is_in_one_open_lobby_at_a_time(store: Store) -> None:
    first, second = lobby(), lobby()
    await store.add_lobby(first)
    await store.add_lobby(second)
    await store.update_lobby(first.id, joiner("p9"))
    with pytest.raises(AlreadyInLobby):  # joining another while in one
        await store.update_lobby(second.id, joiner("p9"))
    with pytest.raises(AlreadyInLobby):  # or hosting another
        await store.add_lobby(lobby(host="p9"))
    unchanged = await store.get_lobby(second.id)
    assert unchanged is not None and unchanged.members == second.members  # nothing changed
    await store.update_lobby(first.id, joiner("p9"))  # the same lobby again: harmless
    await store.update_lobby(first.id, leaver("p9"))
    await store.update_lobby(second.id, joiner("p9"))  # free once out of the first

    def start(current: LobbyRecord) -> LobbyRecord:
        return current.model_copy(update={"status": "started"})

    await store.update_lobby(second.id, start)  # a started lobby holds nobody back
    await store.add_lobby(lobby(host="p9"))
