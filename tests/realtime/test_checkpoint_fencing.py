"""A pod that lost a match while paused must not rewind it: its late checkpoints are
refused by the store, and the pod hands the match over when one is."""

from __future__ import annotations

from realtime.match_host import MatchHost
from realtime.ownership import MemoryMatchDirectory
from skirmish.base.settings import Settings
from skirmish.base.store import MemoryStore
from skirmish.base.store.records import MatchPlayer, MatchRecord

MODES = Settings(token_secret="x" * 32).modes
LEASE_TTL = 2.0


async def test_a_paused_owner_cannot_overwrite_the_new_owners_checkpoint() -> None:
    store = MemoryStore()
    players = tuple(MatchPlayer(player_id=f"p{i}", name=f"p{i}", slot=i) for i in range(2))
    await store.add_match(
        MatchRecord(id="m1", mode="arena", seed=1, players=players, created_at=0.0)
    )
    world = [0.0]  # the time everyone else sees; the paused pod's own view stands still
    directory = MemoryMatchDirectory(LEASE_TTL, clock=lambda: world[0])
    old = MatchHost(
        store, MODES, tick_rate=30, start_wait=0, pod="a", directory=directory,
        lease_ttl=LEASE_TTL, clock=lambda: 0.0,
    )  # fmt: skip
    new = MatchHost(
        store, MODES, tick_rate=30, start_wait=0, pod="b", directory=directory,
        lease_ttl=LEASE_TTL, clock=lambda: world[0],
    )  # fmt: skip
    try:
        stale = await old.find("m1")
        for _ in range(3):
            old.scheduler.tick_all()
        await old.keeper.checkpoint_all()
        assert (await store.get_checkpoint("m1"))["tick"] == 3  # type: ignore[index]

        world[0] += 10 * LEASE_TTL  # "a" freezes past its lease; "b" takes the match over
        taken = await new.find("m1")
        assert taken is not stale and taken.tick == 3  # resumed from that checkpoint
        assert new.owned.entry("m1").lease.epoch == old.owned.entry("m1").lease.epoch + 1

        for _ in range(5):  # "a" wakes up, believing its lease good, and plays on alone
            old.scheduler.tick_all()
        await old.keeper.checkpoint_all()
        assert (await store.get_checkpoint("m1"))["tick"] == 3  # type: ignore[index]
        assert "m1" not in old.owned  # refused: "a" let the match go
        assert "m1" in new.owned
    finally:
        await old.stop()
        await new.stop()


async def hosting_one_running_match(clock: list[float]) -> tuple[MemoryStore, MatchHost]:
    store = MemoryStore()
    players = tuple(MatchPlayer(player_id=f"p{i}", name=f"p{i}", slot=i) for i in range(2))
    await store.add_match(
        MatchRecord(id="m1", mode="arena", seed=1, players=players, created_at=0.0)
    )
    directory = MemoryMatchDirectory(LEASE_TTL, clock=lambda: clock[0])
    host = MatchHost(
        store, MODES, tick_rate=30, start_wait=0, directory=directory, lease_ttl=LEASE_TTL,
        clock=lambda: clock[0],
    )  # fmt: skip
    await host.find("m1")
    host.scheduler.tick_all()  # started: nobody else is coming
    return store, host


async def test_a_pod_past_its_lease_deadline_writes_no_checkpoint() -> None:
    clock = [0.0]
    store, host = await hosting_one_running_match(clock)
    try:
        clock[0] += LEASE_TTL  # unrenewed for a whole ttl: another pod may own it now
        await host.keeper.checkpoint_all()
        assert await store.get_checkpoint("m1") is None
    finally:
        await host.stop()


async def test_a_refused_checkpoint_drops_the_match_only_if_the_lease_moved() -> None:
    clock = [0.0]
    store, host = await hosting_one_running_match(clock)
    try:
        # The fence says a later epoch wrote (its key outlived a reset directory, say) but
        # the lease is still ours: the lease decides, and the match plays on here.
        assert await store.save_checkpoint("m1", {"tick": 0}, epoch=99)
        await host.keeper.checkpoint_all()
        assert "m1" in host.owned
    finally:
        await host.stop()


async def test_a_lease_handed_back_by_a_claim_runs_as_long_as_the_pods_deadline() -> None:
    """A pod that let a match go unrenewed (Redis away for a while) and gets a socket of
    it again is handed its own, nearly expired lease back: it must not play on past it."""
    clock = [0.0]
    _, host = await hosting_one_running_match(clock)
    try:
        clock[0] += LEASE_TTL * 0.95  # past the pod's own deadline (0.9 ttl), lease still on
        host.scheduler.tick_all()
        assert "m1" not in host.owned  # let go unrenewed
        await host.find("m1")  # a player reconnects here: the claim hands the lease back
        assert "m1" in host.owned
        clock[0] = host.owned.entry("m1").deadline - 0.01  # the last moment the pod plays it
        assert await host.directory.holder("m1") == host.owned.entry("m1").lease
    finally:
        await host.stop()
