"""The booking service's public pages: the services, the slot picker, booking, confirmation, manage.

Server-rendered and complete without JavaScript: step 1 (mode and time zone) and step 2 (a day,
then a slot) are plain GET forms and links that keep their choices in the query string; step 3
(the client's details) is one POST that books through `appointments.book`. The confirmation and
manage pages (add to calendar, cancel, reschedule) are reached only with the client's manage token.

By concern: `zones` (the time zone list), `picker` (step 2), `details` (step 3's form and every
error's wording), `phones`, `calendar_links`, and `views`.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from services.booking.operations import organization
from shared import db
from shared.organization import ORGANIZATION_SOURCE

# The templates are the service's own (services/booking/templates/booking/).
blueprint = Blueprint("pages", __name__, template_folder="../templates")


def register_pages(app: Flask) -> None:
    """Register the public pages (their rate limits: services.booking.rate_limits), with the
    organization's profile (booking's own row) in every page's header and contact block."""
    app.register_blueprint(blueprint)
    defaults = organization.Defaults.from_config(app.config)
    app.extensions[ORGANIZATION_SOURCE] = lambda: organization.get_profile(
        session=db.session(), defaults=defaults
    )


from services.booking.pages import (  # noqa: E402  (routes, filters)
    ask_us,
    help_center,
    picker,
    views,
    zones,
)

blueprint.add_app_template_filter(picker.short_day, "short_day")
blueprint.add_app_template_filter(picker.iso, "iso")
blueprint.add_app_template_filter(picker.day_parts, "day_parts")
blueprint.add_app_template_filter(picker.local_date, "local_date")
blueprint.add_app_template_filter(picker.month_title, "month_title")
blueprint.add_app_template_filter(picker.long_day, "long_day")
blueprint.add_app_template_global(picker.weekday_names, "weekday_names")
blueprint.add_app_template_filter(zones.zone_label, "zone_label")

__all__ = ["ask_us", "blueprint", "help_center", "register_pages", "views"]
