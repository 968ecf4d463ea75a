"""What the rendered manifests must say, beyond being schema-valid: probes, drain on stop,
rollout and disruption rules, security, routing, autoscaling, network policy, settings."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from skirmish.base.settings import Settings
from tests.deploy.manifests import (
    GAME_LABELS,
    OVERLAYS,
    REDIS_LABELS,
    ROOT,
    Manifest,
    all_of,
    container,
    cpu_cores,
    find,
    pod_spec,
    render,
    secret_data,
    selects,
)
from tests.support.redis_server import DEFAULT_PORT

UVICORN_SLACK_SECONDS = 5  # the preStop's HTTP timeout over the drain deadline
HOOK_ONLY_SETTINGS = {
    "SKIRMISH_DRAIN_TIMEOUT_SECONDS",  # read by the preStop hook, ignored by the app
    "SKIRMISH_ADMIN_TOKEN",  # a setting once api/admin.py lands; listed so order is free
}


@pytest.fixture(params=OVERLAYS)
def docs(request: pytest.FixtureRequest) -> list[Manifest]:
    return render(request.param)


def game(docs: list[Manifest]) -> Manifest:
    return find(docs, "Deployment", "skirmish")


def uvicorn_graceful_shutdown_seconds() -> float:
    """`timeout_graceful_shutdown` of the uvicorn options every pod is served with."""
    from skirmish.base.settings import Settings
    from skirmish.server.asgi import server_options

    options = server_options(
        Settings(token_secret="x" * 32), log_config={}, log_level="info", access_log=False
    )
    return float(options["timeout_graceful_shutdown"])


def prestop_script(docs: list[Manifest]) -> str:
    command = container(game(docs), "skirmish")["lifecycle"]["preStop"]["exec"]["command"]
    assert command[:2] == ["python", "-c"], command
    return str(command[2])


def config_value(docs: list[Manifest], key: str) -> str:
    return str(find(docs, "ConfigMap", "skirmish-config")["data"][key])


# --- probes and drain ---------------------------------------------------------------------


def test_probes_use_health_endpoints_on_the_served_port(docs: list[Manifest]) -> None:
    app = container(game(docs), "skirmish")
    assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert app["startupProbe"]["httpGet"]["path"] == "/healthz"
    ports = {port["name"]: port["containerPort"] for port in app["ports"]}
    assert ports == {"http": 8000}  # the image's CMD: skirmish serve --port 8000
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert app[probe]["httpGet"]["port"] == "http"
    # A liveness restart cuts every match on the pod: it must be slower than readiness.
    live, ready = app["livenessProbe"], app["readinessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] >= 60
    assert live["periodSeconds"] * live["failureThreshold"] > (
        ready["periodSeconds"] * ready["failureThreshold"]
    )


def test_prestop_drains_through_the_admin_endpoint_with_the_admin_token(
    docs: list[Manifest],
) -> None:
    script = prestop_script(docs)
    compile(script, "preStop", "exec")  # valid Python
    assert "http://127.0.0.1:8000/admin/drain" in script
    assert 'method="POST"' in script
    assert '"Authorization": "Bearer " + token' in script
    assert 'os.environ.get("SKIRMISH_ADMIN_TOKEN"' in script
    assert 'os.environ.get("SKIRMISH_DRAIN_TIMEOUT_SECONDS"' in script
    env = container(game(docs), "skirmish")
    secret_refs = [src["secretRef"]["name"] for src in env["envFrom"] if "secretRef" in src]
    secret = find(docs, "Secret", "skirmish-secrets")
    assert secret_refs == [secret["metadata"]["name"]]
    assert "SKIRMISH_ADMIN_TOKEN" in secret_data(secret)


def test_grace_period_outlasts_settle_drain_and_shutdown(docs: list[Manifest]) -> None:
    settle = re.search(r"^SETTLE_SECONDS = (\d+)$", prestop_script(docs), re.MULTILINE)
    assert settle, "the preStop script names its settle time"
    drain = float(config_value(docs, "SKIRMISH_DRAIN_TIMEOUT_SECONDS"))
    needed = (
        int(settle.group(1)) + drain + UVICORN_SLACK_SECONDS + uvicorn_graceful_shutdown_seconds()
    )
    grace = pod_spec(game(docs))["terminationGracePeriodSeconds"]
    assert grace >= needed, f"terminationGracePeriodSeconds {grace} < {needed}"
    assert drain > 0


# --- rollout, scale, disruption -----------------------------------------------------------


def test_rolling_update_never_lowers_capacity(docs: list[Manifest]) -> None:
    spec = game(docs)["spec"]
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert "replicas" not in spec, "the HPA owns the replica count"
    assert spec["selector"]["matchLabels"] == GAME_LABELS
    assert selects(GAME_LABELS, spec["template"]["metadata"]["labels"])


def test_pod_name_comes_from_the_downward_api(docs: list[Manifest]) -> None:
    env = {item["name"]: item for item in container(game(docs), "skirmish")["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_one_core_per_pod_and_spread_over_nodes(docs: list[Manifest]) -> None:
    resources = container(game(docs), "skirmish")["resources"]
    assert cpu_cores(resources["limits"]["cpu"]) == 1.0
    assert 0 < cpu_cores(resources["requests"]["cpu"]) <= 1.0
    assert "memory" in resources["limits"]
    keys = {c["topologyKey"] for c in pod_spec(game(docs))["topologySpreadConstraints"]}
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}


def test_prod_requests_a_whole_core() -> None:
    resources = container(game(render("prod")), "skirmish")["resources"]
    assert cpu_cores(resources["requests"]["cpu"]) == 1.0


def test_hpa_scales_the_deployment_on_cpu_and_players_per_pod(docs: list[Manifest]) -> None:
    from realtime.metrics import PLAYERS_CONNECTED

    hpa = find(docs, "HorizontalPodAutoscaler", "skirmish")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "skirmish",
    }
    metrics = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert metrics["Resource"]["resource"]["name"] == "cpu"
    pods = metrics["Pods"]["pods"]
    # The gauge the pods export under that name.
    assert [metric.name for metric in PLAYERS_CONNECTED.collect()] == [pods["metric"]["name"]]
    assert pods["target"]["type"] == "AverageValue"
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    # Scale-down moves matches: slower than scale-up.
    behavior = hpa["spec"]["behavior"]
    assert (
        behavior["scaleDown"]["stabilizationWindowSeconds"]
        > behavior["scaleUp"]["stabilizationWindowSeconds"]
    )


def test_prod_keeps_three_pods_at_least() -> None:
    assert find(render("prod"), "HorizontalPodAutoscaler")["spec"]["minReplicas"] >= 3


def test_disruption_budget_covers_the_game_pods(docs: list[Manifest]) -> None:
    pdb = find(docs, "PodDisruptionBudget", "skirmish")
    assert pdb["spec"]["selector"]["matchLabels"] == GAME_LABELS
    assert pdb["spec"]["maxUnavailable"] == 1


# --- security -----------------------------------------------------------------------------


WORKLOADS = [("Deployment", "skirmish"), ("StatefulSet", "skirmish-redis")]


@pytest.mark.parametrize(("kind", "name"), WORKLOADS)
def test_workloads_run_unprivileged(docs: list[Manifest], kind: str, name: str) -> None:
    spec = pod_spec(find(docs, kind, name))
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] > 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    # Service links would set SKIRMISH_PORT=tcp://... (Service `skirmish`), which the
    # settings read as the port and reject.
    assert spec["enableServiceLinks"] is False
    for item in spec["containers"]:
        context = item["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert "limits" in item["resources"]


def test_namespace_enforces_the_restricted_pod_security_standard(docs: list[Manifest]) -> None:
    labels = find(docs, "Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_network_policies_fence_game_pods_and_redis(docs: list[Manifest]) -> None:
    game_policy = find(docs, "NetworkPolicy", "skirmish-game")
    assert game_policy["spec"]["podSelector"]["matchLabels"] == GAME_LABELS
    (rule,) = game_policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    sources = rule["from"]
    controller = {"kubernetes.io/metadata.name": "ingress-nginx"}
    assert {"namespaceSelector": {"matchLabels": controller}} in sources
    assert {"podSelector": {"matchLabels": GAME_LABELS}} in sources
    assert len(sources) == 2

    redis_policy = find(docs, "NetworkPolicy", "skirmish-redis")
    assert redis_policy["spec"]["podSelector"]["matchLabels"] == REDIS_LABELS
    (rule,) = redis_policy["spec"]["ingress"]
    assert rule == {
        "from": [{"podSelector": {"matchLabels": GAME_LABELS}}],
        "ports": [{"protocol": "TCP", "port": DEFAULT_PORT}],
    }
    # ...and the selectors select the real pods.
    assert selects(GAME_LABELS, game(docs)["spec"]["template"]["metadata"]["labels"])
    redis = find(docs, "StatefulSet", "skirmish-redis")
    assert selects(REDIS_LABELS, redis["spec"]["template"]["metadata"]["labels"])


# --- routing ------------------------------------------------------------------------------


def routed(ingresses: list[Manifest], path: str) -> str | None:
    """The Service ingress-nginx sends `path` to, by the Ingress path rules (longest match)."""
    best: tuple[int, str] | None = None
    for ingress in ingresses:
        for rule in ingress["spec"]["rules"]:
            for item in rule["http"]["paths"]:
                prefix, kind = item["path"], item["pathType"]
                if kind == "Exact":
                    hit = path == prefix
                else:
                    base = prefix.rstrip("/")
                    hit = path == base or path.startswith(base + "/") or prefix == "/"
                if hit and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), item["backend"]["service"]["name"])
    return best[1] if best else None


def nginx_template_routes(path: str) -> str | None:
    """The same decision by skirmish/server/nginx.conf.template's locations."""
    template = (ROOT / "skirmish" / "server" / "nginx.conf.template").read_text()
    rest = re.search(r"location ~ (\^\S+) \{", template)
    assert rest and "location /ws/matches/ {" in template
    assert "location /ws/lobbies/ {" in template
    if path.startswith(("/ws/matches/", "/ws/lobbies/")):
        return "ws"
    return "rest" if re.match(rest.group(1), path) else None


SAMPLE_PATHS = [
    "/",
    "/v1/auth/guest",
    "/v1/matchmaking/tickets/abc",
    "/static/app.js",
    "/sdk/skirmish.js",
    "/sdkx",
    "/openapi.json",
    "/healthz",
    "/readyz",
    "/ws/matches/m-123",
    "/ws/lobbies/l-123",
    "/metrics",
    "/admin/drain",
    "/admin",
    "/v1x",
    "/debug",
]


def test_ingress_routes_what_the_shipped_nginx_config_routes(docs: list[Manifest]) -> None:
    ingresses = all_of(docs, "Ingress")
    service_role = {"skirmish": "rest", "skirmish-ws": "ws", None: None}
    for path in SAMPLE_PATHS:
        assert service_role[routed(ingresses, path)] == nginx_template_routes(path), path
    assert routed(ingresses, "/metrics") is None
    assert routed(ingresses, "/admin/drain") is None


def test_match_sockets_are_hashed_and_rest_is_not(docs: list[Manifest]) -> None:
    ws = find(docs, "Ingress", "skirmish-ws")
    notes = ws["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/upstream-hash-by"] == "$request_uri"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(notes["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    paths = [path for rule in ws["spec"]["rules"] for path in rule["http"]["paths"]]
    assert {path["backend"]["service"]["name"] for path in paths} == {"skirmish-ws"}
    rest = find(docs, "Ingress", "skirmish-rest")
    assert ws["spec"]["rules"][0]["host"] == rest["spec"]["rules"][0]["host"]
    assert "nginx.ingress.kubernetes.io/upstream-hash-by" not in rest["metadata"]["annotations"]
    # Both Services reach the game pods on the named port.
    for name in ("skirmish", "skirmish-ws"):
        service = find(docs, "Service", name)
        assert service["spec"]["type"] == "ClusterIP"
        assert service["spec"]["selector"] == GAME_LABELS
        assert service["spec"]["ports"][0]["targetPort"] == "http"


# --- Redis, config and secrets -------------------------------------------------------------


def test_redis_is_one_persistent_instance_behind_a_password(docs: list[Manifest]) -> None:
    redis = find(docs, "StatefulSet", "skirmish-redis")
    assert redis["spec"]["replicas"] == 1
    args = container(redis, "redis")["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    assert args[args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    assert redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    # redis-server is not told a port, so it listens on the default one: the container,
    # the Service and the game pods' REDIS_URL must all say that one.
    assert "--port" not in args
    assert container(redis, "redis")["ports"] == [
        {"name": "redis", "containerPort": DEFAULT_PORT, "protocol": "TCP"}
    ]
    service = find(docs, "Service", "skirmish-redis")
    assert service["spec"]["selector"] == REDIS_LABELS
    (port,) = service["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (DEFAULT_PORT, "redis")
    env = {item["name"]: item for item in container(game(docs), "skirmish")["env"]}
    url = f"redis://:$(REDIS_PASSWORD)@skirmish-redis:{DEFAULT_PORT}/0"
    assert env["REDIS_URL"]["value"] == url


def pod_environment(docs: list[Manifest]) -> dict[str, str]:
    """The game container's environment as the kubelet builds it: envFrom, then env with
    $(VAR) references expanded."""
    app = container(game(docs), "skirmish")
    environ: dict[str, str] = {}
    for source in app["envFrom"]:
        if "configMapRef" in source:
            environ.update(find(docs, "ConfigMap", "skirmish-config")["data"])
        else:
            environ.update(secret_data(find(docs, "Secret", "skirmish-secrets")))
    for item in app["env"]:
        value = item.get("value", "pod-0")
        environ[item["name"]] = re.sub(r"\$\((\w+)\)", lambda m: environ[m.group(1)], value)
    return environ


def test_config_keys_are_settings_the_app_reads(docs: list[Manifest]) -> None:
    fields = {f"SKIRMISH_{name.upper()}" for name in Settings.model_fields}
    keys = set(find(docs, "ConfigMap", "skirmish-config")["data"])
    secrets = secret_data(find(docs, "Secret", "skirmish-secrets"))
    keys |= {key for key in secrets if key.startswith("SKIRMISH_")}
    unknown = keys - fields - HOOK_ONLY_SETTINGS
    assert not unknown, f"not settings of skirmish/base/settings.py: {sorted(unknown)}"


def test_dev_pods_accept_their_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    environ = pod_environment(render("dev"))
    for key in [*Settings.model_fields, "REDIS_URL", "POD_NAME"]:
        monkeypatch.delenv(f"SKIRMISH_{key.upper()}", raising=False)
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.redis_url == (
        f"redis://:dev-only-redis-password@skirmish-redis:{DEFAULT_PORT}/0"
    )
    assert settings.tick_rate == 30
    assert settings.token_secret == environ["SKIRMISH_TOKEN_SECRET"]


def test_prod_placeholder_secret_stops_the_pods_from_starting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fail-safe: a prod rollout that forgot to replace CHANGE_ME does not sign tokens with
    a secret that is public in this repository."""
    environ = pod_environment(render("prod"))
    assert environ["SKIRMISH_TOKEN_SECRET"] == "CHANGE_ME"
    assert environ["SKIRMISH_ADMIN_TOKEN"] == "CHANGE_ME"
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match="token_secret"):
        Settings()
