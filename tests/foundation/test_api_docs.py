"""The API docs pages need nothing from outside the app: every script, style sheet and icon
they name is served by the service itself, no script is inline, and the spec they load is the
service's own (the browser test in tests/browser/test_api_docs.py runs them in Chromium)."""

from __future__ import annotations

import re

import pytest

SERVICES = ("booking", "consent", "notify")


@pytest.mark.parametrize("viewer", ["docs", "redoc"])
@pytest.mark.parametrize("service", SERVICES)
def test_docs_page_loads_only_assets_the_app_serves_and_no_inline_script(apps, service, viewer):
    client = apps[service].test_client()
    page = client.get(f"/{viewer}", environ_overrides={"SCRIPT_NAME": f"/{service}"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-eval" not in csp and "http" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    urls = re.findall(r'(?:src|href|data-spec-url)="([^"]+)"', html)
    assert len(urls) >= 3 and all(url.startswith(f"/{service}/") for url in urls), urls
    for url in urls:
        asset = client.get(url.removeprefix(f"/{service}"))
        assert asset.status_code == 200, url
        assert asset.headers["X-Content-Type-Options"] == "nosniff"


def test_docs_assets_route_serves_only_the_viewers_files(apps):
    client = apps["notify"].test_client()
    for name in ("index.html", "..%2Fapi_docs.py", "swagger-ui.js.map"):
        assert client.get(f"/docs/assets/{name}").status_code == 404, name
