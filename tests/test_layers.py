"""The packages import downward only: game, then the base, then api/realtime/sdk, then the
server's wiring (pyproject.toml, [tool.importlinter], holds the contracts)."""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_layers_import_downward_only() -> None:
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0
