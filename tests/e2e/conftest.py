from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import ServerProcess, skirmish_server

# Short matches so a whole game fits in a test: 8 s or 3 kills, quick fill.
FAST_MATCH_ENV = {
    "SKIRMISH_MATCH_FILL_SECONDS": "1",
    "SKIRMISH_MATCH_START_WAIT_SECONDS": "3",
    "SKIRMISH_ARENA_TIME_LIMIT_SECONDS": "8",
    "SKIRMISH_ARENA_SCORE_LIMIT": "3",
}


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[ServerProcess]:
    with skirmish_server(tmp_path, FAST_MATCH_ENV) as server:
        yield server
