"""The client file: search, one page with appointments, consents and messages; admins export
and erase through the services' privacy APIs; staff only reach their own clients."""

from __future__ import annotations

import json
import re

from console_builders import csrf_of, local

LI_WEI = {
    "name": "Li Wei",
    "email": "li@example.org",
    "phone": "+15145550777",
    "language": "en",
    "time_zone": "America/Toronto",
}


def _file_link(html: str) -> str:
    return re.search(r'href="(/clients/\d+)"', html).group(1)


def test_search_by_name_email_or_phone_finds_the_file(make_staff, book, sign_in, future_day):
    amira = make_staff(email="amira@maple.example")
    first = book(amira, local(future_day, 10))
    book(amira, local(future_day, 14))
    book(
        amira,
        local(future_day, 12),
        client=dict(LI_WEI),
        backup={"callback_number": LI_WEI["phone"], "use_dial_in": False},
    )
    client = sign_in("amira@maple.example")
    for q in ("souza", "ANA@example", "416 555 0123"):
        page = client.get("/clients", query_string={"q": q}).text
        assert "Ana Souza" in page and "Li Wei" not in page, q
        assert "2 appointments" in page
    file = client.get(_file_link(client.get("/clients?q=ana").text))
    assert file.status_code == 200
    assert file.text.count("Settlement intake") == 2
    assert f'href="/appointments/{first}"' in file.text
    assert "Consents" in file.text and "Messages" in file.text
    assert "Export everything" not in file.text  # staff: no export or erase
    nothing = client.get("/clients?q=nobody").text
    assert "No client matches" in nothing


def test_staff_never_reach_another_staff_members_client(make_staff, book, sign_in, future_day):
    amira = make_staff(email="amira@maple.example")
    make_staff(email="bo@maple.example")
    appointment = book(amira, local(future_day, 10))
    bo = sign_in("bo@maple.example")
    assert "Ana Souza" not in bo.get("/clients?q=ana").text
    assert bo.get(f"/clients/{appointment}").status_code == 404
    assert bo.get("/clients/999999").status_code == 404
    csrf = csrf_of(bo.get("/clients").text)
    for action in ("export", "erase"):
        refused = bo.post(f"/clients/{appointment}/{action}", data={"csrf_token": csrf})
        assert refused.status_code == 403, action


def test_admins_export_the_client_as_json(make_staff, book, sign_in, future_day):
    amira = make_staff(email="amira@maple.example")
    make_staff(email="office@maple.example", role="admin")
    appointment = book(amira, local(future_day, 10))
    office = sign_in("office@maple.example")
    page = office.get(f"/clients/{appointment}").text
    exported = office.post(f"/clients/{appointment}/export", data={"csrf_token": csrf_of(page)})
    assert exported.status_code == 200 and exported.mimetype == "application/json"
    assert "attachment" in exported.headers["Content-Disposition"]
    document = json.loads(exported.data)
    assert document["email"] == "ana@example.org"
    assert set(document["services"]) == {"booking", "consent", "notify"}


def test_erasure_asks_for_confirmation_then_erases_everywhere(
    make_staff, book, sign_in, future_day
):
    amira = make_staff(email="amira@maple.example")
    make_staff(email="office@maple.example", role="admin")
    appointment = book(amira, local(future_day, 10))
    office = sign_in("office@maple.example")
    page = office.get(f"/clients/{appointment}").text
    asked = office.post(f"/clients/{appointment}/erase", data={"csrf_token": csrf_of(page)})
    assert asked.status_code == 302
    confirm = office.get(asked.headers["Location"]).text
    assert "Erase this client everywhere?" in confirm
    assert "Ana Souza" in office.get("/clients?q=ana").text  # nothing erased yet
    erased = office.post(
        f"/clients/{appointment}/erase", data={"csrf_token": csrf_of(confirm), "confirm": "yes"}
    )
    assert erased.status_code == 200 and "Client erased" in erased.text
    assert "Ana Souza" not in office.get("/clients?q=ana").text


def test_a_phone_only_clients_file_opens_with_their_appointments(
    make_staff, book, sign_in, future_day
):
    amira = make_staff(email="amira@maple.example")
    phone_only = {**LI_WEI, "email": None, "notify_by": "sms"}
    for hour in (10, 14):
        book(amira, local(future_day, hour), client=dict(phone_only))
    client = sign_in("amira@maple.example")
    found = client.get("/clients?q=li wei").text
    assert "None" not in found and 'href="tel:+15145550777"' in found
    file = client.get(_file_link(found))
    assert file.status_code == 200, file.text
    assert "<h1>Li Wei</h1>" in file.text
    assert 'href="tel:+15145550777"' in file.text and "mailto:" not in file.text
    assert "None" not in file.text
    assert file.text.count("Settlement intake") == 2


def test_an_admin_exports_and_erases_a_phone_only_client_by_their_number(
    make_staff, book, sign_in, future_day
):
    amira = make_staff(email="amira@maple.example")
    make_staff(email="office@maple.example", role="admin")
    phone_only = {**LI_WEI, "email": None, "notify_by": "sms"}
    first = book(amira, local(future_day, 10), client=dict(phone_only))
    second = book(amira, local(future_day, 14), client=dict(phone_only))
    other = book(amira, local(future_day, 11), client={**phone_only, "phone": "+15145550888"})
    office = sign_in("office@maple.example")
    page = office.get(f"/clients/{first}").text
    assert "Export everything about this client" in page
    exported = office.post(f"/clients/{first}/export", data={"csrf_token": csrf_of(page)})
    assert exported.status_code == 200 and exported.mimetype == "application/json"
    document = json.loads(exported.data)
    assert (document["email"], document["phone"]) == (None, "+15145550777")
    found = document["services"]["booking"]["appointments"]
    assert sorted(a["id"] for a in found) == [first, second]
    assert {a["client"]["phone"] for a in found} == {"+15145550777"}
    erased = office.post(
        f"/clients/{first}/erase", data={"csrf_token": csrf_of(page), "confirm": "yes"}
    )
    assert erased.status_code == 200 and "Client erased" in erased.text
    assert "Li Wei" in office.get(f"/clients/{other}").text  # another number: untouched
    assert "Li Wei" not in office.get(f"/clients/{first}").text
    assert "Li Wei" not in office.get("/clients?q=%2B15145550777").text
