"""The console's service form edits the join instructions and access notes, in the default
language and in each other language; booking's refusal of a too long one shows on its field."""

from __future__ import annotations

import re

import pytest
from console_builders import csrf_of
from test_setup_service_languages import service_form

JOIN = "Open the link 5 minutes early.\nIf the video fails, we call you."
ACCESS = "Side entrance, step-free.\n2nd floor, buzzer 4."


@pytest.fixture
def office(make_staff, sign_in):
    """A signed-in admin's console client."""
    make_staff(email="office@maple.example", role="admin", name="Office")
    return sign_in("office@maple.example")


def test_an_admin_writes_how_to_join_and_access_notes_in_each_language(booking_app, office):
    page = office.get("/setup/services/new").text
    for name in ("join_instructions", "access_notes", "translations-fr-join_instructions"):
        assert f'id="{name}"' in page, name
    form = service_form(
        csrf_token=csrf_of(page),
        modes=["video", "in_person"],
        location="12 Maple Street",
        # Browsers send a textarea's line breaks as CRLF.
        join_instructions=JOIN.replace("\n", "\r\n"),
        access_notes=ACCESS,
        **{
            "translations-fr-join_instructions": "Ouvrez le lien 5 minutes en avance.",
            "translations-ar-access_notes": "المدخل الجانبي، الطابق الثاني.",
        },
    )
    assert office.post("/setup/services/new", data=form).status_code == 302
    [service] = booking_app.test_client().get("/api/v1/services").get_json()
    assert service["join_instructions"] == JOIN
    assert service["access_notes"] == ACCESS
    assert service["translations"] == {
        "fr": {"join_instructions": "Ouvrez le lien 5 minutes en avance."},
        "ar": {"access_notes": "المدخل الجانبي، الطابق الثاني."},
    }
    listing = office.get("/setup/services").text
    service_id = re.search(r'/setup/services/(\d+)">Settlement intake', listing).group(1)
    edit = office.get(f"/setup/services/{service_id}").text
    assert "Ouvrez le lien 5 minutes en avance.</textarea>" in edit
    assert "2nd floor, buzzer 4.</textarea>" in edit
    # Emptied, the French version is gone and the default text is cleared.
    form = service_form(csrf_token=csrf_of(edit), join_instructions="")
    assert office.post(f"/setup/services/{service_id}", data=form).status_code == 302
    [service] = booking_app.test_client().get("/api/v1/services").get_json()
    assert service["join_instructions"] == "" and service["translations"] == {}


@pytest.mark.parametrize("name", ["access_notes", "translations-es-join_instructions"])
def test_too_long_guidance_shows_on_its_field_with_the_input_kept(office, name):
    page = office.get("/setup/services/new").text
    too_long = "x" * 2001
    answer = office.post(
        "/setup/services/new", data=service_form(csrf_token=csrf_of(page), **{name: too_long})
    )
    assert answer.status_code == 422
    assert f'id="{name}-error"' in answer.text
    assert f">{too_long}</textarea>" in answer.text
