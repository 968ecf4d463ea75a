"""Shared helpers of the deploy tests: where the tools are, rendered overlays, lookups."""

from __future__ import annotations

import base64
import functools
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.32.0"
GAME_LABELS = {"app.kubernetes.io/name": "skirmish", "app.kubernetes.io/component": "game"}
REDIS_LABELS = {"app.kubernetes.io/name": "skirmish", "app.kubernetes.io/component": "redis"}
DEV_DEPS_HINT = "install the dev dependencies: .venv/bin/pip install -e '.[dev]'"

Manifest = dict[str, Any]


def tool(name: str, *, prefer_path: bool = False) -> str:
    """A command-line tool: the one installed next to this interpreter (the project's dev
    dependencies), or the one on PATH. `prefer_path` reverses the order (kubectl: a
    system kubectl, when there is one, is the one operators use)."""
    venv = Path(sys.executable).with_name(name)
    local = str(venv) if venv.exists() else None
    found = shutil.which(name)
    candidates = [found, local] if prefer_path else [local, found]
    for candidate in candidates:
        if candidate:
            return candidate
    pytest.fail(f"{name} not found on PATH nor next to {sys.executable}: {DEV_DEPS_HINT}")


def run(argv: Sequence[str], *, stdin: str | None = None, cwd: Path = ROOT) -> Any:
    return subprocess.run(
        list(argv), input=stdin, capture_output=True, text=True, cwd=cwd, timeout=60, check=False
    )


@functools.cache
def render_text(overlay: str) -> str:
    """`kubectl kustomize k8s/overlays/<overlay>` (kubectl carries kustomize)."""
    result = run([tool("kubectl", prefer_path=True), "kustomize", str(K8S / "overlays" / overlay)])
    assert result.returncode == 0, f"kustomize {overlay} failed:\n{result.stderr}"
    return str(result.stdout)


@functools.cache
def render(overlay: str) -> list[Manifest]:
    """The rendered overlay, parsed once per test session: treat it as read-only."""
    return load_all(render_text(overlay))


def load_all(text: str) -> list[Manifest]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [doc for doc in yaml.load_all(text, Loader=loader) if doc]  # a safe loader (C or Python)


def find(docs: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    """The one manifest of `kind` (named `name`, or `name-<hash>` when generated)."""
    matches = [doc for doc in docs if doc["kind"] == kind and (name is None or named(doc, name))]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def named(doc: Manifest, name: str) -> bool:
    """`name`, or kustomize's `name-<10-character hash>` for a generated ConfigMap/Secret."""
    actual = str(doc["metadata"]["name"])
    if actual == name:
        return True
    hashed = actual.startswith(f"{name}-") and len(actual) == len(name) + 11
    return hashed and doc["kind"] in ("ConfigMap", "Secret")


def all_of(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [doc for doc in docs if doc["kind"] == kind]


def pod_spec(workload: Manifest) -> Manifest:
    return dict(workload["spec"]["template"]["spec"])


def container(workload: Manifest, name: str) -> Manifest:
    (found,) = [c for c in pod_spec(workload)["containers"] if c["name"] == name]
    return dict(found)


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def secret_data(secret: Manifest) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def cpu_cores(quantity: str | int | float) -> float:
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)
