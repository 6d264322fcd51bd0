"""Schemas of the feed and external-calendar API (input and output kept apart)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from shared.fields import OneLine, UTCDateTime


class FeedTokenSchema(ma.Schema):
    """A feed's URLs, shown once when the token is created or rotated."""

    url = fields.String(required=True, metadata={"description": "https:// URL of the feed"})
    webcal_url = fields.String(
        required=True, metadata={"description": "The same feed as webcal:// (subscribe links)"}
    )
    created_at = UTCDateTime(required=True)


class CalendarCreateSchema(ma.Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(1, 2048),
        metadata={
            "description": "The calendar's secret ICS address (https://, http://, webcal://)"
        },
    )
    name = OneLine(load_default="", validate=validate.Length(max=200))


class CalendarSchema(ma.Schema):
    """An external calendar: its host (never the secret URL) and how its last fetch went."""

    id = fields.Integer()
    staff_id = fields.Integer()
    name = fields.String()
    url_hint = fields.String(metadata={"description": "Scheme and host of the secret URL"})
    last_fetched_at = UTCDateTime(allow_none=True)
    last_ok_at = UTCDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    busy_count = fields.Integer()
    next_fetch_at = UTCDateTime()
    created_at = UTCDateTime()
