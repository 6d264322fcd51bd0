"""The console's service form takes the service's name, description and resources in the
other languages; booking's answer to a bad one shows on its field with the input kept."""

from __future__ import annotations

import re

import pytest
from console_builders import csrf_of


@pytest.fixture
def office(make_staff, sign_in):
    """A signed-in admin's console client."""
    make_staff(email="office@maple.example", role="admin", name="Office")
    return sign_in("office@maple.example")


def service_form(**overrides):
    return {
        "name": "Settlement intake",
        "slug": "settlement-intake",
        "description": "A first talk.",
        "duration_minutes": "45",
        "modes": ["video"],
        "location": "",
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "0",
        "min_notice_minutes": "0",
        "horizon_days": "30",
        "slot_step_minutes": "15",
        "capacity": "1",
        "reminder_offsets_minutes": "1440",
        "resources": "Bring your papers",
        "listed": "1",
        "active": "1",
        **overrides,
    }


def test_an_admin_enters_the_service_in_french_and_arabic_and_clients_read_it(booking_app, office):
    page = office.get("/setup/services/new").text
    assert 'id="translations-fr-name"' in page and 'id="translations-ar-resources"' in page
    assert 'id="translations-en-name"' not in page  # the default language is the form's top
    form = service_form(
        csrf_token=csrf_of(page),
        **{
            "translations-fr-name": "Premier entretien",
            "translations-fr-description": "Un premier échange.",
            "translations-fr-resources": "Apportez vos papiers | https://maple.example/fr",
            "translations-ar-name": "المقابلة الأولى",
        },
    )
    assert office.post("/setup/services/new", data=form).status_code == 302
    listing = office.get("/setup/services").text
    service_id = re.search(r'/setup/services/(\d+)">Settlement intake', listing).group(1)
    [service] = booking_app.test_client().get("/api/v1/services").get_json()
    assert service["translations"] == {
        "fr": {
            "name": "Premier entretien",
            "description": "Un premier échange.",
            "resources": [
                {"title": "Apportez vos papiers", "url": "https://maple.example/fr", "text": None}
            ],
        },
        "ar": {"name": "المقابلة الأولى"},
    }
    edit = office.get(f"/setup/services/{service_id}").text
    assert 'value="Premier entretien"' in edit and "Apportez vos papiers | https://" in edit
    # Emptied, a language's version is gone: its clients read the default text again.
    form = service_form(csrf_token=csrf_of(edit), **{"translations-ar-name": "المقابلة"})
    assert office.post(f"/setup/services/{service_id}", data=form).status_code == 302
    [service] = booking_app.test_client().get("/api/v1/services").get_json()
    assert service["translations"] == {"ar": {"name": "المقابلة"}}


def test_a_bad_version_shows_on_its_field_with_the_input_kept(office):
    page = office.get("/setup/services/new").text
    long_name = "N" * 201
    form = service_form(csrf_token=csrf_of(page), **{"translations-es-name": long_name})
    answer = office.post("/setup/services/new", data=form)
    assert answer.status_code == 422
    assert 'id="translations-es-name-error"' in answer.text
    assert f'value="{long_name}"' in answer.text
