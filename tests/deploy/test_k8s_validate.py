"""Every overlay renders and validates offline against the Kubernetes 1.32 schemas, strictly
(no unknown fields), with any WARN (e.g. a kind without a schema) treated as a failure:

    kubectl kustomize k8s/overlays/<env> | kubernetes-validate --strict -k 1.32.0 -
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.deploy.manifests import (
    K8S,
    KUBERNETES_VERSION,
    OVERLAYS,
    all_of,
    find,
    load_all,
    render,
    render_text,
    run,
    selects,
    tool,
)


def validate(manifests: str) -> tuple[int, list[str]]:
    argv = [tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, "-"]
    result = run(argv, stdin=manifests)
    return result.returncode, (result.stdout + result.stderr).splitlines()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_strictly_without_warnings(overlay: str) -> None:
    code, lines = validate(render_text(overlay))
    problems = [line for line in lines if not line.startswith("INFO ")]
    assert code == 0 and not problems, "\n".join(lines)
    passed = [line for line in lines if " passed for resource " in line]
    assert len(passed) == len(render(overlay)), "every rendered resource was validated"


def test_validator_rejects_unknown_fields_and_flags_unknown_kinds() -> None:
    """The gate above is only as good as its failure modes: check they fire."""
    typo = textwrap.dedent("""\
        apiVersion: v1
        kind: Service
        metadata: {name: s}
        spec: {ports: [{port: 80}], selectr: {app: x}}
        """)
    code, lines = validate(typo)
    assert code != 0 and any(line.startswith("ERROR") for line in lines), lines

    crd = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
    _, lines = validate(crd)
    assert any(line.startswith("WARN") for line in lines), lines


def test_monitoring_component_renders_on_top_of_an_overlay(tmp_path: Path) -> None:
    """The optional component (ServiceMonitor, a CRD) composes with prod; it scrapes the
    headless Service; everything but the CRD kind still validates."""
    overlay = os.path.relpath(K8S / "overlays" / "prod", tmp_path)
    component = os.path.relpath(K8S / "components" / "monitoring", tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources: [{overlay}]\ncomponents: [{component}]\n"
    )
    result = run([tool("kubectl", prefer_path=True), "kustomize", str(tmp_path)])
    assert result.returncode == 0, result.stderr
    docs = load_all(result.stdout)

    monitor = find(docs, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    scraped = [
        svc
        for svc in all_of(docs, "Service")
        if selects(monitor["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"])
    ]
    assert [svc["metadata"]["name"] for svc in scraped] == ["skirmish-pods"]
    assert scraped[0]["spec"]["publishNotReadyAddresses"] is True  # draining pods too
    find(docs, "NetworkPolicy", "skirmish-metrics")

    core = [doc for doc in docs if doc["kind"] != "ServiceMonitor"]
    code, lines = validate(yaml.safe_dump_all(core))
    assert code == 0 and all(line.startswith("INFO") for line in lines), lines
