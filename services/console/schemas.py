"""The console's form schemas: what a page's form may hold, with its field errors."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from shared.fields import EmailAddress

EMAIL_MAX = 320


class SignInSchema(ma.Schema):
    email = EmailAddress(required=True, validate=validate.Length(max=EMAIL_MAX))


class InviteSchema(ma.Schema):
    staff_id = ma.fields.Integer(required=True, validate=validate.Range(min=1))
