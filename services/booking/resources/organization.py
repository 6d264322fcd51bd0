"""The organization's profile: public to read (pages and clients show it), admin to change.

The logo is sent as the raw request body (PNG, JPEG or WebP) and served publicly with caching
headers; its URL carries a version taken from its content, so a new logo is a new URL.
"""

from __future__ import annotations

from flask import Response, current_app, request
from flask.views import MethodView

from services.booking import api_examples
from services.booking.operations import organization
from services.booking.schemas import OrganizationSchema, OrganizationUpdateSchema
from shared import db
from shared.api import Blueprint
from shared.auth import require
from shared.errors import UnsupportedMediaType

organization_blp = Blueprint(
    "organization",
    __name__,
    url_prefix="/api/v1",
    description="The organization's profile: name, contacts, opening hours, logo",
)

LOGO_CACHE_CONTROL = "public, max-age=86400"
_LOGO_BODY = {
    "required": True,
    "description": f"The image file itself, at most {organization.LOGO_MAX_BYTES // 1024} KB "
    "and 4096 pixels a side; it must decode as the type it claims (no SVG).",
    "content": {
        content_type: {"schema": {"type": "string", "format": "binary"}}
        for content_type in organization.LOGO_FORMATS.values()
    },
}


def _defaults() -> organization.Defaults:
    return organization.Defaults.from_config(current_app.config)


@organization_blp.route("/organization")
class Organization(MethodView):
    @organization_blp.response(200, OrganizationSchema, example=api_examples.ORGANIZATION)
    def get(self):
        """The organization's name, contacts, opening hours and logo (public)."""
        return organization.get_profile(session=db.session(), defaults=_defaults())

    @organization_blp.arguments(OrganizationUpdateSchema, example=api_examples.ORGANIZATION_UPDATE)
    @organization_blp.response(200, OrganizationSchema, example=api_examples.ORGANIZATION)
    @require("admin")
    def put(self, data):
        """Replace the organization's profile (the logo stays)."""
        return organization.save_profile(session=db.session(), defaults=_defaults(), fields=data)


@organization_blp.route("/organization/logo")
class OrganizationLogo(MethodView):
    accepts = tuple(organization.LOGO_FORMATS.values())  # the body types PUT takes

    @organization_blp.response(
        200, description="The logo image (ETag; cached for a day)", content_type="image/png"
    )
    @organization_blp.alt_response(304, description="The client's copy is current")
    def get(self):
        """The organization's logo (public)."""
        logo = organization.get_logo(session=db.session())
        headers = {
            "ETag": f'"{logo.sha256}"',
            "Cache-Control": LOGO_CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        }
        if logo.sha256 in request.if_none_match:
            return Response(status=304, headers=headers)
        return Response(logo.content, mimetype=logo.content_type, headers=headers)

    @organization_blp.doc(requestBody=_LOGO_BODY)
    @organization_blp.response(200, OrganizationSchema)
    @require("admin")
    def put(self):
        """Set the logo: a PNG, JPEG or WebP image as the request body."""
        if request.mimetype not in organization.LOGO_FORMATS.values():
            raise UnsupportedMediaType(
                "Send the logo as image/png, image/jpeg or image/webp.", code="logo_type"
            )
        return organization.set_logo(
            session=db.session(), defaults=_defaults(), content=request.get_data()
        )

    @organization_blp.response(200, OrganizationSchema)
    @require("admin")
    def delete(self):
        """Remove the logo."""
        return organization.remove_logo(session=db.session(), defaults=_defaults())


def blueprints() -> list[Blueprint]:
    """The profile's API blueprints."""
    return [organization_blp]
