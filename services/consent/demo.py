"""Demo data for consent: the form "Session recording and information sharing" in English,
French and Spanish. Its boxes match its text: the client can say no to recording and to sharing
(two optional boxes); only "I have read this form" is required, and the text says so. Idempotent: found by name the second time."""

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
                "affect the services you receive.\n\n"
                "Only the first box is required. Tick the others only if you agree."
            ),
            "checkboxes": {
                "read": "I have read this form and my questions were answered.",
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
                "les services que vous recevez.\n\n"
                "Seule la première case est obligatoire. Cochez les autres seulement si vous "
                "êtes d'accord."
            ),
            "checkboxes": {
                "read": "J'ai lu ce formulaire et on a répondu à mes questions.",
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
                "los servicios que recibe.\n\n"
                "Solo la primera casilla es obligatoria. Marque las demás solo si está de acuerdo."
            ),
            "checkboxes": {
                "read": "He leído este formulario y respondieron a mis preguntas.",
                "recording": "Acepto que esta sesión sea grabada.",
                "sharing": "Acepto que mi información se comparta con las agencias asociadas.",
            },
            "fields": {},
        },
    },
    "checkboxes": [
        {"key": "read", "required": True},
        {"key": "recording", "required": False},
        {"key": "sharing", "required": False},
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
