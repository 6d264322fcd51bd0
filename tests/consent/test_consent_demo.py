"""The demo consent form: three languages, two required checkboxes, created once."""

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
            ("recording", True),
            ("sharing", True),
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
        checkboxes={"recording": True, "sharing": True},
        settings=settings,
        origin=origin,
    )
    assert signed.request.status == "signed"
