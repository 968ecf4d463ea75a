"""The server serves the JavaScript SDK's modules as they are, for pages to import."""

from __future__ import annotations

import re

from tests.api.conftest import Api

IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;]*?\bfrom\s+["'](\./[\w.-]+\.js)["']""", re.M)


def test_the_sdk_and_every_module_it_imports_are_served_as_javascript(api: Api) -> None:
    seen, todo = set(), ["skirmish.js"]
    while todo:
        name = todo.pop()
        resp = api.client.get(f"/sdk/{name}")
        assert resp.status_code == 200, name
        assert resp.headers["content-type"].startswith("text/javascript"), name
        seen.add(name)
        todo += [m.removeprefix("./") for m in IMPORT.findall(resp.text)]
        todo = [t for t in todo if t not in seen]
    assert {"client.js", "match.js", "socket.js", "interpolation.js"} <= seen


def test_nothing_outside_the_sdk_is_served_through_it(api: Api) -> None:
    for path in ("/sdk/../../pyproject.toml", "/sdk/%2e%2e/%2e%2e/%2e%2e/pyproject.toml"):
        assert api.client.get(path).status_code == 404
