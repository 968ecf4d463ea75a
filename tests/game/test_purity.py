"""game/ is the pure core: it may import only the standard library and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

GAME = Path(__file__).resolve().parents[2] / "game"
FORBIDDEN_STDLIB = {"asyncio", "socket", "time", "datetime", "random", "threading", "os", "io"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_game_imports_only_pure_stdlib_and_itself() -> None:
    allowed = (set(sys.stdlib_module_names) - FORBIDDEN_STDLIB) | {"game", "__future__"}
    files = sorted(GAME.rglob("*.py"))
    assert files
    offenders = {
        str(path.relative_to(GAME)): sorted(imported_roots(path) - allowed) for path in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}
