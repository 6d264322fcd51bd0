"""API tokens: roles `admin`, `staff` and `service`, sent as `Authorization: Bearer`.

Only the SHA-256 of a token is stored. A staff token is bound to one staff member (the
booking service's staff id). Each service keeps its own `api_tokens` table, made from the
same model factory, so no service reads another's database.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import Flask, current_app, g, request
from flask.views import MethodView
from flask_smorest.utils import deepupdate
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.api import Blueprint
from shared.db import utcnow
from shared.errors import Forbidden, NotFound, Unauthorized, ValidationFailed

ROLES = ("admin", "staff", "service")


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token: what is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> str:
    """A new random token (256 bits) with a readable prefix."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def tokens_match(token: str, stored_hash: str) -> bool:
    """Compare a presented token with a stored hash in constant time."""
    return hmac.compare_digest(hash_token(token), stored_hash)


def make_token_model(base: type) -> type:
    """Create the `api_tokens` model on a service's declarative base."""

    class ApiToken(base):
        __tablename__ = "api_tokens"

        id: Mapped[int] = mapped_column(primary_key=True)
        token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
        role: Mapped[str] = mapped_column(sa.String(16))
        staff_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
        name: Mapped[str] = mapped_column(sa.String(200), default="")
        created_at: Mapped[datetime] = mapped_column(default=utcnow)
        revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
        # Console sessions are tokens with an absolute end; tokens made for scripts have none.
        expires_at: Mapped[datetime | None] = mapped_column(nullable=True)

        __table_args__ = (sa.CheckConstraint("role in ('admin', 'staff', 'service')", name="role"),)

    return ApiToken


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role, and for staff the one staff member they are."""

    role: str
    token_id: int | None = None
    staff_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_act_for_staff(self, staff_id: int) -> bool:
        """Admins and services act for anyone; a staff token only for its own staff member."""
        return self.role in ("admin", "service") or self.staff_id == staff_id


def create_token(
    *, session: Session, model: type, role: str, staff_id: int | None = None, name: str = ""
) -> str:
    """Store a new token's hash and return the token itself (shown once)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if role == "staff" and staff_id is None:
        raise ValueError("a staff token needs the staff member's id")
    token = new_token(f"fd{role[0]}")
    session.add(model(token_hash=hash_token(token), role=role, staff_id=staff_id, name=name))
    session.flush()
    return token


def store_token(
    *,
    session: Session,
    model: type,
    token: str,
    role: str,
    staff_id: int | None = None,
    name: str = "",
    expires_at: datetime | None = None,
) -> None:
    """Store the hash of a token made elsewhere (the same token known to several services)."""
    register_token_hash(
        session=session,
        model=model,
        token_hash=hash_token(token),
        role=role,
        staff_id=staff_id,
        name=name,
        expires_at=expires_at,
    )


def register_token_hash(
    *,
    session: Session,
    model: type,
    token_hash: str,
    role: str,
    staff_id: int | None = None,
    name: str = "",
    expires_at: datetime | None = None,
) -> Any:
    """Store a token by its hash, unless that hash is known already (a repeat changes nothing)."""
    row = session.scalar(sa.select(model).where(model.token_hash == token_hash))
    if row is None:
        row = model(
            token_hash=token_hash, role=role, staff_id=staff_id, name=name, expires_at=expires_at
        )
        session.add(row)
        session.flush()
    return row


def revoke_tokens(
    *,
    session: Session,
    model: type,
    token_id: int | None = None,
    token_hash: str | None = None,
    staff_id: int | None = None,
) -> int:
    """Revoke one token (by id or hash) or every token of a staff member; returns how many."""
    query = sa.select(model).where(model.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(model.id == token_id)
    if token_hash is not None:
        query = query.where(model.token_hash == token_hash)
    if staff_id is not None:
        query = query.where(model.staff_id == staff_id)
    rows = session.scalars(query).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    session.flush()
    return len(rows)


@functools.cache
def _lookup(model: type) -> sa.Select:
    """The live token by hash, as (id, role, staff_id): built once per model (every request
    with a token runs it), on the table's columns (plain rows, no ORM loading)."""
    tokens = model.__table__.c
    return sa.select(tokens.id, tokens.role, tokens.staff_id).where(
        tokens.token_hash == sa.bindparam("hash"),
        tokens.revoked_at.is_(None),
        sa.or_(tokens.expires_at.is_(None), tokens.expires_at > sa.bindparam("now")),
    )


def authenticate(*, session: Session, model: type, header: str | None) -> Principal:
    """Resolve an Authorization header to a Principal, or raise 401."""
    if not header:
        raise Unauthorized(
            "Send an API token as 'Authorization: Bearer <token>'.", code="token_missing"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Send an API token as 'Authorization: Bearer <token>'.", code="token_missing"
        )
    row = session.execute(
        _lookup(model), {"hash": hash_token(token.strip()), "now": utcnow()}
    ).first()
    if row is None:
        raise Unauthorized("The API token is unknown, revoked or expired.", code="token_invalid")
    return Principal(role=row.role, token_id=row.id, staff_id=row.staff_id)


def current_principal() -> Principal | None:
    """The authenticated caller of this request, if any."""
    return g.get("principal")


def _required_roles(app: Flask) -> tuple[str, ...] | None:
    """Roles the endpoint of this request needs (set by @require), or None for public ones."""
    view = app.view_functions.get(request.endpoint or "")
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return getattr(view, "_required_roles", None)
    handler = getattr(view_class, request.method.lower(), None)
    if handler is None and request.method == "OPTIONS":
        # Flask answers OPTIONS itself: a route that needs a token for every method needs
        # one for OPTIONS too, so the hooks that follow always have a principal.
        needed = [
            getattr(getattr(view_class, m.lower(), None), "_required_roles", None)
            for m in view_class.methods or ()
        ]
        if needed and all(needed):
            return tuple(sorted({role for roles in needed for role in roles}))
        return None
    return getattr(handler, "_required_roles", None)


def authorize(roles: tuple[str, ...]) -> Principal:
    """Authenticate the request and check its role (401 / 403), once per request."""
    from shared import db  # local: avoids a cycle at import time

    principal = g.get("principal")
    if principal is None:
        model = current_app.extensions["frontdesk_token_model"]
        principal = authenticate(
            session=db.session(), model=model, header=request.headers.get("Authorization")
        )
        g.principal = principal
    if principal.role not in roles:
        raise Forbidden(
            f"This needs a token with role {' or '.join(roles)}.", code="role_forbidden"
        )
    return principal


def _is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or ip).is_loopback


def from_loopback(environ: dict) -> bool:
    """True when the request comes from this host: the socket peer (before any ProxyFix) and
    every address a proxy forwarded are loopback. Through a proxy on this host, a visitor from
    elsewhere is not loopback."""
    peer = environ.get("werkzeug.proxy_fix.orig", environ).get("REMOTE_ADDR") or ""
    forwarded = [a for a in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if "HTTP_FORWARDED" in environ or "HTTP_X_REAL_IP" in environ:
        return False
    return all(_is_loopback(address) for address in [peer, *forwarded])


def require_internal() -> None:
    """An internal route (metrics, notify's docs): callers on this host, or anyone with an admin
    or service token (Prometheus on another host sends one). 401/403 otherwise."""
    if not from_loopback(request.environ):
        authorize(("admin", "service"))


def init_app(app: Flask) -> None:
    """Check tokens before the body is parsed, so a caller without access learns nothing more."""

    @app.before_request
    def _authorize_early():
        roles = _required_roles(app)
        if roles is not None:
            authorize(roles)


def require(*roles: str) -> Callable:
    """Decorate a view: a token of one of `roles` is needed (401 without one, 403 for others).

    The check runs before the request body is parsed (see init_app), whatever the decorator
    order. It also documents the bearer security, the roles (`x-roles`) and the 401/403
    responses in the OpenAPI document.
    """

    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            authorize(roles)
            return func(*args, **kwargs)

        wrapper._required_roles = roles
        wrapper._apidoc = deepcopy(getattr(func, "_apidoc", {}))
        wrapper._apidoc["manual_doc"] = deepupdate(
            deepcopy(wrapper._apidoc.get("manual_doc", {})),
            {
                "security": [{"bearerAuth": []}],
                "description": f"Needs a token with role: {', '.join(roles)}.",
                "x-roles": list(roles),
            },
        )
        responses = wrapper._apidoc.setdefault("response", {}).setdefault("responses", {})
        for status, name in ((401, "UNAUTHORIZED"), (403, "FORBIDDEN")):
            responses.setdefault(status, []).append(name)
        return wrapper

    return decorator


# --- the token API every service serves ---------------------------------------------------------

TOKENS_PATH = "/api/v1/tokens"
REVOKE_PATH = "/api/v1/tokens/revoke"
# Roles a registered token may have: people. Service tokens are made on the server only.
REGISTERED_ROLES = ("admin", "staff")


def token_blueprint(model: type) -> Blueprint:
    """The `/api/v1/tokens` routes over a service's `api_tokens`: register a token made elsewhere
    by its hash (a console session), list tokens (admin), revoke one or a staff member's all."""
    from shared import db  # local: avoids a cycle at import time

    class TokenRegisterSchema(ma.Schema):
        token_hash = ma.fields.String(
            required=True,
            validate=ma.validate.Regexp(r"^[0-9a-f]{64}$"),
            metadata={"description": "SHA-256 hex digest of the token (the token never travels)."},
        )
        role = ma.fields.String(required=True, validate=ma.validate.OneOf(REGISTERED_ROLES))
        staff_id = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 2**31 - 1))
        name = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))
        expires_at = ma.fields.AwareDateTime(
            required=True, metadata={"description": "When the token stops working (UTC)."}
        )

    class TokenSchema(ma.Schema):
        id = ma.fields.Integer()
        role = ma.fields.String()
        staff_id = ma.fields.Integer(allow_none=True)
        name = ma.fields.String()
        created_at = ma.fields.AwareDateTime()
        expires_at = ma.fields.AwareDateTime(allow_none=True)
        revoked_at = ma.fields.AwareDateTime(allow_none=True)

    class TokenRevokeSchema(ma.Schema):
        token_id = ma.fields.Integer(validate=ma.validate.Range(1, 2**31 - 1))
        token_hash = ma.fields.String(validate=ma.validate.Regexp(r"^[0-9a-f]{64}$"))
        staff_id = ma.fields.Integer(
            validate=ma.validate.Range(1, 2**31 - 1),
            metadata={"description": "Every token of this staff member (sign out everywhere)."},
        )

        @ma.validates_schema
        def _one_target(self, data, **kwargs):
            if not data:
                raise ma.ValidationError("Name a token_id, a token_hash or a staff_id.", "_schema")

    class RevokedSchema(ma.Schema):
        revoked = ma.fields.Integer(metadata={"description": "How many tokens were revoked now."})

    blp = Blueprint(
        "tokens",
        __name__,
        url_prefix=TOKENS_PATH,
        description="API tokens: register a token made elsewhere by its hash (console sessions), list, revoke",
    )

    @blp.route("")
    class Tokens(MethodView):
        @blp.response(200, TokenSchema(many=True))
        @require("admin")
        def get(self):
            """List tokens (never their hashes)."""
            return db.session().scalars(sa.select(model).order_by(model.id)).all()

        @blp.arguments(TokenRegisterSchema)
        @blp.response(201, TokenSchema)
        @require("admin", "service")
        def post(self, data):
            """Register a token by its hash, with its role, staff member and end (idempotent)."""
            return register_token_hash(session=db.session(), model=model, **data)

    @blp.route("/revoke")
    class TokenRevocation(MethodView):
        @blp.arguments(TokenRevokeSchema)
        @blp.response(200, RevokedSchema)
        @require("admin", "service", "staff")
        def post(self, data):
            """Revoke a token, or every token of a staff member (staff: only their own)."""
            principal = current_principal()
            if principal.role == "staff" and (
                "token_hash" in data
                or data.get("token_id", principal.token_id) != principal.token_id
                or data.get("staff_id", principal.staff_id) != principal.staff_id
            ):
                raise NotFound("No such token.", code="token_not_found")
            if "token_hash" in data and "token_id" in data:
                raise ValidationFailed(
                    "Name one token: a token_id or a token_hash.",
                    code="validation_failed",
                    errors={"token_hash": ["Name one token: a token_id or a token_hash."]},
                )
            return {"revoked": revoke_tokens(session=db.session(), model=model, **data)}

    return blp
