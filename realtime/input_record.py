"""A match's inputs as applied, `[tick, slot, message]` (message None: the player left and
stands still): the one record that a replay, the checkpoints and a pod taking the match
over all read.

Only what the last checkpoint did not write is held in memory: each checkpoint appends the
entries since the previous one to the store's record, atomically with the checkpoint, so
the record's length always matches the last checkpoint's `inputs_at`. Nothing is copied
twice, and a long match costs a checkpoint no more than a short one. A record past its
bound (`limit` entries) is given up: the match plays on, without a replay.
"""

from __future__ import annotations

from typing import Any

Entry = list[Any]


class InputRecord:
    def __init__(self, limit: int, saved: int = 0) -> None:
        self.limit = limit
        self.saved = saved  # entries the store holds already
        self.unsaved: list[Entry] = []
        self.given_up = False

    def __len__(self) -> int:
        return self.saved + len(self.unsaved)

    def add(self, entry: Entry) -> None:
        if self.given_up:
            return
        if len(self) >= self.limit:
            self.given_up = True
            self.unsaved.clear()
            return
        self.unsaved.append(entry)

    def pending(self) -> list[Entry]:
        """The entries to write with the next checkpoint (then `written(len(pending))`)."""
        return [] if self.given_up else list(self.unsaved)

    def written(self, count: int) -> None:
        """The store holds the first `count` pending entries now."""
        del self.unsaved[:count]
        self.saved += count
