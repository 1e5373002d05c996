"""GraphiQL at /graphql in a real Chromium: the page loads its pinned assets and runs a query.

The page takes React and GraphiQL from unpkg.com with Subresource Integrity. The
test never reaches the network: the browser's requests to unpkg are answered
from the same packages installed by npm (tests/api/http_audit/package.json pins
the versions the page names), so a page whose integrity hashes do not match the
published files renders nothing and fails here.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.auth.conftest import LiveHub, running_hub

NODE_MODULES = Path(__file__).resolve().parents[1] / "api" / "http_audit" / "node_modules"
TEMPLATE = Path(__file__).resolve().parents[2] / "hub" / "templates" / "graphiql.html"
# https://unpkg.com/<package>@<version>/<file>
UNPKG = re.compile(r"^/(?P<package>[a-z-]+)@(?P<version>[0-9.]+)/(?P<file>.+)$")
QUERY = "{ customers(first: 1) { totalCount } }"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with running_hub(tmp_path_factory) as live:
        yield live


def unpkg_file(url: str) -> Path:
    """The installed file an unpkg URL of the page names, at exactly the version it names."""
    match = UNPKG.match(urlsplit(url).path)
    assert match, f"the page asks for {url}, not a pinned unpkg file"
    package = NODE_MODULES / match["package"]
    if not package.exists():
        pytest.fail(f"{package} is missing: run `npm ci` in tests/api/http_audit (make test does)")
    installed = json.loads((package / "package.json").read_text())["version"]
    assert installed == match["version"], (
        f"the page pins {match['package']}@{match['version']}, npm installed {installed}: "
        "pin the same version in tests/api/http_audit/package.json"
    )
    return package / match["file"]


def test_every_asset_is_pinned_with_integrity() -> None:
    page = TEMPLATE.read_text()
    tags = re.findall(r"<(?:script|link)\b[^>]*https://[^>]*>", page)
    assert tags, "GraphiQL's assets are not where this test looks for them"
    for tag in tags:
        assert re.search(r'integrity="sha384-[A-Za-z0-9+/=]{64}"', tag), tag
        assert 'crossorigin="anonymous"' in tag, tag


def test_graphiql_runs_a_query_in_a_real_browser(chromium, hub: LiveHub) -> None:
    app = hub.register_app("customers:read", grant_types=["client_credentials"])
    issued = requests.post(
        hub.token_url,
        data={"grant_type": "client_credentials", "scope": "customers:read"},
        auth=(app.client_id, app.secret),
        timeout=10,
    )
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]

    context = chromium.new_context()
    served: list[str] = []

    def unpkg(route) -> None:
        path = unpkg_file(route.request.url)
        served.append(path.name)
        route.fulfill(
            status=200,
            body=path.read_bytes(),
            content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            # crossorigin="anonymous": integrity is only checked on a CORS response.
            headers={"Access-Control-Allow-Origin": "*"},
        )

    # Anything off the hub would be the network: refuse it, except unpkg, answered above
    # (Playwright tries the routes added last first).
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    context.route("https://unpkg.com/**", unpkg)
    # GraphiQL keeps the editors in localStorage ("graphiql:" keys): start with our query and token.
    context.add_init_script(
        "localStorage.setItem('graphiql:query', %s);"
        "localStorage.setItem('graphiql:headers', %s);"
        % (json.dumps(QUERY), json.dumps(json.dumps({"Authorization": f"Bearer {token}"})))
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(hub.url("/graphql"))
        page.locator(".graphiql-execute-button").click(timeout=15_000)
        response = page.locator(".graphiql-response")
        response.get_by_text('"totalCount"').wait_for(timeout=15_000)
        text = response.inner_text()
    finally:
        context.close()

    assert sorted(served) == sorted(
        ["graphiql.min.css", "graphiql.min.js", "react.production.min.js", "react-dom.production.min.js"]
    ), served
    assert '"totalCount": 0' in text, text
    assert not [e for e in errors if "integrity" in e.lower()], errors
