"""Plain builders the consent tests import: a valid form in three languages, a request origin."""

from __future__ import annotations

from services.consent.operations.audit import Origin

ORIGIN = Origin(
    ip="203.0.113.7", user_agent="pytest-browser/1.0", timezone="America/Toronto", locale="en"
)


def form_content(**overrides) -> dict:
    """A valid version content in three languages with two required checkboxes and a field."""
    content = {
        "locales": {
            "en": {
                "title": "Session recording and information sharing",
                "body": "We would like to **record** this session.\n\n- kept 12 months\n- never shared",
                "checkboxes": {
                    "recording": "I agree to the recording",
                    "sharing": "I agree to sharing",
                },
                "fields": {"pronouns": "Pronouns"},
            },
            "fr": {
                "title": "Enregistrement de la séance et partage d'informations",
                "body": "Nous aimerions **enregistrer** cette séance.",
                "checkboxes": {
                    "recording": "J'accepte l'enregistrement",
                    "sharing": "J'accepte le partage",
                },
                "fields": {"pronouns": "Pronoms"},
            },
            "es": {
                "title": "Grabación de la sesión e intercambio de información",
                "body": "Nos gustaría **grabar** esta sesión.",
                "checkboxes": {"recording": "Acepto la grabación", "sharing": "Acepto compartir"},
                "fields": {"pronouns": "Pronombres"},
            },
        },
        "checkboxes": [
            {"key": "recording", "required": True},
            {"key": "sharing", "required": True},
        ],
        "fields": [{"key": "pronouns", "max_length": 50}],
        "validity_days": 365,
    }
    content.update(overrides)
    return content
