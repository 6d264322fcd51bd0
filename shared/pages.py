"""What every public HTML page shares: layout, language, CSRF, security headers, friendly errors.

Pages are server-rendered Jinja and work without JavaScript. The language comes from `?lang=`
(remembered in a cookie, so the switcher sticks), then Accept-Language. Translations are read
from .po files at start (no compiled .mo files to forget). Every HTML response carries a strict
Content-Security-Policy (no inline script) and `Referrer-Policy: no-referrer`, so tokens in page
URLs never leak to other sites.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    render_template,
    request,
    session,
)
from flask_babel import Babel, get_locale
from flask_limiter import Limiter
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy.exc import SQLAlchemyError

from shared.app import set_missing_headers
from shared.errors import CsrfFailed
from shared.languages import LANGUAGES as LANGUAGE_CODES
from shared.languages import language_name, text_direction
from shared.organization import ORGANIZATION_SOURCE, OrgProfile
from shared.rate_limits import client_address
from shared.translations import compile_catalogs

# code -> the language's own name, for the switcher (FRONTDESK_LANGUAGES).
LANGUAGES = {code: language_name(code) for code in LANGUAGE_CODES}
SHARED_DIR = Path(__file__).parent
LANG_COOKIE = "lang"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
# Set on every HTML answer unless its view set them already.
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}


def select_language() -> str:
    """?lang= first, then the remembered choice, then the browser's Accept-Language."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in LANGUAGES:
        return remembered
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


def csrf_token() -> str:
    """The session's CSRF token (made on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Refuse a form POST whose token does not match the session's."""
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        raise CsrfFailed("This form has expired. Please try again.")


def local_datetime(value: datetime, tz: str, fmt: str = "full") -> str:
    """A UTC datetime shown in `tz`, in the page's language: 'Tuesday, March 10, 2026 at 9:00 AM'."""
    locale = get_locale() or Locale("en")
    if fmt == "date":
        return format_date(value.astimezone(ZoneInfo(tz)).date(), format="full", locale=locale)
    if fmt == "time":
        return format_time(value, format="short", tzinfo=ZoneInfo(tz), locale=locale)
    return format_datetime(
        value,
        format=fmt if fmt != "full" else "EEEE d MMMM y, HH:mm",
        tzinfo=ZoneInfo(tz),
        locale=locale,
    )


def current_org() -> OrgProfile:
    """The organization's profile for this request's pages (read once per request)."""
    if "org" not in g:
        source = current_app.extensions.get(ORGANIZATION_SOURCE)
        try:
            g.org = source() if source else OrgProfile.from_settings(current_app.config)
        except SQLAlchemyError:
            # The database is down: the error stands (a 503, like any other read), and the
            # error page names the organization from the settings without asking again.
            g.org = OrgProfile.from_settings(current_app.config)
            raise
    return g.org


def lang_url(code: str) -> str:
    """This page's URL in another language: the query (a form's GET choices) is kept."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return "?" + urlencode(args, doseq=True)


def N_(message: str) -> str:
    """Mark a string for translation; it is translated where it is shown."""
    return message


FRIENDLY = {
    400: (N_("Something in the request was not right"), N_("Please go back and try again.")),
    403: (
        N_("This page is not for you"),
        N_("If you followed a link from an email, ask us for a new one."),
    ),
    404: (
        N_("We could not find this page"),
        N_(
            "The link may be mistyped, expired or already used. If it came in an email, ask us for a new one."
        ),
    ),
    405: (N_("This page cannot do that"), N_("Please go back and try again.")),
    409: (N_("That was just taken"), N_("Someone else was faster. Please choose another time.")),
    410: (
        N_("This link has expired"),
        N_("Links in our emails last a limited time. Ask us for a new one."),
    ),
    413: (N_("That was too large"), N_("Please send something smaller.")),
    422: (N_("Some answers need attention"), N_("Please go back and check the form.")),
    429: (N_("Too many tries"), N_("Please wait a minute and try again.")),
    500: (
        N_("Something went wrong on our side"),
        N_("Please try again in a few minutes. Nothing you entered was lost."),
    ),
    503: (N_("We are briefly unavailable"), N_("Please try again in a few minutes.")),
}


def render_error_page(status: int, code: str, detail: str) -> Response:
    """The friendly page shown instead of a problem+json for browsers."""
    title, advice = FRIENDLY.get(status, FRIENDLY[500] if status >= 500 else FRIENDLY[400])
    # Read before the template: when it fails, current_org() has fallen back to the settings
    # and the error page still renders.
    with contextlib.suppress(SQLAlchemyError):
        current_org()
    body = render_template("error.html", status=status, code=code, title=title, advice=advice)
    return Response(body, status=status, mimetype="text/html")


def init_pages(app: Flask) -> Limiter:
    """Give an app the shared layout, static files, i18n, CSRF, headers, error pages and a limiter."""
    secure = app.config["PUBLIC_URL"].startswith("https://")  # cookies only over TLS then
    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(SHARED_DIR / "templates")])
    app.register_blueprint(
        Blueprint(
            "fd_static",
            __name__,
            static_folder=str(SHARED_DIR / "static"),
            static_url_path="/static/fd",
        )
    )
    # Flask-Babel merges the shared catalogs and the service's own (.mo files: a bare
    # checkout gets the missing ones compiled here, see shared.translations).
    catalog_folders = [SHARED_DIR / "translations", Path(app.root_path) / "translations"]
    compile_catalogs(catalog_folders, stale=False)
    Babel(
        app,
        locale_selector=select_language,
        default_translation_directories=";".join(str(folder) for folder in catalog_folders),
    )
    app.jinja_env.globals.update(
        csrf_token=csrf_token,
        languages=LANGUAGES,
        text_direction=text_direction,
        lang_url=lang_url,
        get_locale=get_locale,
        # The help center is booking's page; every service's public pages link to it.
        help_url=app.config["PUBLIC_URL"].rstrip("/") + "/booking/help",
    )
    app.jinja_env.filters["local"] = local_datetime
    app.extensions["frontdesk_html_errors"] = render_error_page

    @app.before_request
    def _page_language():
        # g.lang for the pages' views and templates. Choosing it parses the query, cookie and
        # Accept-Language, which the API, feeds and /health never need: only the blueprints
        # with templates (the pages) get it here, an error page when it is rendered.
        blueprint = app.blueprints.get(request.blueprint or "")
        if blueprint is not None and blueprint.template_folder is not None:
            g.lang = str(get_locale())

    @app.context_processor
    def _language_of_any_page():
        if "lang" not in g:
            g.lang = str(get_locale())
        return {}

    @app.context_processor
    def _organization():
        org = current_org()
        return {"org": org, "org_name": org.name}

    @app.before_request
    def _csrf():
        # The one CSRF check: every POST outside the API is a page's form, even an empty one or
        # one with another content type (a bare cross-site form is still a form).
        if request.method == "POST" and "/api/" not in request.path:
            check_csrf()

    @app.after_request
    def _page_headers(response: Response) -> Response:
        # The query is parsed only when it may hold ?lang= (every answer passes here).
        if "lang=" in request.environ.get("QUERY_STRING", ""):
            language = request.args.get("lang")
            if language in LANGUAGES:
                response.set_cookie(
                    LANG_COOKIE, language, max_age=365 * 86400, samesite="Lax", secure=secure
                )
        if response.headers.get("Content-Type", "").startswith("text/html"):
            set_missing_headers(response, PAGE_HEADERS)
        return response

    # Set, not setdefault: Flask defines these keys (SameSite None, Secure False).
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = secure

    @app.after_request
    def _retry_after_only_when_refused(response: Response) -> Response:
        # The limiter (headers_enabled) puts Retry-After on every answer of a limited route,
        # but it means "come back later" only on a 429 or 503, and calendar apps polling a
        # feed may obey it on a 200 or 304. Registered before the limiter: it runs after it.
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        return response

    # One limiter per app, also used by the API's limits (shared.rate_limits); keys carry the
    # service's name so services sharing one storage (redis) never count each other's hits.
    limiter = Limiter(
        client_address,
        app=app,
        storage_uri=app.config["RATELIMIT_STORAGE_URL"],
        default_limits=[],
        headers_enabled=True,
        key_prefix=app.config["SERVICE_NAME"],
    )
    app.extensions["frontdesk_limiter"] = limiter
    return limiter
