"""What the rendered manifests must say, beyond being schema-valid: probes, drain on stop,
rollout and disruption rules, security, routing, autoscaling, network policy, settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

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

USE_REGEX = "nginx.ingress.kubernetes.io/use-regex"
HASH_BY = "nginx.ingress.kubernetes.io/upstream-hash-by"
NGINX_TEMPLATE = ROOT / "skirmish" / "server" / "nginx.conf.template"
# What happens to a path, by the Service the Ingress picks or the upstream the template
# picks: hashed onto a match's pod, spread over the pods as a socket, or REST.
SERVICE_ROLE = {"skirmish-ws": "ws", "skirmish-watch": "watch", "skirmish": "rest", None: None}
UPSTREAM_ROLE = {"skirmish_ws": "ws", "skirmish_watch": "watch", "skirmish_rest": "rest"}


@dataclass(frozen=True)
class IngressLocation:
    path: str
    kind: str  # the pathType
    service: str | None  # None: the controller's default backend (a 404)


def annotation(ingress: Manifest, name: str) -> str | None:
    return (ingress["metadata"].get("annotations") or {}).get(name)


def ingress_locations(ingresses: list[Manifest]) -> tuple[list[IngressLocation], bool]:
    """The locations ingress-nginx writes for the one host of `ingresses`, in its order, and
    whether as regexes (its controller.go and template.go): a server starts with `/` to the
    default backend, which a Prefix `/` rule replaces; a Prefix path of an Ingress without
    use-regex becomes `path/` plus an Exact `path`; and if ANY Ingress of the host has
    use-regex (or rewrite-target), every location is written `~* "^<path>"`, whatever its
    pathType or Ingress, sorted longest path first."""
    locations = [IngressLocation("/", "Prefix", None)]
    regex = False
    for ingress in ingresses:
        own_regex = annotation(ingress, USE_REGEX) == "true" or bool(
            annotation(ingress, "nginx.ingress.kubernetes.io/rewrite-target")
        )
        regex = regex or own_regex
        for rule in ingress["spec"]["rules"]:
            for item in rule["http"]["paths"]:
                path, kind = item["path"], item["pathType"]
                here = IngressLocation(path, kind, item["backend"]["service"]["name"])
                if kind == "Prefix" and path == "/":
                    locations[0] = here
                elif kind == "Prefix" and not own_regex and not path.endswith("/"):
                    locations += [replace(here, path=path + "/"), replace(here, kind="Exact")]
                else:
                    locations.append(here)
    if regex:  # two stable sorts, as the controller does them
        locations.sort(key=lambda loc: loc.path, reverse=True)
        locations.sort(key=lambda loc: len(loc.path), reverse=True)
    return locations, regex


def routed(ingresses: list[Manifest], path: str) -> str | None:
    """The Service ingress-nginx sends `path` to (None: its 404), by nginx's location rules:
    as regexes, the first that matches; otherwise an exact match, else the longest prefix."""
    locations, regex = ingress_locations(ingresses)
    if regex:
        hit = (loc for loc in locations if re.match(f"^{loc.path}", path, re.IGNORECASE))
        return next(hit).service  # the catch-all `^/` matches every path
    for loc in locations:
        if loc.kind == "Exact" and loc.path == path:
            return loc.service
    prefixes = [loc for loc in locations if loc.kind != "Exact" and path.startswith(loc.path)]
    return max(prefixes, key=lambda loc: len(loc.path)).service


@dataclass(frozen=True)
class NginxLocation:
    modifier: str  # "", "=", "^~", "~" or "~*"
    pattern: str
    body: str  # up to the next location
    upstream: str | None  # what it proxy_passes to; None for a `return`


def template_locations() -> list[NginxLocation]:
    """The locations of skirmish/server/nginx.conf.template, in file order."""
    text = re.sub(r"(?m)(^|\s)#.*$", "", NGINX_TEMPLATE.read_text())  # comments out
    starts = list(re.finditer(r"(?m)^\s*location\s+(?:(=|\^~|~\*?)\s+)?(\S+)\s*\{", text))
    found = []
    for here, after in zip(starts, [*starts[1:], None], strict=True):
        body = text[here.end() : after.start() if after else len(text)]
        upstream = re.search(r"proxy_pass http://(\w+);", body)
        found.append(
            NginxLocation(
                here.group(1) or "", here.group(2), body, upstream.group(1) if upstream else None
            )
        )
    return found


def nginx_template_routes(path: str) -> str | None:
    """The role of the upstream the template sends `path` to, by nginx's rules: an exact
    match; else the longest prefix, at once if it is `^~`; else the first regex location
    that matches, in file order; else that longest prefix."""
    locations = template_locations()
    chosen: NginxLocation | None = None
    exact = [loc for loc in locations if loc.modifier == "=" and loc.pattern == path]
    prefixes = [loc for loc in locations if loc.modifier in ("", "^~")]
    longest = max(
        (loc for loc in prefixes if path.startswith(loc.pattern)),
        key=lambda loc: len(loc.pattern),
        default=None,
    )
    regexes = [
        loc
        for loc in locations
        if loc.modifier.startswith("~")
        and re.search(loc.pattern, path, re.IGNORECASE if loc.modifier == "~*" else 0)
    ]
    if exact:
        chosen = exact[0]
    elif longest is not None and longest.modifier == "^~":
        chosen = longest
    else:
        chosen = regexes[0] if regexes else longest
    upstream = chosen.upstream if chosen else None
    return UPSTREAM_ROLE[upstream] if upstream else None


SAMPLE_PATHS = [
    "/",
    "/v1/auth/guest",
    "/v1/matchmaking/tickets/abc",
    "/static/app.js",
    "/sdk/skirmish.js",
    "/sdkx",
    "/openapi.json",
    "/openapi-json",
    "/healthz",
    "/healthzx",
    "/readyz",
    "/ws/matches/m-123",
    "/ws/matches/m-123/spectate",
    "/ws/matches/m-123/spectate/x",
    "/ws/matches/m-123/spectatex",
    "/ws/matches/spectate",
    "/ws/matches/m-1/2/spectate",
    "/ws/matchesx",
    "/ws/lobbies/l-123",
    "/ws/lobbies/l-123/spectate",
    "/metrics",
    "/admin/drain",
    "/admin",
    "/v1x",
    "/staticx",
    "/debug",
]


def test_ingress_routes_what_the_shipped_nginx_config_routes(docs: list[Manifest]) -> None:
    ingresses = all_of(docs, "Ingress")
    for path in SAMPLE_PATHS:
        assert SERVICE_ROLE[routed(ingresses, path)] == nginx_template_routes(path), path
    # ingress-nginx matches regexes case-insensitively (the template does not): a /V1/...
    # reaches a pod and gets the pod's 404, but nothing private is routed in any case.
    for path in ("/metrics", "/METRICS", "/admin/drain", "/Admin/Drain", "/ADMIN"):
        assert routed(ingresses, path) is None, path


def test_every_path_of_the_host_is_an_anchored_regex(docs: list[Manifest]) -> None:
    """use-regex on one Ingress makes every path of its host a regex; so each Ingress says
    it, and each path is an ImplementationSpecific regex anchored at its end too."""
    ingresses = all_of(docs, "Ingress")
    assert len({rule["host"] for ing in ingresses for rule in ing["spec"]["rules"]}) == 1
    for ingress in ingresses:
        assert annotation(ingress, USE_REGEX) == "true", ingress["metadata"]["name"]
        for rule in ingress["spec"]["rules"]:
            for item in rule["http"]["paths"]:
                assert item["pathType"] == "ImplementationSpecific", item
                assert item["path"].endswith(("$", "(/|$)")), item
                re.compile(item["path"])
    # Why it matters: the plain paths they replace change meaning next to one regex path.
    plain = synthetic_ingress([("/", "Exact", "skirmish"), ("/v1", "Prefix", "skirmish")])
    regex = synthetic_ingress([("/x/[^/]+$", "ImplementationSpecific", "other")], regex=True)
    assert [routed([plain], path) for path in ("/", "/v1", "/v1x")] == ["skirmish"] * 2 + [None]
    # The controller's catch-all `^/` ties with the Exact `^/` and comes first; `^/v1` takes
    # /v1x.
    assert [routed([plain, regex], path) for path in ("/", "/v1x")] == [None, "skirmish"]


def synthetic_ingress(paths: list[tuple[str, str, str]], *, regex: bool = False) -> Manifest:
    """An Ingress with these (path, pathType, Service) rules, with use-regex or not."""
    items = [{"path": p, "pathType": k, "backend": {"service": {"name": s}}} for p, k, s in paths]
    notes = {USE_REGEX: "true"} if regex else {}
    return {"metadata": {"annotations": notes}, "spec": {"rules": [{"http": {"paths": items}}]}}


def test_match_sockets_are_hashed_and_rest_is_not(docs: list[Manifest]) -> None:
    ws = find(docs, "Ingress", "skirmish-ws")
    notes = ws["metadata"]["annotations"]
    assert notes[HASH_BY] == "$request_uri"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(notes["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    paths = [path for rule in ws["spec"]["rules"] for path in rule["http"]["paths"]]
    assert {path["backend"]["service"]["name"] for path in paths} == {"skirmish-ws"}
    rest = find(docs, "Ingress", "skirmish-rest")
    assert ws["spec"]["rules"][0]["host"] == rest["spec"]["rules"][0]["host"]
    assert HASH_BY not in rest["metadata"]["annotations"]
    # The Services reach the game pods on the named port.
    for name in ("skirmish", "skirmish-ws", "skirmish-watch"):
        service = find(docs, "Service", name)
        assert service["spec"]["type"] == "ClusterIP"
        assert service["spec"]["selector"] == GAME_LABELS
        assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_spectator_sockets_are_spread_not_hashed(docs: list[Manifest]) -> None:
    ingresses = all_of(docs, "Ingress")
    assert routed(ingresses, "/ws/matches/m-1/spectate") == "skirmish-watch"
    assert routed(ingresses, "/ws/matches/m-1") == "skirmish-ws"
    watch = find(docs, "Ingress", "skirmish-watch")
    notes = watch["metadata"]["annotations"]
    assert HASH_BY not in notes
    assert notes["nginx.ingress.kubernetes.io/load-balance"] == "round_robin"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(notes["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert notes["nginx.ingress.kubernetes.io/proxy-next-upstream"] == "error timeout"
    # ingress-nginx balances a Service as the first Ingress routing to it says: a Service
    # behind a hashed Ingress must not also be behind an unhashed one.
    by_hash: dict[bool, set[str]] = {True: set(), False: set()}
    for ingress in ingresses:
        for rule in ingress["spec"]["rules"]:
            for item in rule["http"]["paths"]:
                by_hash[HASH_BY in ingress["metadata"]["annotations"]].add(
                    item["backend"]["service"]["name"]
                )
    assert by_hash[True] == {"skirmish-ws"}
    assert not by_hash[True] & by_hash[False]


def test_nginx_template_spreads_spectator_sockets_by_least_conn() -> None:
    template = NGINX_TEMPLATE.read_text()
    upstream = template[template.index("upstream skirmish_watch {") :]
    upstream = upstream[: upstream.index("\n    }")]
    assert "least_conn;" in upstream
    assert "hash" not in upstream
    assert "{{watch_servers}}" in upstream
    (watch,) = [loc for loc in template_locations() if loc.upstream == "skirmish_watch"]
    assert watch.modifier == "~"
    assert nginx_template_routes("/ws/matches/m-1/spectate") == "watch"
    for directive in (
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_read_timeout 1h;",
        "proxy_send_timeout 1h;",
        "proxy_buffering off;",
        "tcp_nodelay on;",
        "proxy_next_upstream error timeout;",
    ):
        assert directive in watch.body, directive
    # Rendered, it lists the same pods as the ring, in the same form.
    from skirmish.server.cluster import render_nginx_config

    pods = ["10.0.0.1:8000", "10.0.0.2:8000"]
    config = render_nginx_config("8080", pods)
    for name in ("skirmish_ws", "skirmish_watch"):
        block = config[config.index(f"upstream {name} {{") :]
        assert re.findall(r"server (\S+) ", block[: block.index("}")]) == pods


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
