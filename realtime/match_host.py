"""The pod's match host: what the sockets and the app's lifespan talk to.

It puts the parts together and runs their loops; each part owns its own state:
- `OwnedMatches` (owned_matches.py): the matches this pod owns, with lease and deadline;
- `MatchClaims` (match_claims.py): claim or restore a match, or follow its owner;
- `TickScheduler` (tick_scheduler.py): one pod-wide tick that steps every owned match;
- `LeaseKeeper` (lease_keeper.py): lease renewals and checkpoints;
- `OwnerSide` / `EdgeSide` (relay_owner.py, relay_edge.py): the two ends of cross-pod
  play over the `Relay` (relay.py);
- `MatchEnds` (match_ends.py): results, aborts, the first running tick;
- `Spectators` / `WatchEdge` (spectators.py, watch_edge.py): spectators of the matches it
  owns, and its spectators of matches other pods own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from game.modes import AnyMode
from realtime import messages
from realtime.close_codes import CloseCode
from realtime.fanout import Outlet
from realtime.hosted_match import HostedMatch, Seat, StepOverrun
from realtime.lease_keeper import LeaseKeeper
from realtime.match_claims import Draining, Match, MatchClaims, TryLater
from realtime.match_ends import MatchEnds
from realtime.owned_matches import OwnedMatch, OwnedMatches
from realtime.ownership import MatchDirectory, MemoryMatchDirectory
from realtime.relay import PodLink, Relay
from realtime.relay_edge import EdgeSide, RemoteMatch
from realtime.relay_owner import OwnerSide, RemoteConnection, replace
from realtime.spectators import Spectators
from realtime.tasks import cancel_and_wait
from realtime.tick_scheduler import TickScheduler
from realtime.watch_edge import WatchEdge
from skirmish.base.errors import Forbidden
from skirmish.base.store import Store

log = logging.getLogger(__name__)

MATCH_MOVED = {"type": "reconnect", "reason": "match_moved"}
IDLE_LINK_SECONDS = 60.0  # a link to a peer pod heard from and used by nothing this long goes


class MatchHost:
    def __init__(
        self,
        store: Store,
        modes: Mapping[str, AnyMode],
        *,
        tick_rate: int,
        start_wait: float,
        pod: str = "local",
        directory: MatchDirectory | None = None,
        relay: Relay | None = None,
        lease_ttl: float = 10.0,
        record_replays: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_tick: Callable[[], None] | None = None,
        step_budget: float | None = None,
        spectator_delay: float = 2.0,
        spectator_rate: float = 10.0,
    ) -> None:
        self.store = store
        self.pod = pod
        self.directory = directory or MemoryMatchDirectory(lease_ttl)
        self.relay = relay or Relay(None, pod)
        self.lease_ttl = lease_ttl
        self.owned = OwnedMatches()
        self.keeper = LeaseKeeper(
            self.owned, self.directory, store, lease_ttl, clock, self._hand_over
        )
        self.edge = EdgeSide(self.relay)
        self.owner = OwnerSide(self.relay, self.owned)
        self.spectators = Spectators(spectator_delay, spectator_rate, clock)
        self.watching = WatchEdge(self.relay)
        self.ends = MatchEnds(
            store, self.directory, wall_clock, self._release, self.relay.flush,
            self.spectators.concluded,
        )  # fmt: skip
        self.claims = MatchClaims(
            store=store, modes=modes, matches=self.owned, keeper=self.keeper, edge=self.edge,
            pod=pod, start_wait=start_wait, record_replays=record_replays, clock=clock,
            wall_clock=wall_clock, step_budget=step_budget,
        )  # fmt: skip
        rates = sorted({mode.tick_rate for mode in modes.values()}) or [tick_rate]
        self.scheduler = TickScheduler(
            rates, self.owned, self._step, self._end_of_tick, clock, on_tick
        )
        self._loops: list[asyncio.Task[None]] = []

    @property
    def draining(self) -> bool:
        return self.claims.draining

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._loops:
            return
        await self.relay.start(self.on_batch)
        loop = asyncio.get_running_loop()
        period = self.lease_ttl / 3
        self._loops = [
            loop.create_task(self.scheduler.run()),
            loop.create_task(_every(period, self._renew_leases, "lease renewal")),
            loop.create_task(_every(period, self._maintain, "match maintenance")),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(*self._loops)
        self._loops = []
        await self.drain()
        await self.relay.stop()  # after its last batches (the drain's closes) went out
        await self.ends.finish_writes()

    async def drain(self) -> int:
        """Hand every match over: checkpoint it, release its lease, tell its players to
        reconnect (they land on the pod that owns the match path next). Returns how many
        sockets were told. From now on this pod takes no new match."""
        self.claims.draining = True
        await self.ends.wait_for_writes(timeout=5.0)  # a drain never freezes a result
        told = 0
        for owned in self.owned.snapshot():
            if owned.hosted.status == "finished":
                continue  # its conclusion (above) released it, or will
            told += await self._hand_over_drained(owned)
        told += self.edge.restart_all() + self.watching.restart_all()
        told += self.spectators.restart_all()  # those still shown a finished match's end
        self.relay.flush()
        return told

    async def _hand_over_drained(self, owned: OwnedMatch) -> int:
        hosted = owned.hosted
        self.owned.remove(hosted)
        with contextlib.suppress(Exception):  # without it, the last periodic one serves
            await self.keeper.save(hosted, owned.lease.epoch)
        with contextlib.suppress(Exception):
            await self.directory.release(owned.lease)
        told = len(hosted.connected_slots)
        self.spectators.moved(hosted, "server_restarting")
        hosted.broadcast({"type": "reconnect", "reason": "server_restarting"})
        hosted.close_all(CloseCode.RESTART, "server restarting")
        return told

    # -- sockets -------------------------------------------------------------------------

    async def find(self, match_id: str) -> Match:
        return await self.claims.find(match_id)

    async def attach(self, match_id: str, player_id: str, connection: Outlet) -> tuple[Match, Seat]:
        """Seat a player's socket in their match: hosted here, or relayed to its owner."""
        match = await self.claims.find(match_id)
        seat = match.seat_of(player_id)
        if seat is None:
            raise Forbidden("you are not a player of this match")
        if isinstance(match, RemoteMatch):
            previous = self.edge.connect(match, seat, connection)
        else:
            previous = match.connect(seat, connection)
        if previous is not None:
            replace(previous)
        return match, seat

    def detach(self, match: Match, seat: Seat, connection: Outlet) -> None:
        match.disconnect(seat, connection)

    async def watch(self, match_id: str, outlet: Outlet) -> Callable[[], None]:
        """A spectator socket of a match this pod owns, or follows from its owner; returns
        what ends its watching. TryLater while no pod plays the match."""
        if self.draining:
            raise Draining("this server is restarting; reconnect")
        hosted = self.owned.get(match_id)
        if hosted is not None:
            if hosted.status == "finished":  # its result is being written: then a recording
                raise TryLater("the match has just ended; try again for its recording")
            self.spectators.watch(hosted, outlet)
            return lambda: self.spectators.unwatch(match_id, outlet)
        owner = await self.directory.holder(match_id)
        if owner is None or not self.relay.enabled or owner.channel == self.relay.channel:
            raise TryLater("the match is not under way on any server yet; try again")
        self.watching.watch(match_id, owner, outlet)
        return lambda: self.watching.unwatch(match_id, outlet)

    def send_to_local_sockets(self, frame: bytes) -> int:
        """A frame for every match socket on this pod (an announcement): the seats of its
        matches and of the matches it relays. Seats whose sockets live on other pods are
        left to those pods, which send it themselves. Returns how many it reached."""
        seats = [seat for owned in self.owned for seat in owned.hosted.seats]
        seats += [seat for remote in self.edge.remote.values() for seat in remote.conns.values()]
        reached = 0
        for seat in seats:
            outlet = seat.connection
            if (
                outlet is not None
                and not outlet.closed
                and not isinstance(outlet, RemoteConnection)
            ):
                outlet.send_frame(frame)
                reached += 1
        return reached

    def on_batch(self, message: dict[str, Any]) -> None:
        """A batch from a peer pod: entries for our sockets of its matches (edge side), and
        entries for our matches from its sockets (owner side)."""
        link = self.relay.link(message["reply_to"])
        for entry in message["entries"]:
            kind = entry[0]
            if kind in ("s", "f", "c"):
                self.edge.deliver(entry)
            elif kind in ("v", "vf", "vc"):
                self.watching.deliver(entry, link)
            elif kind == "w":
                self._pod_watches(link, entry[1], entry[2])
            else:
                self.owner.receive(link, entry)

    def _pod_watches(self, link: PodLink, match_id: str, count: int) -> None:
        audience = self.spectators.audiences.get(match_id)
        hosted = audience.hosted if audience is not None else self.owned.get(match_id)
        if hosted is not None and (audience is not None or hosted.status != "finished"):
            # (an audience outlives its match by the delay: its end is still to be shown)
            self.spectators.pod_watches(link, hosted, count)
        elif count > 0:  # not ours (any more): its spectators there find the owner again
            link.add(["vf", match_id, messages.encode(MATCH_MOVED)])
            link.add(["vc", match_id, CloseCode.RESTART, "match moved"])

    def _end_of_tick(self) -> None:
        self.spectators.beat()  # what it sends rides this tick's batches
        self.relay.flush()

    # -- one match's tick ----------------------------------------------------------------

    def _step(self, owned: OwnedMatch, now: float) -> None:
        hosted = owned.hosted
        # The clock now, not at the tick's start: a later slice may run some ms after it.
        if self.keeper.expired(owned):
            # Our lease may have expired unrenewed (Redis unreachable): stop before a new
            # owner starts, so that two pods never run the same match.
            log.warning("lease of match %s not renewed in time; handing it over", hosted.id)
            self._hand_over(hosted)
            return
        try:
            outcome = hosted.advance(now)
        except StepOverrun as exc:
            log.warning("match %s: %s; it ends as no contest", hosted.id, exc)
            self.ends.voided(hosted, owned.lease)
            return
        except Exception:  # a bug in one match must not stop the others
            log.exception("match %s: its mode failed; it ends as no contest", hosted.id)
            self.ends.voided(hosted, owned.lease)
            return
        if hosted.status == "running" and hosted.tick == 1:
            self.ends.started(hosted)
        if outcome is not None:
            self.ends.finished(hosted, outcome, owned.lease)

    def _hand_over(self, hosted: HostedMatch) -> None:
        """Stop hosting a match another pod has (or may have) now; its players reconnect."""
        self.owned.remove(hosted)
        self.spectators.moved(hosted)
        hosted.close_all(CloseCode.RESTART, "match moved")

    def _release(self, hosted: HostedMatch) -> None:
        """The match is over here: forget it and give its lease back."""
        owned = self.owned.remove(hosted)
        if owned is not None:  # else released already (drain, lost lease), or a newer one
            self.ends.spawn(self.directory.release(owned.lease))

    # -- periodic ------------------------------------------------------------------------

    async def _renew_leases(self) -> None:
        await asyncio.wait_for(self.keeper.renew(), self.lease_ttl / 3)

    async def _maintain(self) -> None:
        """Checkpoint our matches; watch the owners we relay to and the edges relaying to us."""
        await self.keeper.checkpoint_all()
        await self.edge.check_owners(self.directory)
        await self.watching.check_owners(self.directory)
        self.owner.drop_silent_edges()
        self.spectators.drop_silent_pods()
        in_use = self.edge.links_in_use() | self.watching.links_in_use()
        self.relay.forget_idle_links(time.monotonic(), IDLE_LINK_SECONDS, in_use)


async def _every(period: float, job: Callable[[], Awaitable[None]], what: str) -> None:
    """Run `job` every `period` seconds; a failure is logged and the next run comes."""
    while True:
        await asyncio.sleep(period)
        try:
            await job()
        except Exception:  # unrenewed leases run out; the next tick drops those matches
            log.exception("%s failed", what)
