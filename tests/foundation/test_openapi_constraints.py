"""The OpenAPI documents say what the API enforces, so generated clients and fuzzers send data
the API takes: phone numbers as E.164 (format `e164`), time zones as the IANA names, times of
day, links, the keys of mappings, start times in the future; and the main operations carry
examples that the API accepts."""

from __future__ import annotations

import collections
import re

import jsonschema_rs
import phonenumbers
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from services.booking import schemas as booking_schemas
from services.consent import schemas as consent_schemas
from services.notify import schemas as notify_schemas
from shared.languages import LANGUAGES
from shared.plain_text import ONE_LINE_PATTERN

E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"

# What a fuzzer that knows the `e164` format sends: real numbers of several countries.
E164_NUMBERS = st.sampled_from(
    [
        phonenumbers.format_number(
            phonenumbers.example_number(region), phonenumbers.PhoneNumberFormat.E164
        )
        for region in ("CA", "US", "GB", "FR", "MX", "IN", "NG", "JP")
    ]
)


def spec(apps, service: str) -> dict:
    return apps[service].test_client().get("/openapi.json").get_json()


def test_phone_numbers_and_time_zones_are_documented_as_the_api_checks_them(apps):
    booking = spec(apps, "booking")["components"]["schemas"]
    consent = spec(apps, "consent")["components"]["schemas"]
    for phone in (
        booking["StaffCreate"]["properties"]["dial_in"],
        booking["Client"]["properties"]["phone"],
        consent["ConsentRequestCreate"]["properties"]["client_phone"],
    ):
        assert phone["pattern"] == E164_PATTERN and phone["format"] == "e164"
        assert phone["examples"] == ["+14165550100"]
    staff_zone = booking["StaffCreate"]["properties"]["time_zone"]
    assert "America/Toronto" in staff_zone["enum"] and "Mars/Olympus" not in staff_zone["enum"]
    client_zone = booking["Client"]["properties"]["time_zone"]
    assert None in client_zone["enum"]  # nullable, as the field allows
    assert "America/Toronto" in consent["ConsentRequestCreate"]["properties"]["timezone"]["enum"]
    start = booking["AppointmentCreate"]["properties"]["start"]
    assert start["format"] == "date-time" and "future" in start["description"]


def test_times_of_day_links_and_mapping_keys_are_documented_as_the_api_checks_them(apps):
    booking = spec(apps, "booking")["components"]["schemas"]
    consent = spec(apps, "consent")["components"]["schemas"]
    assert (
        booking["Rule"]["properties"]["start_time"]["pattern"] == "^([01][0-9]|2[0-3]):[0-5][0-9]$"
    )
    assert booking["StaffCreate"]["properties"]["video_link_template"]["format"] == "uri"
    locales = consent["TemplateCreate"]["properties"]["locales"]
    assert locales["propertyNames"]["enum"] == list(LANGUAGES)
    assert locales["minProperties"] == 1 and "required" not in locales
    boxes = consent["Signature"]["properties"]["checkboxes"]["propertyNames"]
    assert (boxes["minLength"], boxes["maxLength"]) == (1, 40)


def test_main_operations_carry_examples_the_api_accepts(apps):
    from services.booking import api_examples as booking_examples
    from services.consent import api_examples as consent_examples
    from services.notify import api_examples as notify_examples

    booking = spec(apps, "booking")["paths"]
    consent = spec(apps, "consent")["paths"]
    notify = spec(apps, "notify")["paths"]
    body = "application/json"
    book = booking["/api/v1/appointments"]["post"]["requestBody"]["content"][body]["example"]
    booking_schemas.AppointmentCreateSchema().load(book)
    slots = booking["/api/v1/services/{service_id}/slots"]["get"]["responses"]["200"]
    assert slots["content"][body]["example"] == booking_examples.SLOTS
    ask = consent["/api/v1/requests"]["post"]["requestBody"]["content"][body]["example"]
    consent_schemas.ConsentRequestCreateSchema().load(ask)
    sign = consent["/api/v1/sign/{token}"]["post"]["requestBody"]["content"][body]["example"]
    consent_schemas.SignatureSchema().load(sign)
    assert (ask, sign) == (consent_examples.REQUEST_CONSENT, consent_examples.SIGN)
    send = notify["/api/v1/messages"]["post"]["requestBody"]["content"][body]["examples"]
    assert set(send) == {"email", "sms", "webhook"} == set(notify_examples.SEND_MESSAGE)
    with apps["notify"].app_context():
        for example in send.values():
            notify_schemas.MessageCreateSchema().load(example["value"])


def test_answer_examples_of_main_operations_match_their_documented_schemas(apps):
    for service, method, path, status in (
        ("booking", "post", "/api/v1/appointments", "201"),
        ("booking", "get", "/api/v1/services/{service_id}/slots", "200"),
        ("consent", "post", "/api/v1/requests", "201"),
        ("notify", "post", "/api/v1/messages", "201"),
    ):
        document = spec(apps, service)
        answer = document["paths"][path][method]["responses"][status]["content"]["application/json"]
        root = {**answer["schema"], "components": document["components"]}
        jsonschema_rs.Draft202012Validator(root).validate(answer["example"])


def test_notify_message_body_is_documented_as_one_schema_per_channel(apps):
    """POST /messages: email, SMS and webhook bodies, each with its own required fields and
    recipient form; a template's alternative names the data it needs. The examples fit."""
    from services.notify import api_examples as notify_examples

    document = spec(apps, "notify")
    schemas = document["components"]["schemas"]
    body = document["paths"]["/api/v1/messages"]["post"]["requestBody"]["content"]
    schema = body["application/json"]["schema"]
    channels = [branch.get("$ref") or branch["allOf"][0]["$ref"] for branch in schema["oneOf"]]
    assert channels == [
        f"#/components/schemas/{name}Message" for name in ("Email", "Sms", "Webhook")
    ]
    email, sms, webhook = (schemas[f"{name}Message"] for name in ("Email", "Sms", "Webhook"))
    assert email["properties"]["to"]["format"] == "email"
    assert sms["properties"]["to"]["pattern"] == E164_PATTERN
    assert sms["properties"]["text"]["maxLength"] == notify_schemas.MAX_SMS_CHARS
    assert "subject" not in sms["properties"] and "attachments" not in sms["properties"]
    assert set(webhook["required"]) == {"channel", "to", "event", "payload"}
    templated = schema["oneOf"][0]["allOf"][1]["oneOf"]
    reminder = next(
        one for one in templated if one["properties"]["template"] == {"const": "booking_reminder"}
    )
    assert {"start", "timezone", "mode"} <= set(reminder["properties"]["data"]["required"])
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": {"schemas": schemas}})
    for example in notify_examples.SEND_MESSAGE.values():
        validator.validate(example["value"])
    assert not validator.is_valid({"channel": "sms", "to": "+14165550123"})  # no text


def test_one_line_text_and_year_ranges_are_documented_as_the_api_checks_them(apps):
    booking = spec(apps, "booking")["components"]["schemas"]
    consent = spec(apps, "consent")["components"]["schemas"]
    name = consent["TemplateCreate"]["properties"]["name"]
    assert name["pattern"] == ONE_LINE_PATTERN
    assert re.search(name["pattern"], "Recording consent")
    for text in ("two\nlines", "nul\x00", "\u202egnidrocer"):
        assert not re.search(name["pattern"], text)
    start = booking["AppointmentCreate"]["properties"]["start"]
    assert re.search(start["pattern"], "2031-03-12T14:00:00Z")
    assert not re.search(start["pattern"], "3000-01-01T00:00:00Z")
    assert not re.search(start["pattern"], "1899-12-31T00:00:00Z")


def answers(operation, headers, examples: int = 25) -> collections.Counter[int]:
    """The statuses of `examples` positive cases generated for one operation."""
    statuses: collections.Counter[int] = collections.Counter()

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def run(case):
        statuses[case.call(headers=headers).status_code] += 1

    run()
    return statuses


def test_data_generated_from_the_spec_is_mostly_accepted(apps, make_token):
    """Schemathesis, knowing the `e164` format, generates staff members and privacy look-ups
    from the booking document and messages from notify's: most are taken (time zones, phones
    and each channel's own fields were refused before)."""
    schemathesis.openapi.format("e164", E164_NUMBERS)
    # notify: 0-2 of 25 were taken before its body was documented per channel. What it still
    # refuses is a send_at already past (time) and some literal messages without a subject,
    # which the generator still draws from the oneOf. NUL characters are refused in every text
    # (tests/security/test_input_limits.py) but no schema states it, so none are drawn: one
    # drawn into notify's free-form `data` and varied took 17 of the 25 examples once messages
    # gained two optional ids (over random seeds, about 68% were taken before and after).
    # 25 derandomized examples moved by 8 either way when any string constant of the code
    # changed (Hypothesis draws from them): each share is measured on 200, with a margin.
    for service, method, path, accepted, share, examples in (
        ("booking", "POST", "/api/v1/staff", 201, 0.65, 200),
        ("booking", "POST", "/api/v1/privacy/clients/export", 200, 0.7, 200),
        ("notify", "POST", "/api/v1/messages", 201, 0.55, 200),
    ):
        headers = {"Authorization": f"Bearer {make_token(service, 'admin')}"}
        schema = schemathesis.openapi.from_wsgi("/openapi.json", apps[service], headers=headers)
        schema.config.generation.update(allow_x00=False)
        statuses = answers(schema[path][method], headers, examples)
        assert statuses[accepted] >= share * sum(statuses.values()), (path, statuses)
