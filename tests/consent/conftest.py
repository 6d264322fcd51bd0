"""Builders for consent tests: forms, requests, signed records, and the real validators."""

from __future__ import annotations

import pytest
from consent_builders import ORIGIN, form_content

from services.consent.operations import forms, records, requests
from services.consent.operations.audit import Origin
from shared import db as shared_db


@pytest.fixture
def origin() -> Origin:
    return ORIGIN


@pytest.fixture
def settings(consent_app) -> records.RecordSettings:
    return records.RecordSettings.from_config(consent_app.config)


@pytest.fixture
def session(consent_app):
    """A session on consent's test database, committed at the end of the test body."""
    with shared_db.get_db(consent_app).transaction() as session:
        yield session


@pytest.fixture
def make_template(session):
    def make(name: str = "Recording", **overrides):
        return forms.create_template(session=session, name=name, content=form_content(**overrides))

    return make


@pytest.fixture
def make_request(session, make_template, settings):
    """make_request(**overrides) -> (request, token)."""

    def make(template=None, **overrides):
        template = template or make_template()
        client = {
            "client_name": "Ana López",
            "client_email": "ana@example.org",
            "client_phone": None,
            "locale": "en",
            "timezone": "America/Toronto",
        }
        client.update({k: overrides.pop(k) for k in list(overrides) if k in client})
        created = requests.create_request(
            session=session,
            template=template,
            client=client,
            settings=settings,
            origin=ORIGIN,
            **overrides,
        )
        return created.request, created.signing_url.rsplit("/", 1)[1]

    return make


@pytest.fixture
def sign_request(session, settings):
    def sign(token: str, **overrides):
        arguments = {
            "typed_name": "Ana López",
            "disclosure_accepted": True,
            "checkboxes": {"recording": True, "sharing": True},
            "fields": {"pronouns": "she/her"},
        }
        arguments.update(overrides)
        return requests.sign(
            session=session, token=token, settings=settings, origin=ORIGIN, **arguments
        )

    return sign


@pytest.fixture
def root_pem(tmp_path, settings):
    path = tmp_path / "root.pem"
    path.write_bytes(settings.signer().root_pem)
    return path
