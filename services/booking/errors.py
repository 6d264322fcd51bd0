"""Booking's domain errors, each with a stable machine code."""

from __future__ import annotations

from shared.errors import Conflict, NotFound, TooManyRequests, ValidationFailed


class SlotTaken(Conflict):
    code, title = "slot_taken", "This time was just taken"


class AlreadyBooked(Conflict):
    code, title = "already_booked", "Already booked for this session"


class OutsideAvailability(ValidationFailed):
    code, title = "outside_availability", "This time is not offered"


class ModeNotOffered(ValidationFailed):
    code, title = "mode_not_offered", "This service is not offered in that mode"


class BackupPlanRequired(ValidationFailed):
    code, title = "backup_plan_required", "A backup phone plan is needed"


class RangeTooLong(ValidationFailed):
    code, title = "range_too_long", "The date range is too long"


class InvalidTransition(Conflict):
    code, title = "invalid_status", "The appointment cannot change that way now"


class NotStartedYet(Conflict):
    code, title = "appointment_not_started", "The appointment has not started yet"


class SlugTaken(Conflict):
    code, title = "slug_taken", "Another service already uses this slug"


class AppointmentNotFound(NotFound):
    code, title = "appointment_not_found", "No such appointment"


class ManageLinkNotFound(NotFound):
    code, title = "manage_link_not_found", "This link is unknown or no longer valid"


class TooManyBookings(TooManyRequests):
    code, title = "too_many_bookings", "Too many bookings for this email address today"


class FeedNotFound(NotFound):
    code, title = "feed_not_found", "No such feed"


class CalendarNotFound(NotFound):
    code, title = "calendar_not_found", "No such calendar"


class TooManyQuestions(TooManyRequests):
    code, title = "too_many_questions", "Too many questions from this contact today"


class TooManyReplies(TooManyRequests):
    code, title = "too_many_question_replies", "Too many replies from this contact today"


class QuestionClosed(Conflict):
    code, title = "question_closed", "This question is closed"
