"""The interactive API docs: Swagger UI at /docs and ReDoc at /redoc, served from the app.

The pages load their scripts from the `openapi-ui-bundles` package (no CDN: a self-hosted
suite must show its docs with no internet) under /docs/assets/, and start them from a script
file, never an inline one. Each page carries a Content-Security-Policy that allows exactly
what its viewer needs: Swagger UI runs under the same policy as every other page; ReDoc
(styled-components) injects <style> elements and builds its search index in a blob: worker,
so its page alone allows inline styles and blob: workers, and still no inline script.

Both pages meet WCAG 2.2 AA like every other page, with the vendored files untouched:
api-docs.css overrides the viewers' colours that lack contrast and enlarges small targets, and
api-docs.js names their unnamed selects and makes scrollable samples focusable as they render.
"""

from __future__ import annotations

from pathlib import Path

import openapi_ui_bundles
from flask import Blueprint, Flask, Response, abort, render_template, send_from_directory

SHARED_DIR = Path(__file__).parent

# The files the two pages load, and the folder each comes from.
ASSETS = {
    "swagger-ui.css": openapi_ui_bundles.swagger_ui.static_path,
    "swagger-ui-bundle.js": openapi_ui_bundles.swagger_ui.static_path,
    "favicon-32x32.png": openapi_ui_bundles.swagger_ui.static_path,
    "redoc.standalone.js": openapi_ui_bundles.redoc.static_path,
    "api-docs.js": SHARED_DIR / "static",
    "api-docs.css": SHARED_DIR / "static",
}

_BASE_CSP = (
    "default-src 'none'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SWAGGER_UI_CSP = f"{_BASE_CSP}; style-src 'self'"
# styled-components' <style> elements, and the search index's worker (made from a blob: URL).
# ReDoc's footer logo is fetched from its CDN: refused here, and ReDoc then leaves it out.
REDOC_CSP = f"{_BASE_CSP}; style-src 'self' 'unsafe-inline'; worker-src blob:"


def register_api_docs(app: Flask, *, title: str, spec_endpoint: str) -> None:
    """GET /docs (Swagger UI), GET /redoc (ReDoc) and their assets under /docs/assets/."""
    blueprint = Blueprint("api_docs", __name__, template_folder=str(SHARED_DIR / "templates"))

    @blueprint.get("/docs")
    def swagger_ui():
        body = render_template("api_docs/swagger_ui.html", title=title, spec_endpoint=spec_endpoint)
        return _docs_page(body, SWAGGER_UI_CSP)

    @blueprint.get("/redoc")
    def redoc():
        body = render_template("api_docs/redoc.html", title=title, spec_endpoint=spec_endpoint)
        return _docs_page(body, REDOC_CSP)

    @blueprint.get("/docs/assets/<name>")
    def asset(name: str):
        if name not in ASSETS:
            abort(404)
        return send_from_directory(ASSETS[name], name)

    app.register_blueprint(blueprint)


def _docs_page(body: str, csp: str) -> Response:
    """A docs page with its own CSP and the headers every page carries."""
    return Response(
        body,
        mimetype="text/html",
        headers={
            "Content-Security-Policy": csp,
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
        },
    )
