"""The Dockerfile: hadolint-clean at its default threshold, and shaped as the deploy needs
(multi-stage, slim Python 3.11, non-root, one uvicorn worker, health check, no secrets).
No Docker engine is needed: nothing is built here."""

from __future__ import annotations

import json
import re
import shlex

from tests.deploy.manifests import ROOT, run, tool

DOCKERFILE = ROOT / "Dockerfile"
Instruction = tuple[str, str]


def instructions() -> list[Instruction]:
    """(KEYWORD, arguments) per instruction: continuations joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def stages() -> dict[str, list[Instruction]]:
    """Instructions per stage, by the stage's `AS` name."""
    found: dict[str, list[Instruction]] = {}
    current: list[Instruction] = []
    for keyword, args in instructions():
        if keyword == "FROM":
            current = []
            found[args.split()[-1]] = current
        current.append((keyword, args))
    return found


def final_stage() -> list[Instruction]:
    return list(stages().values())[-1]


def test_hadolint_has_nothing_to_say() -> None:
    result = run([tool("hadolint"), str(DOCKERFILE)])
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_hadolint_is_not_silently_passing() -> None:
    result = run([tool("hadolint"), "-"], stdin="FROM python:latest\nRUN pip install flask\n")
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_builds_wheels_then_installs_them_in_a_slim_python_311_runtime() -> None:
    by_stage = stages()
    assert list(by_stage) == ["build", "base", "loadtest", "runtime"]
    arg = next(args for keyword, args in instructions() if keyword == "ARG")
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?", arg), arg
    assert any("pip wheel" in args for _, args in by_stage["build"])
    assert any("from=build" in args and "pip install" in args for _, args in by_stage["base"])


def test_runtime_is_non_root_with_healthcheck_stopsignal_and_one_worker() -> None:
    runtime = final_stage()
    keywords = dict(runtime)
    user = keywords["USER"].split(":")[0]
    assert user not in ("root", "0") and int(user) >= 1000
    assert keywords["STOPSIGNAL"] == "SIGTERM"
    assert "/healthz" in keywords["HEALTHCHECK"] and "CMD" in keywords["HEALTHCHECK"]
    assert keywords["EXPOSE"] == "8000"
    cmd = json.loads(keywords["CMD"])
    assert cmd == ["skirmish", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert "--workers" not in cmd


def test_no_secret_is_baked_in() -> None:
    for keyword, args in instructions():
        if keyword in ("ENV", "ARG"):
            for token in shlex.split(args):
                name = token.split("=", 1)[0].upper()
                assert not re.search(r"SECRET|TOKEN|PASSWORD|REDIS_URL", name), (keyword, args)


def test_build_context_is_an_allowlist() -> None:
    """Only the package sources reach the build: never .env, .git or the virtualenv."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    # sdk/js/src: the JavaScript SDK the server serves at /sdk/ (api/static/sdk links to it)
    packages = {"game", "api", "realtime", "skirmish", "sdk/js/src"}
    assert allowed == {"pyproject.toml", "README.md", *packages}
    copied = {
        src.rstrip("/")
        for keyword, args in stages()["build"]
        if keyword == "COPY"
        for src in args.split()[:-1]
    }
    assert copied == allowed
