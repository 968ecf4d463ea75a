"""docker-compose.yml: valid against the Compose Specification, and wired as the scale-out
needs it (three distinct pods, one shared secret, Redis, nginx with the hash ring rendered
from the shipped template, Locust behind a profile). No Docker engine is needed."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.manifests import ROOT, load_all, run, tool
from tests.support.redis_server import DEFAULT_PORT

COMPOSE = ROOT / "docker-compose.yml"


def compose() -> dict[str, Any]:
    (doc,) = load_all(COMPOSE.read_text())
    return doc


def services() -> dict[str, Any]:
    return dict(compose()["services"])


def game_services() -> dict[str, Any]:
    return {
        name: svc for name, svc in services().items() if "POD_NAME" in svc.get("environment", {})
    }


def check_compose_schema(path: Path) -> Any:
    argv = [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)]
    return run(argv)


def test_compose_file_matches_the_compose_spec() -> None:
    result = check_compose_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_catches_a_misspelt_key(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("healthcheck:", "healthchek:", 1))
    assert check_compose_schema(broken).returncode != 0


def test_three_game_pods_share_one_secret_and_redis() -> None:
    pods = game_services()
    assert len(pods) == 3
    names = [svc["environment"]["POD_NAME"] for svc in pods.values()]
    assert sorted(names) == sorted(set(names)) == sorted(pods)  # POD_NAME = service name
    secrets = {svc["environment"]["SKIRMISH_TOKEN_SECRET"] for svc in pods.values()}
    (secret,) = secrets
    # Taken from the environment or .env, and compose refuses to run without it.
    assert re.fullmatch(r"\$\{SKIRMISH_TOKEN_SECRET:\?[^}]+\}", secret), secret
    assert "SKIRMISH_TOKEN_SECRET" in (ROOT / "deploy" / "compose" / "env.example").read_text()
    # redis-server is not told a port, so the pods must use its default one.
    assert "--port" not in compose()["services"]["redis"]["command"]
    for svc in pods.values():
        assert svc["environment"]["REDIS_URL"].startswith(f"redis://redis:{DEFAULT_PORT}/")
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "/readyz" in " ".join(svc["healthcheck"]["test"])
        assert svc["build"]["target"] == "runtime"
        assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"]
        assert "command" not in svc  # the image's CMD: one uvicorn worker
        assert "ports" not in svc  # reached through nginx only


def test_every_awaited_service_has_a_healthcheck() -> None:
    all_services = services()
    for name, svc in all_services.items():
        for dependency, rule in svc.get("depends_on", {}).items():
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in all_services[dependency], f"{name} waits on {dependency}"


def test_nginx_serves_the_shipped_template_rendered_for_the_game_services() -> None:
    nginx = services()["nginx"]
    assert "./deploy/compose/nginx.conf:/etc/skirmish/nginx.conf:ro" in nginx["volumes"]
    assert "-c /etc/skirmish/nginx.conf" in " ".join(nginx["command"])
    assert set(nginx["depends_on"]) == set(game_services())
    assert nginx["ports"][0].endswith(":8080")
    check = run([sys.executable, "deploy/compose/render_nginx.py", "--check"])
    assert check.returncode == 0, check.stdout + check.stderr
    config = (ROOT / "deploy" / "compose" / "nginx.conf").read_text()
    ws_upstream = config[config.index("upstream skirmish_ws") :]
    ws_upstream = ws_upstream[: ws_upstream.index("}")]
    assert "hash $uri consistent;" in ws_upstream
    assert re.findall(r"server (\S+)", ws_upstream) == [f"{name}:8000" for name in game_services()]


@pytest.mark.parametrize("name", ["locust-master", "locust-worker"])
def test_locust_runs_only_in_the_loadtest_profile(name: str) -> None:
    svc = services()[name]
    assert svc["profiles"] == ["loadtest"]
    assert svc["build"]["target"] == "loadtest"
    command = svc["command"]
    assert "--config=locust.conf" in command and "--locustfile=locustfile.py" in command
    assert "--host=http://nginx:8080" in command
    # Run from inside the mounted loadtest/, where both files are (as `cd loadtest && locust`).
    assert svc["volumes"] == ["./loadtest:/app/loadtest"]
    assert svc["working_dir"] == "/app/loadtest"
    for file in ("locust.conf", "locustfile.py"):
        assert (ROOT / "loadtest" / file).is_file(), file
    role = "--master" if name == "locust-master" else "--worker"
    assert role in svc["command"]
    others = [svc for svc_name, svc in services().items() if not svc_name.startswith("locust")]
    assert all("profiles" not in svc for svc in others)
