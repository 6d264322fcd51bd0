"""The iCal feeds (public, by secret token) and the API that hands out feed URLs and takes
staff members' external calendars.

Public: GET /feeds/{token}.ics and GET /feeds/team/{token}.ics (the token is the secret; an
unknown, rotated or revoked one is the same 404). Staff and admin: the feed-token and
calendar routes under /api/v1.
"""

from __future__ import annotations

import functools
from datetime import datetime

from flask import Response, current_app, request
from flask.views import MethodView
from werkzeug.http import http_date

from services.booking.models import Staff
from services.booking.operations import calendars, catalog, feeds
from services.booking.schemas import CalendarCreateSchema, CalendarSchema, FeedTokenSchema
from shared import db
from shared.api import Blueprint
from shared.auth import current_principal, require
from shared.db import utcnow
from shared.errors import NotFound

feeds_blp = Blueprint(
    "feeds", __name__, url_prefix="", description="Private iCal feeds (the token is the secret)"
)
feed_api_blp = Blueprint(
    "feed_api",
    __name__,
    url_prefix="/api/v1",
    description="Feed URLs and staff members' external calendars (busy time)",
)

_FEED_DOC = (
    "text/calendar. Answers 304 to a matching If-None-Match or If-Modified-Since without "
    "building the feed; ETag, Last-Modified and Cache-Control on every answer."
)


def _feed_response(token: str, *, team: bool) -> Response:
    # A feed's 304 is the hottest answer there is (every calendar app, every few minutes):
    # the headers are made in one go.
    app, req = current_app, request
    config, headers = app.config, req.headers
    answer = feeds.get_feed(
        database=db.get_db(app),
        token=token,
        team=team,
        settings=feeds.FeedSettings(
            full_details=bool(config["FEED_FULL_DETAILS"]),
            org_name=config["ORG_NAME"],
            public_url=config["PUBLIC_URL"],
        ),
        caches=app.extensions["booking_caches"],
        if_none_match=headers.get("If-None-Match"),
        # Parsed only when sent: most calendar apps revalidate with If-None-Match alone.
        if_modified_since=req.if_modified_since if "If-Modified-Since" in headers else None,
    )
    fields = [
        ("Content-Type", "text/calendar; charset=utf-8"),  # not a page: no page headers
        ("ETag", answer.etag),
        ("Last-Modified", _http_date(answer.last_modified)),
        ("Cache-Control", feeds.CACHE_CONTROL),
        ("Referrer-Policy", "no-referrer"),
    ]
    if answer.body is None:
        return Response(status=304, headers=fields)
    fields.append(("Content-Disposition", 'inline; filename="frontdesk.ics"'))
    return Response(answer.body, headers=fields)


@functools.lru_cache(maxsize=1024)
def _http_date(moment: datetime) -> str:
    return http_date(moment)


@feeds_blp.route("/feeds/<string(length=47):token>.ics")
class StaffFeed(MethodView):
    @feeds_blp.response(200, description=_FEED_DOC, content_type="text/calendar")
    @feeds_blp.alt_response(304, description="The client's copy is current")
    @feeds_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def get(self, token):
        """A staff member's appointments as an iCal feed (no token header: the URL is the secret)."""
        return _feed_response(token, team=False)


@feeds_blp.route("/feeds/team/<string(length=47):token>.ics")
class TeamFeed(MethodView):
    @feeds_blp.response(200, description=_FEED_DOC, content_type="text/calendar")
    @feeds_blp.alt_response(304, description="The client's copy is current")
    @feeds_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def get(self, token):
        """Every staff member's appointments as one iCal feed (for admins' calendars)."""
        return _feed_response(token, team=True)


def _own_staff(staff_id: int) -> Staff:
    """The staff member, if the caller may act for them (404 otherwise)."""
    if not current_principal().may_act_for_staff(staff_id):
        raise NotFound("No such staff member.", code="staff_not_found")
    return catalog.get_staff(session=db.session(), staff_id=staff_id)


def _issued(staff: Staff | None) -> dict:
    token = feeds.issue_token(session=db.session(), staff=staff)
    return {**feeds.feed_urls(current_app.config["PUBLIC_URL"], token), "created_at": utcnow()}


@feed_api_blp.route("/staff/<id:staff_id>/feed-token")
class StaffFeedToken(MethodView):
    @feed_api_blp.response(201, FeedTokenSchema)
    @require("admin", "staff")
    def post(self, staff_id):
        """Create or rotate the staff member's feed URL (shown once; the old URL stops working)."""
        return _issued(_own_staff(staff_id))

    @feed_api_blp.response(204)
    @require("admin", "staff")
    def delete(self, staff_id):
        """Revoke the staff member's feed URL."""
        feeds.revoke_token(session=db.session(), staff=_own_staff(staff_id))


@feed_api_blp.route("/team/feed-token")
class TeamFeedToken(MethodView):
    @feed_api_blp.response(201, FeedTokenSchema)
    @require("admin")
    def post(self):
        """Create or rotate the team feed URL: every staff member's appointments (shown once)."""
        return _issued(None)

    @feed_api_blp.response(204)
    @require("admin")
    def delete(self):
        """Revoke the team feed URL."""
        feeds.revoke_token(session=db.session(), staff=None)


@feed_api_blp.route("/staff/<id:staff_id>/calendars")
class Calendars(MethodView):
    @feed_api_blp.response(200, CalendarSchema(many=True))
    @require("admin", "staff")
    def get(self, staff_id):
        """The staff member's external calendars and how their last fetch went."""
        return calendars.list_calendars(session=db.session(), staff=_own_staff(staff_id))

    @feed_api_blp.arguments(CalendarCreateSchema)
    @feed_api_blp.response(201, CalendarSchema)
    @require("admin", "staff")
    def post(self, data, staff_id):
        """Add an ICS address (e.g. Google's secret address) whose events are busy time."""
        config = current_app.config
        return calendars.add_calendar(
            session=db.session(),
            staff=_own_staff(staff_id),
            url=data["url"],
            name=data["name"],
            allow_private=config["ALLOW_PRIVATE_WEBHOOKS"],
            public_url=config["PUBLIC_URL"],
        )


@feed_api_blp.route("/staff/<id:staff_id>/calendars/<id:calendar_id>")
class CalendarItem(MethodView):
    @feed_api_blp.response(204)
    @require("admin", "staff")
    def delete(self, staff_id, calendar_id):
        """Remove an external calendar and the busy time it brought."""
        calendars.delete_calendar(
            session=db.session(), staff=_own_staff(staff_id), calendar_id=calendar_id
        )


def blueprints() -> list[Blueprint]:
    """The feed blueprints, in registration order."""
    return [feeds_blp, feed_api_blp]
