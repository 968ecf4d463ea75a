"""The pod's match host: the matches this pod owns, the tick scheduler that runs them, and
the sockets it serves for matches owned by other pods.

One pod-wide scheduler (not a task per match): a single timer wake-up per tick serves every
match, ticks stay aligned, and lateness is measured in one place. At the end of each tick
the relay sends each peer pod one batch (see relay.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from game.modes import AnyMode, Outcome
from realtime import messages, metrics
from realtime.fanout import Outlet
from realtime.match_loop import HostedMatch, Seat
from realtime.ownership import Lease, MatchDirectory, MemoryMatchDirectory
from realtime.relay import PodLink, Relay, RemoteConnection, RemoteMatch
from realtime.results import no_contest, record_result
from realtime.tasks import cancel_and_wait
from skirmish.errors import Forbidden, NotFound, SkirmishError
from skirmish.store import Store
from skirmish.store.records import MatchRecord

log = logging.getLogger(__name__)

# A tick steps matches for at most this long before letting the sockets in (a pod of 100
# matches spends ~10 ms on one tick; a ping should not wait for all of it).
TICK_SLICE_SECONDS = 0.005

Match = HostedMatch | RemoteMatch


class MatchOver(SkirmishError):
    status, code = 410, "match_over"


class Draining(SkirmishError):
    status, code = 503, "server_restarting"


class CloseCode:
    """WebSocket close codes, as documented in docs/protocol.md."""

    NORMAL = 1000
    POLICY = 1008
    TOO_BIG = 1009
    INTERNAL = 1011
    RESTART = 1012
    UNAUTHORIZED = 4001
    FORBIDDEN = 4003
    NOT_FOUND = 4004
    REPLACED = 4009
    MATCH_OVER = 4010


CLOSE_FOR_ERROR: Mapping[type[SkirmishError], int] = {
    NotFound: CloseCode.NOT_FOUND,
    Forbidden: CloseCode.FORBIDDEN,
    MatchOver: CloseCode.MATCH_OVER,
    Draining: CloseCode.RESTART,
}


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
    ) -> None:
        self.store = store
        self.modes = modes
        self.tick_rate = tick_rate
        self.start_wait = start_wait
        self.pod = pod
        self.directory = directory or MemoryMatchDirectory(lease_ttl)
        self.relay = relay or Relay(None, pod)
        self.lease_ttl = lease_ttl
        self.record_replays = record_replays
        self.clock = clock
        self.wall_clock = wall_clock
        self.matches: dict[str, HostedMatch] = {}
        self.leases: dict[str, Lease] = {}
        self._loading: dict[str, asyncio.Future[Match]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self.draining = False
        self.recent_lateness: deque[float] = deque(maxlen=300)  # the last ~10 s of ticks
        self._tick_now = 0.0  # the clock at the start of the tick under way
        self.lease_deadline: dict[str, float] = {}  # match → when our lease may have run out

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._loops:
            return
        await self.relay.start(self.on_batch)
        loop = asyncio.get_running_loop()
        self._loops = [
            loop.create_task(self._run()),
            loop.create_task(self._maintain_leases()),
            loop.create_task(self._maintain_matches()),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(*self._loops)
        self._loops = []
        await self.drain()
        await self.relay.stop()  # after its last batches (the drain's closes) went out
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self) -> int:
        """Hand every match over: checkpoint it, release its lease, tell its players to
        reconnect (they land on the pod that owns the match path next). Returns how many
        sockets were told. From now on this pod takes no new match."""
        self.draining = True
        if self._tasks:  # results being written finish first: a drain never freezes them
            await asyncio.wait(list(self._tasks), timeout=5.0)
        told = 0
        for hosted in list(self.matches.values()):
            if hosted.status == "finished":
                continue  # its conclusion (above) released it, or will
            self.lease_deadline.pop(hosted.id, None)
            lease = self.leases.pop(hosted.id, None)
            self.matches.pop(hosted.id, None)
            with contextlib.suppress(Exception):  # without it, the last periodic one serves
                if lease is not None:
                    await self.store.save_checkpoint(hosted.id, hosted.checkpoint(), lease.epoch)
            if lease is not None:
                with contextlib.suppress(Exception):
                    await self.directory.release(lease)
            told += len(hosted.connected_slots)
            hosted.broadcast({"type": "reconnect", "reason": "server_restarting"})
            hosted.close_all(CloseCode.RESTART, "server restarting")
        for remote in list(self.relay.remote.values()):
            told += len(remote.conns)
            remote.broadcast({"type": "reconnect", "reason": "server_restarting"})
            remote.close_all(CloseCode.RESTART, "server restarting")
        self.relay.remote.clear()
        self.relay.flush()
        metrics.MATCHES_HOSTED.set(0)
        return told

    # -- sockets -------------------------------------------------------------------------

    async def attach(self, match_id: str, player_id: str, connection: Outlet) -> tuple[Match, Seat]:
        """Seat a player's socket in their match: hosted here, or relayed to its owner."""
        match = await self._find(match_id)
        seat = match.seat_of(player_id)
        if seat is None:
            raise Forbidden("you are not a player of this match")
        if isinstance(match, RemoteMatch):
            previous = match.connect(seat, connection, self.relay.next_conn_id())
        else:
            previous = match.connect(seat, connection)
        if previous is not None:
            previous.send_frame(messages.error("replaced", "you connected again elsewhere"))
            previous.close(CloseCode.REPLACED, "replaced")
        return match, seat

    def detach(self, match: Match, seat: Seat, connection: Outlet) -> None:
        match.disconnect(seat, connection)

    async def _find(self, match_id: str) -> Match:
        match: Match | None = self.matches.get(match_id) or self.relay.remote.get(match_id)
        if match is not None:
            return match
        loading = self._loading.get(match_id)
        if loading is not None:  # another socket of this match is loading it right now
            return await asyncio.shield(loading)
        future: asyncio.Future[Match] = asyncio.get_running_loop().create_future()
        self._loading[match_id] = future
        try:
            match = await self._load(match_id)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # mark it retrieved: nobody else may be waiting
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._loading[match_id]
        future.set_result(match)
        return match

    async def _load(self, match_id: str) -> Match:
        """Claim the match (its first socket reached us) or follow the pod that has it."""
        record = await self.store.get_match(match_id)
        if record is None:
            raise NotFound(f"match {match_id} not found")
        if record.status == "finished":
            raise MatchOver("the match is over; its result is at /v1/matches/" + match_id)
        if self.draining:
            raise Draining("this server is restarting; reconnect")
        mode = self.modes.get(record.mode)
        if mode is None:  # a pod of another version created it
            raise NotFound(f"mode {record.mode!r} is not played on this server")
        lease = await self.directory.claim(match_id, self.pod, self.relay.channel)
        if lease.pod == self.pod and lease.channel == self.relay.channel:
            # The claim may hand back a lease of ours that this pod let go unrenewed (Redis
            # was unreachable a while): renew it, so that it runs at least as long as the
            # deadline set below from this moment, however slow what follows.
            claimed_at = self.clock()
            if await self.directory.renew([lease]):
                raise Draining("the match moved; reconnect")
            hosted = HostedMatch(
                record, mode, self.clock() + self.start_wait, self.clock, self.record_replays
            )
            checkpoint = await self.store.get_checkpoint(match_id)
            if (
                checkpoint is not None and checkpoint.get("status") != "finished"
            ):  # its last owner drained or died: carry on from there
                hosted.restore(checkpoint)
                log.info("match %s resumed from its checkpoint at tick %d", match_id, hosted.tick)
                # At once, under our epoch: the pod that wrote it may only be paused, and
                # from now on its late checkpoints are refused (a later owner's never are).
                if not await self.store.save_checkpoint(
                    match_id, hosted.checkpoint(), lease.epoch
                ):  # a later owner saved one already: our claim went stale meanwhile
                    with contextlib.suppress(Exception):
                        await self.directory.release(lease)
                    raise Draining("the match moved; reconnect")
            self.matches[match_id] = hosted
            self.leases[match_id] = lease
            self.lease_deadline[match_id] = claimed_at + self.lease_ttl * 0.9
            metrics.MATCHES_HOSTED.set(len(self.matches))
            return hosted
        if not self.relay.enabled:
            raise SkirmishError(f"match {match_id} is owned by pod {lease.pod}")
        remote = RemoteMatch(record, mode, lease, self.relay.link(lease.channel))
        self.relay.remote[match_id] = remote
        return remote

    # -- entries from other pods ---------------------------------------------------------

    def on_batch(self, message: dict[str, Any]) -> None:
        link = self.relay.link(message["reply_to"])
        for entry in message["entries"]:
            kind = entry[0]
            if kind in ("s", "f", "c"):
                self.relay.deliver_to_edge(entry)
                continue
            hosted = self.matches.get(entry[1])
            if hosted is None:  # we no longer own it: tell the edge to reconnect its socket
                if kind == "j":
                    link.add(["c", entry[1], entry[2], CloseCode.RESTART, "match moved"])
                continue
            if kind == "i":
                self._remote_input(hosted, link, entry[2], entry[3], entry[4])
            elif kind == "j":
                self._remote_join(hosted, link, entry[2], entry[3])
            elif kind == "l":
                self._remote_leave(hosted, link, entry[2])

    def _remote_seat(
        self, hosted: HostedMatch, link: PodLink, conn: int
    ) -> tuple[Seat, RemoteConnection] | None:
        """The seat of edge socket `conn` of that edge: conn ids are only unique per edge."""
        for seat in hosted.seats:
            outlet = seat.connection
            if isinstance(outlet, RemoteConnection) and outlet.link is link and outlet.conn == conn:
                return seat, outlet
        return None

    def _remote_join(self, hosted: HostedMatch, link: PodLink, conn: int, player_id: str) -> None:
        seat = hosted.seat_of(player_id)
        if seat is None:
            return
        previous = hosted.connect(seat, RemoteConnection(link, hosted, seat.slot, conn))
        if previous is not None:
            previous.send_frame(messages.error("replaced", "you connected again elsewhere"))
            previous.close(CloseCode.REPLACED, "replaced")

    def _remote_leave(self, hosted: HostedMatch, link: PodLink, conn: int) -> None:
        found = self._remote_seat(hosted, link, conn)
        if found is not None:
            found[1].closed = True
            hosted.disconnect(*found)

    def _remote_input(
        self, hosted: HostedMatch, link: PodLink, conn: int, seq: int, message: Any
    ) -> None:
        found = self._remote_seat(hosted, link, conn)
        if found is None:
            return
        try:
            hosted.accept_input(found[0], seq, message)
        except ValueError:  # validated by the edge already; a mismatch is a bug, not a crash
            log.warning("relayed input refused for match %s", hosted.id)

    # -- the tick ------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.tick_rate
        next_at = loop.time()
        while True:
            next_at += interval
            delay = next_at - loop.time()
            if delay < -5 * interval:  # hopelessly behind: skip the missed ticks, don't spiral
                next_at, delay = loop.time(), 0.0
            # Always yield, even when late: sockets, Redis and lease renewal must get their
            # turn, or an overloaded pod would freeze and lose every lease.
            await asyncio.sleep(max(delay, 0.0))
            started = loop.time()
            lateness = max(started - next_at, 0.0)
            metrics.TICK_LATENESS.observe(lateness)
            self.recent_lateness.append(lateness)
            pending = self.tick_all()
            while pending:
                # Let the sockets in between slices: a ping or an input that arrives during
                # the tick is not made to wait for every match of the pod.
                await asyncio.sleep(0)
                pending = self._tick_some(pending, self._tick_now)
            self.relay.flush()
            metrics.TICK_DURATION.observe(loop.time() - started)

    def tick_all(self) -> list[HostedMatch]:
        """Start a pod-wide tick: step matches for up to TICK_SLICE_SECONDS, return the rest
        (which `_run` steps in further slices, yielding to the event loop in between)."""
        self._tick_now = self.clock()
        return self._tick_some(list(self.matches.values()), self._tick_now)

    def _tick_some(self, pending: list[HostedMatch], now: float) -> list[HostedMatch]:
        ends = time.perf_counter() + TICK_SLICE_SECONDS
        for index, hosted in enumerate(pending):
            if self.matches.get(hosted.id) is hosted:  # not dropped or ended meanwhile
                self._tick_one(hosted, now)
            if time.perf_counter() > ends:
                return pending[index + 1 :]
        return []

    def _tick_one(self, hosted: HostedMatch, now: float) -> None:
        # The clock now, not at the tick's start: a later slice may run some ms after it.
        if self.clock() > self.lease_deadline.get(hosted.id, math.inf):
            self._drop_unrenewed(hosted)
            return
        try:
            outcome = hosted.advance(now)
        except Exception:
            # A bug in one match must not stop the others: end it and tell its players.
            log.exception("match %s failed; aborting it", hosted.id)
            metrics.MATCH_ERRORS.inc()
            self._release(hosted)
            hosted.close_all(CloseCode.INTERNAL, "internal error")
            self._spawn(self._abort(hosted))
            return
        if hosted.status == "running" and hosted.tick == 1:
            self._spawn(self._mark_running(hosted.id))
        if outcome is not None:
            self._spawn(self._conclude(hosted, outcome, self.leases.get(hosted.id)))

    def _drop_unrenewed(self, hosted: HostedMatch) -> None:
        """Our lease may have expired unrenewed (Redis unreachable): stop before a new owner
        starts, so that two pods never run the same match."""
        log.warning("lease of match %s not renewed in time; handing it over", hosted.id)
        self._drop(hosted)

    def _drop(self, hosted: HostedMatch) -> None:
        """Stop hosting a match another pod has (or may have) now; its players reconnect."""
        self.matches.pop(hosted.id, None)
        self.leases.pop(hosted.id, None)
        self.lease_deadline.pop(hosted.id, None)
        hosted.close_all(CloseCode.RESTART, "match moved")
        metrics.MATCHES_HOSTED.set(len(self.matches))

    async def _abort(self, hosted: HostedMatch) -> None:
        """Record a match that crashed as over, so reconnecting players do not revive it."""
        finish = no_contest("aborted", hosted.tick, self.wall_clock(), ends=("waiting", "running"))
        with contextlib.suppress(Exception):
            await self.store.update_match(hosted.id, finish)
            await self.store.drop_checkpoint(hosted.id)

    def _release(self, hosted: HostedMatch) -> None:
        if self.matches.get(hosted.id) is not hosted:
            return  # released already (drain, lost lease), or a newer incarnation
        del self.matches[hosted.id]
        self.lease_deadline.pop(hosted.id, None)
        lease = self.leases.pop(hosted.id, None)
        if lease is not None:
            self._spawn(self.directory.release(lease))
        metrics.MATCHES_HOSTED.set(len(self.matches))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mark_running(self, match_id: str) -> None:
        started_at = self.wall_clock()

        def running(record: MatchRecord) -> MatchRecord:
            if record.status != "waiting":
                return record
            return record.model_copy(update={"status": "running", "started_at": started_at})

        await self.store.update_match(match_id, running)

    async def _conclude(self, hosted: HostedMatch, outcome: Outcome, lease: Lease | None) -> None:
        """Write the result and ratings durably (while still owner), then tell the players."""
        try:
            if lease is not None and await self.directory.holder(hosted.id) != lease:
                raise RuntimeError("lost the lease before the result was written")
            if hosted.record_inputs:  # before the result: a finished match has its replay
                await self.store.save_replay(hosted.id, hosted.replay())
            result = await record_result(self.store, hosted, outcome, self.wall_clock())
            await self.store.drop_checkpoint(hosted.id)
            hosted.broadcast({"type": "result", **result})
            hosted.close_all(CloseCode.NORMAL, "match over")
            metrics.MATCHES_FINISHED.inc()
        except Exception:
            log.exception("could not record the result of match %s", hosted.id)
            hosted.close_all(CloseCode.INTERNAL, "internal error")
        finally:
            self._release(hosted)
            self.relay.flush()

    # -- leases --------------------------------------------------------------------------

    async def _maintain_leases(self) -> None:
        """Renew our leases well inside their TTL, on their own: nothing slower may delay it."""
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                await asyncio.wait_for(self._renew_leases(), self.lease_ttl / 3)
            except Exception:  # unrenewed leases run out; tick_all drops those matches
                log.exception("lease renewal failed")

    async def _maintain_matches(self) -> None:
        """Checkpoint our matches; watch the owners we relay to and the edges relaying to us."""
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                await self._checkpoint_all()
                await self._check_remote_owners()
                self._drop_silent_edges()
            except Exception:
                log.exception("match maintenance failed")

    async def _renew_leases(self) -> None:
        leases = list(self.leases.values())
        renewed_at = self.clock()
        lost = await self.directory.renew(leases)
        for lease in leases:
            if lease not in lost:  # leave a margin: stop before anyone else may start
                self.lease_deadline[lease.match_id] = renewed_at + self.lease_ttl * 0.9
        for lease in lost:
            if self.leases.get(lease.match_id) != lease:
                continue  # released or replaced meanwhile
            hosted = self.matches.get(lease.match_id)
            if hosted is None:
                self.leases.pop(lease.match_id, None)
                self.lease_deadline.pop(lease.match_id, None)
                continue
            # Fenced: another pod has it now; our players go there.
            log.warning("lost the lease of match %s; handing its players over", hosted.id)
            self._drop(hosted)

    def _drop_silent_edges(self) -> None:
        """An edge pod that died leaves seats that look online and keep their last input:
        disconnect them once its link has been silent (edges send a keepalive every second)."""
        now = time.monotonic()
        for hosted in self.matches.values():
            for seat in hosted.seats:
                outlet = seat.connection
                if isinstance(outlet, RemoteConnection) and now - outlet.link.last_heard > 5.0:
                    outlet.closed = True
                    hosted.disconnect(seat, outlet)
        self.relay.forget_idle_links(now, idle=60.0)

    async def _checkpoint_all(self) -> None:
        """A pod that dies loses at most the play since its last checkpoint."""
        for hosted in list(self.matches.values()):
            lease = self.leases.get(hosted.id)
            if hosted.status != "running" or lease is None:
                continue
            if self.clock() > self.lease_deadline.get(hosted.id, math.inf):
                continue  # unrenewed (a long pause): the next tick hands it over
            saved = await self.store.save_checkpoint(hosted.id, hosted.checkpoint(), lease.epoch)
            if saved or self.matches.get(hosted.id) is not hosted:
                continue
            if await self.directory.holder(hosted.id) == lease:  # the fence and lease disagree
                log.error("checkpoint of match %s refused while its lease is ours", hosted.id)
                continue  # (the fence's key lost, say): keep playing; its lease decides
            # A later owner checkpointed it: we were paused or cut off past our lease.
            log.warning("match %s has a newer owner; handing its players over", hosted.id)
            self._drop(hosted)

    async def _check_remote_owners(self) -> None:
        for match_id, remote in list(self.relay.remote.items()):
            if not remote.empty and await self.directory.holder(match_id) == remote.owner:
                continue
            # Empty, or the owner died or moved: our players reconnect to the new owner.
            remote.close_all(CloseCode.RESTART, "match moved")
            if self.relay.remote.get(match_id) is remote:  # not a newer one made meanwhile
                del self.relay.remote[match_id]
