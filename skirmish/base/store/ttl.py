"""How long the stores keep what they keep: Redis as key TTLs, memory by the same rules."""

from __future__ import annotations

from skirmish.base.store.records import MatchRecord

DAY = 24 * 3600
ACTIVE_MATCH_TTL = DAY  # waiting or running; a checkpoint lives as long
FINISHED_MATCH_TTL = 7 * DAY  # its result, and its replay when recorded
PLAYER_TTL = DAY  # a guest: as long as the player token it was signed in with


def match_ttl(match: MatchRecord) -> int:
    return FINISHED_MATCH_TTL if match.status == "finished" else ACTIVE_MATCH_TTL
