"""Demo data for consent: the form "Session recording and information sharing" in English,
French and Spanish with two required checkboxes. Idempotent: found by name the second time."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.consent.models import FormTemplate
from services.consent.operations import forms

RECORDING_FORM_NAME = "Session recording and information sharing"

RECORDING_FORM = {
    "locales": {
        "en": {
            "title": "Session recording and information sharing",
            "body": (
                "With your permission, we would like to **record this session** so your "
                "caseworker can review it, and to **share the information you give us** with "
                "the partner agencies that help with your file.\n\n"
                "- Recordings are kept for 12 months, then deleted.\n"
                "- We never share your information with anyone else without asking you.\n"
                "- You can say no, and you can change your mind at any time: it will not "
                "affect the services you receive."
            ),
            "checkboxes": {
                "recording": "I agree that this session may be recorded.",
                "sharing": "I agree that my information may be shared with partner agencies.",
            },
            "fields": {},
        },
        "fr": {
            "title": "Enregistrement de la séance et partage d'informations",
            "body": (
                "Avec votre permission, nous aimerions **enregistrer cette séance** afin que "
                "votre intervenant·e puisse la revoir, et **partager les informations que vous "
                "nous donnez** avec les organismes partenaires qui aident à votre dossier.\n\n"
                "- Les enregistrements sont conservés 12 mois, puis supprimés.\n"
                "- Nous ne partageons jamais vos informations avec d'autres personnes sans "
                "vous le demander.\n"
                "- Vous pouvez refuser et changer d'avis à tout moment : cela ne changera pas "
                "les services que vous recevez."
            ),
            "checkboxes": {
                "recording": "J'accepte que cette séance soit enregistrée.",
                "sharing": "J'accepte que mes informations soient partagées avec les "
                "organismes partenaires.",
            },
            "fields": {},
        },
        "es": {
            "title": "Grabación de la sesión e intercambio de información",
            "body": (
                "Con su permiso, nos gustaría **grabar esta sesión** para que su trabajador·a "
                "social pueda revisarla, y **compartir la información que nos da** con las "
                "agencias asociadas que ayudan con su expediente.\n\n"
                "- Las grabaciones se guardan 12 meses y luego se eliminan.\n"
                "- Nunca compartimos su información con nadie más sin preguntarle.\n"
                "- Puede decir que no y cambiar de opinión en cualquier momento: no afectará "
                "los servicios que recibe."
            ),
            "checkboxes": {
                "recording": "Acepto que esta sesión sea grabada.",
                "sharing": "Acepto que mi información se comparta con las agencias asociadas.",
            },
            "fields": {},
        },
    },
    "checkboxes": [
        {"key": "recording", "required": True},
        {"key": "sharing", "required": True},
    ],
    "fields": [],
    "validity_days": 365,
}


def load_demo(*, session: Session) -> dict[str, int]:
    """Create the demo consent form once; return {"recording": template_id}."""
    template = session.scalar(
        sa.select(FormTemplate)
        .where(FormTemplate.name == RECORDING_FORM_NAME, FormTemplate.archived_at.is_(None))
        .order_by(FormTemplate.id)
        .limit(1)
    )
    if template is None:
        template = forms.create_template(
            session=session, name=RECORDING_FORM_NAME, content=RECORDING_FORM
        )
    return {"recording": template.id}
