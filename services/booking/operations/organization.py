"""The organization's profile (one row): read with the settings standing in until it is saved,
saved by an admin, and its logo, which must decode as a PNG, JPEG or WebP image (never SVG: it
can carry script)."""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy.orm import Session, undefer

from services.booking.models import Organization
from shared.errors import NotFound, ValidationFailed
from shared.organization import OrgProfile

ROW_ID = 1
LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_PIXELS = 4096  # per side
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
LOGO_PATH = "/booking/api/v1/organization/logo"


@dataclass(frozen=True)
class Defaults:
    """What stands in for the profile before it is saved, and where the logo is served."""

    name: str
    reply_to: str | None
    public_url: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Defaults:
        """The defaults from a Flask app's config (FRONTDESK_ORG_NAME, FRONTDESK_REPLY_TO)."""
        return cls(
            name=config["ORG_NAME"],
            reply_to=config.get("REPLY_TO") or None,
            public_url=config["PUBLIC_URL"].rstrip("/"),
        )


def _row(session: Session) -> Organization | None:
    return session.get(Organization, ROW_ID)


def profile_of(row: Organization | None, defaults: Defaults) -> OrgProfile:
    """The profile a row gives (the defaults when there is none yet)."""
    if row is None:
        return OrgProfile(name=defaults.name, reply_to=defaults.reply_to)
    logo_url = (
        f"{defaults.public_url}{LOGO_PATH}?v={row.logo_sha256[:16]}" if row.logo_sha256 else None
    )
    return OrgProfile(
        name=row.name,
        phone=row.phone,
        email=row.email,
        address=row.address,
        hours=dict(row.hours or {}),
        reply_to=row.reply_to,
        default_language=row.default_language,
        logo_url=logo_url,
    )


def get_profile(*, session: Session, defaults: Defaults) -> OrgProfile:
    """The organization's profile as it stands."""
    return profile_of(_row(session), defaults)


def _row_for_update(session: Session, defaults: Defaults) -> Organization:
    row = _row(session)
    if row is None:
        row = Organization(id=ROW_ID, name=defaults.name, reply_to=defaults.reply_to, hours={})
        session.add(row)
    return row


def save_profile(*, session: Session, defaults: Defaults, fields: Mapping[str, Any]) -> OrgProfile:
    """Replace the profile's fields (the logo stays)."""
    row = _row_for_update(session, defaults)
    for name, value in fields.items():
        setattr(row, name, value)
    session.flush()
    return profile_of(row, defaults)


def _complete(image_format: str, content: bytes) -> bool:
    """Whether the file ends where its format says it does. WeasyPrint lets Pillow load
    truncated images process-wide (ImageFile.LOAD_TRUNCATED_IMAGES), so decoding alone would
    take half a JPEG; PNG's own check (verify) reads every chunk up to IEND."""
    if image_format == "JPEG":
        return content.rstrip(b"\0").endswith(b"\xff\xd9")
    if image_format == "WEBP":
        return int.from_bytes(content[4:8], "little") + 8 <= len(content)
    return True


def _image_format(content: bytes) -> str:
    """The image's format after decoding it fully; ValidationFailed when it is not a logo."""
    if not content:
        problem = "Send the image file as the request body."
    elif len(content) > LOGO_MAX_BYTES:
        problem = f"The logo is larger than {LOGO_MAX_BYTES // 1024} KB."
    else:
        problem = "Not a PNG, JPEG or WebP image that can be read."
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(content), formats=tuple(LOGO_FORMATS)) as image:
                    image_format, size = image.format, image.size
                    image.verify()  # structure and checksums (PNG's CRCs, every chunk)
                if max(size) <= LOGO_MAX_PIXELS:  # never decode a bomb's pixels
                    with Image.open(io.BytesIO(content), formats=tuple(LOGO_FORMATS)) as image:
                        image.load()  # decodes every pixel: a forged file fails here
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning):
            image_format = None
        if image_format is not None and max(size) > LOGO_MAX_PIXELS:
            problem = f"The logo is larger than {LOGO_MAX_PIXELS} pixels on a side."
        elif image_format is not None and _complete(image_format, content):
            return image_format
    raise ValidationFailed(problem, code="invalid_logo", errors={"logo": [problem]})


def set_logo(*, session: Session, defaults: Defaults, content: bytes) -> OrgProfile:
    """Store a new logo after decoding it."""
    image_format = _image_format(content)
    row = _row_for_update(session, defaults)
    row.logo = content
    row.logo_type = LOGO_FORMATS[image_format]
    row.logo_sha256 = hashlib.sha256(content).hexdigest()
    session.flush()
    return profile_of(row, defaults)


def remove_logo(*, session: Session, defaults: Defaults) -> OrgProfile:
    """Drop the logo (pages show the name alone)."""
    row = _row(session)
    if row is not None:
        row.logo, row.logo_type, row.logo_sha256 = None, None, None
        session.flush()
    return profile_of(row, defaults)


@dataclass(frozen=True)
class Logo:
    """The stored logo file."""

    content: bytes
    content_type: str
    sha256: str


def get_logo(*, session: Session) -> Logo:
    """The logo, or 404 when none is set."""
    row = session.get(Organization, ROW_ID, options=[undefer(Organization.logo)])
    if row is None or row.logo is None:
        raise NotFound("The organization has no logo.", code="logo_not_found")
    return Logo(content=row.logo, content_type=row.logo_type, sha256=row.logo_sha256)
