"""The demo consent form: three languages, boxes that match its text, created once."""

from __future__ import annotations

from services.consent import demo
from services.consent.operations import forms


def test_demo_form_is_created_once_in_three_languages(session):
    first = demo.load_demo(session=session)
    again = demo.load_demo(session=session)
    assert first == again == {"recording": first["recording"]}
    template = forms.get_template(session=session, template_id=first["recording"])
    assert len(template.versions) == 1
    for locale in ("en", "fr", "es"):
        form = forms.localize(template.current_version, locale)
        assert form.locale == locale
        assert [(b["key"], b["required"]) for b in form.checkboxes] == [
            ("read", True),
            ("recording", False),
            ("sharing", False),
        ]
        assert "<strong>" in form.body_html


def test_demo_form_can_be_signed(session, settings, origin):
    from services.consent.operations import requests

    template_id = demo.load_demo(session=session)["recording"]
    template = forms.get_template(session=session, template_id=template_id)
    created = requests.create_request(
        session=session,
        template=template,
        client={"client_name": "Ana", "client_email": "ana@example.org", "locale": "es"},
        settings=settings,
    )
    signed = requests.sign(
        session=session,
        token=created.signing_url.rsplit("/", 1)[1],
        typed_name="Ana",
        disclosure_accepted=True,
        checkboxes={"read": True, "recording": False, "sharing": False},
        settings=settings,
        origin=origin,
    )
    assert signed.request.status == "signed"


def test_demo_form_says_which_box_is_required_and_the_others_are_a_choice(session):
    template_id = demo.load_demo(session=session)["recording"]
    template = forms.get_template(session=session, template_id=template_id)
    words = {
        "en": ("You can say no", "Only the first box is required"),
        "fr": ("Vous pouvez refuser", "Seule la première case est obligatoire"),
        "es": ("Puede decir que no", "Solo la primera casilla es obligatoria"),
    }
    for locale, (say_no, required) in words.items():
        form = forms.localize(template.current_version, locale)
        assert say_no in form.body_html and required in form.body_html
        assert next(iter(form.checkboxes))["key"] == "read"


def test_demo_form_cannot_be_signed_without_its_one_required_box(session, settings, origin):
    import pytest

    from services.consent.operations import requests
    from shared.errors import FrontdeskError

    template_id = demo.load_demo(session=session)["recording"]
    template = forms.get_template(session=session, template_id=template_id)
    created = requests.create_request(
        session=session,
        template=template,
        client={"client_name": "Ana", "client_email": "ana@example.org", "locale": "en"},
        settings=settings,
    )
    with pytest.raises(FrontdeskError):
        requests.sign(
            session=session,
            token=created.signing_url.rsplit("/", 1)[1],
            typed_name="Ana",
            disclosure_accepted=True,
            checkboxes={"recording": True, "sharing": True},
            settings=settings,
            origin=origin,
        )
