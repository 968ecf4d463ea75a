"""The contract every game mode fulfils, and the types that cross it.

A mode is a set of pure functions over its own immutable state type: the server never
looks inside a state, it only asks the mode to step it, to describe it for each client
and to say whether the match is over. docs/modes.md walks through writing one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

StateT = TypeVar("StateT")
InputT = TypeVar("InputT")

JSON = dict[str, Any]


class InputRejected(ValueError):
    """A client input that the mode refuses; the message is safe to show the client."""


@dataclass(frozen=True, slots=True)
class PlayerStats:
    slot: int
    score: int
    kills: int = 0
    deaths: int = 0
    shots: int = 0
    hits: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a match ended: the winning slot (None for a draw), why, and everyone's stats."""

    winner: int | None
    reason: str
    stats: tuple[PlayerStats, ...] = field(default_factory=tuple)


class GameMode(Protocol[StateT, InputT]):
    """A game mode: pure, deterministic, no I/O.

    `step(state, inputs, tick)` must give the same state for the same arguments on every
    machine; randomness comes only from an RNG carried inside the state. No clocks, no
    I/O, no global state, no iteration over sets or unordered dicts whose order depends
    on hashing: a checkpoint restored on another pod, or a replay, must play on bit for bit.

    Optional (the server looks it up with getattr): `view_schema`, the JSON Schema (draft
    2020-12) of what `view` builds, without the snapshot's server fields. It is published
    in the WebSocket protocol's schema (GET /v1/protocol.json, built by
    skirmish.base.protocol_schema), where a mode without one gets "any object"; if
    declared it must describe every view exactly, must not name the server's fields
    (`type`, `ack`, `tick`, `online`) and must be self-contained (no `$ref`).

    Optional: `settings_schema`, the JSON Schema (an object; each property with its
    `default`) of the settings a lobby or a matchmaking queue may choose for one match,
    published at GET /v1/modes; with it, `configure(settings) -> GameMode`, which builds
    the mode a match with those settings plays (the server validates them against the
    schema first, fills in the defaults, and refuses what `configure` raises ValueError
    for). A configured mode keeps the name, version, tick rate, player counts, teams and
    input schema. A mode without `settings_schema` takes no settings.

    Reserved for the netcode to come (a mode need not define them today): `state_layout`,
    a declared layout of the view with quantisation, for binary deltas; `rewind_ticks`,
    how many ticks of positions a mode keeps for lag-compensated hit tests; and the input
    envelope's `tick`, the tick a client was displaying when it acted.
    """

    name: str
    # Raise it whenever a state or an input of an older version would replay differently:
    # a match is pinned to the version it started with, and a checkpoint of another
    # version is never restored (the match ends as no contest instead).
    version: int
    tick_rate: int
    min_players: int
    max_players: int
    # 0: every player for themself. T >= 2: the player in slot s plays for team s % T.
    teams: int
    # The JSON Schema (draft 2020-12) of an input message's fields other than the
    # envelope's `type` and `seq`; published at GET /v1/modes. parse_input accepts what
    # it describes and refuses the rest.
    input_schema: JSON
    # False: every player sees the same view, built once per tick (view(state, None)).
    # True: view(state, slot) is built for each player, and a player's frames carry only
    # what that player may see (fog of war, hidden hands).
    hides_information: bool

    def initial_state(self, players: int, seed: int) -> StateT: ...

    def parse_input(self, fields: Mapping[str, Any]) -> InputT:
        """Validate one input message or raise InputRejected.

        `fields` is the whole message: `type` and `seq` are the envelope's (already
        checked); every other field is the mode's to check, unknown ones included.
        """
        ...

    def step(self, state: StateT, inputs: Sequence[InputT | None], tick: int) -> StateT:
        """Advance one tick. `inputs[slot]` is that player's input for this tick, or None."""
        ...

    def view(self, state: StateT, slot: int | None) -> JSON:
        """What the player in `slot` sees this tick, JSON-ready; `slot` None: what a
        spectator sees. The server sends it as a `snapshot` with its own `type`, `ack`,
        `tick` and `online` fields added: the view must not use those names. A view may
        carry `events`, what happened during the last step, for clients to show."""
        ...

    def outcome(self, state: StateT) -> Outcome | None:
        """None while the match goes on."""
        ...

    def client_config(self) -> JSON:
        """The constants a client needs to draw and to predict."""
        ...

    def dump_state(self, state: StateT) -> Any:
        """The state as JSON-ready data, exactly (floats and the RNG survive a round trip)."""
        ...

    def load_state(self, data: Any) -> StateT:
        """The inverse of dump_state: a checkpoint comes back bit for bit."""
        ...
