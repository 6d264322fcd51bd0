"""Booking's public rate limits, in one table: public POSTs, token lookups and slot search.

Counted per client address and per token (hashed; see shared.rate_limits). Callers with an
API token are not counted. Each page form's POSTs also count against PAGE_POSTS.
Feeds are generous: calendar apps poll them (Google every few hours, Outlook by its TTL,
some every few minutes) and an office may poll many staff feeds from one address.
"""

from __future__ import annotations

from shared.rate_limits import Rule

BOOK = Rule("10/minute;60/hour", methods=("POST",))
TOKEN_READ_PER_ADDRESS = Rule("60/minute;600/hour")
TOKEN_READ_PER_TOKEN = Rule("30/minute;300/hour", per="token")
TOKEN_WRITE_PER_ADDRESS = Rule("10/minute;60/hour", methods=("POST",))
TOKEN_WRITE_PER_TOKEN = Rule("10/minute;30/hour", per="token", methods=("POST",))
FEED_PER_ADDRESS = Rule("120/minute;3000/hour")
FEED_PER_TOKEN = Rule("30/minute;600/hour", per="token")
# Each page form's POSTs (booking, cancel, reschedule) per address.
PAGE_POSTS = Rule("10/minute", methods=("POST",))
# Slot search computes availability: generous for people clicking through days, not for a loop.
SLOT_SEARCH = Rule("120/minute;2000/hour")
# The help center's full-text search: the same allowance (its writes need an admin token).
HELP_SEARCH = Rule("120/minute;2000/hour", methods=("GET",))
# "Lost my link?": each POST may send a message, so few per address and fewer per contact.
LOST_LINK_PER_ADDRESS = Rule("5/minute;20/hour", methods=("POST",))
LOST_LINK_PER_CONTACT = Rule("3/hour;6/day", per="contact", methods=("POST",))
# "Ask us" from the help center: each POST stores a question for staff to read.
ASK_PER_ADDRESS = Rule("5/minute;20/hour", methods=("POST",))

_MANAGE_READ = (TOKEN_READ_PER_ADDRESS, TOKEN_READ_PER_TOKEN)
_MANAGE_WRITE = (*_MANAGE_READ, TOKEN_WRITE_PER_ADDRESS, TOKEN_WRITE_PER_TOKEN)

LIMITS: dict[str, tuple[Rule, ...]] = {
    "appointments.AppointmentCollection": (BOOK,),
    "manage.ManageItem": _MANAGE_READ,
    "manage.ManageCancel": _MANAGE_WRITE,
    "manage.ManageReschedule": _MANAGE_WRITE,
    "feeds.StaffFeed": (FEED_PER_ADDRESS, FEED_PER_TOKEN),
    "feeds.TeamFeed": (FEED_PER_ADDRESS, FEED_PER_TOKEN),
    "slots.Slots": (SLOT_SEARCH,),
    "pages.service_page": (SLOT_SEARCH,),
    "faq.FaqCollection": (HELP_SEARCH,),
    "pages.help_center": (HELP_SEARCH,),
    "pages.lost_link": (LOST_LINK_PER_ADDRESS, LOST_LINK_PER_CONTACT),
    "pages.ask": (ASK_PER_ADDRESS,),
    # A question's thread is behind its token, like the manage pages.
    "pages.ask_about_appointment": _MANAGE_WRITE,
    "pages.question_thread": _MANAGE_WRITE,
    # The manage pages (their POSTs also count against PAGE_POSTS).
    "pages.manage": _MANAGE_READ,
    "pages.event_ics": _MANAGE_READ,
    "pages.cancel": _MANAGE_WRITE,
    "pages.reschedule": _MANAGE_WRITE,
}

BLUEPRINT_LIMITS: dict[str, tuple[Rule, ...]] = {"pages": (PAGE_POSTS,)}
