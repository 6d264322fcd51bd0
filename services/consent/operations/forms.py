"""Consent form templates and their immutable versions.

A version's content is hashed in a canonical JSON form; the hash goes on every record signed
against it, so a record always names exactly the text the client saw. Publishing a new version
adds a row; it never changes an old one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import nh3
import sqlalchemy as sa
from markdown_it import MarkdownIt
from sqlalchemy.orm import Session

from services.consent.errors import TemplateArchived, TemplateNotFound, VersionNotFound
from services.consent.models import MAX_ID, ConsentRequest, FormTemplate, FormVersion
from shared.db import utcnow
from shared.languages import LANGUAGES

LOCALES = LANGUAGES
# A form's own fallback when it has neither the asked language nor the organization's default.
DEFAULT_LOCALE = "en"

# CommonMark with raw HTML disabled; nh3 then keeps only harmless tags.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def render_markdown(text: str) -> str:
    """Markdown -> sanitized HTML (no raw HTML, no scripts, safe links only)."""
    return nh3.clean(
        _markdown.render(text),
        url_schemes={"https", "http", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )


def canonical_content(content: dict[str, Any]) -> str:
    """The canonical JSON form of a version's content: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 hex digest of a version's canonical content."""
    return hashlib.sha256(canonical_content(content).encode()).hexdigest()


def preview_html(content: dict[str, Any]) -> dict[str, str]:
    """Each locale's body as a published version would show it (nothing is stored)."""
    return {locale: render_markdown(text["body"]) for locale, text in content["locales"].items()}


def _build_version(template: FormTemplate, number: int, content: dict[str, Any]) -> FormVersion:
    return FormVersion(
        template=template,
        number=number,
        content=content,
        body_html=preview_html(content),
        validity_days=content.get("validity_days"),
        content_sha256=content_hash(content),
    )


def create_template(*, session: Session, name: str, content: dict[str, Any]) -> FormTemplate:
    """Create a form template with its first version."""
    template = FormTemplate(name=name)
    session.add(template)
    session.add(_build_version(template, 1, content))
    session.flush()
    return template


def publish_version(
    *, session: Session, template: FormTemplate, content: dict[str, Any]
) -> FormVersion:
    """Publish a new version of a template; earlier versions and their records stay as they are."""
    if template.archived_at is not None:
        raise TemplateArchived("Unarchive is not possible; create a new form instead.")
    number = (
        session.scalar(
            sa.select(sa.func.max(FormVersion.number)).where(FormVersion.template_id == template.id)
        )
        or 0
    ) + 1
    version = _build_version(template, number, content)
    session.add(version)
    session.flush()
    session.refresh(template, ["versions"])
    return version


def get_template(*, session: Session, template_id: int) -> FormTemplate:
    """A template by id, or 404."""
    template = session.get(FormTemplate, template_id) if 0 < template_id <= MAX_ID else None
    if template is None:
        raise TemplateNotFound(f"There is no consent form {template_id}.")
    return template


def list_templates(*, session: Session, include_archived: bool = False) -> list[FormTemplate]:
    """Every template, oldest first."""
    query = sa.select(FormTemplate).order_by(FormTemplate.id)
    if not include_archived:
        query = query.where(FormTemplate.archived_at.is_(None))
    return list(session.scalars(query))


def rename_template(*, session: Session, template: FormTemplate, name: str) -> FormTemplate:
    """Change a template's internal name (the signed text lives in versions and never changes)."""
    template.name = name
    session.flush()
    return template


def archive_template(*, session: Session, template: FormTemplate) -> None:
    """Stop offering a template for new requests; its versions and records are kept."""
    if template.archived_at is None:
        template.archived_at = utcnow()
        session.flush()


def get_version(*, session: Session, template: FormTemplate, number: int) -> FormVersion:
    """One version of a template, or 404."""
    version = session.scalar(
        sa.select(FormVersion).where(
            FormVersion.template_id == template.id, FormVersion.number == min(number, MAX_ID)
        )
    )
    if version is None:
        raise VersionNotFound(f"Form {template.id} has no version {number}.")
    return version


@dataclass(frozen=True)
class LocalizedForm:
    """A version's text in one locale, ready to show or print."""

    locale: str
    title: str
    body_html: str
    checkboxes: list[dict[str, Any]]  # [{"key", "label", "required"}]
    fields: list[dict[str, Any]]  # [{"key", "label", "max_length"}]


def form_locale(version: FormVersion, *wanted: str | None) -> str:
    """The first of `wanted` the version has text in, else its own default: English when it
    has it, else its first language in LOCALES order (never a language it lacks)."""
    locales = version.content["locales"]
    for locale in (*wanted, DEFAULT_LOCALE):
        if locale in locales:
            return locale
    return next((code for code in LOCALES if code in locales), min(locales))


def request_title(request: ConsentRequest, default_language: str | None) -> str:
    """The title of a request's form wherever it is named outside the signing page (messages,
    the API, booking's appointment, the privacy export): in the client's language, else in
    the organization's default, else in the form's own, the language the client is shown the
    form in (see form_locale)."""
    version = request.version
    return version.content["locales"][form_locale(version, request.locale, default_language)][
        "title"
    ]


def localize(version: FormVersion, locale: str | None, *fallbacks: str | None) -> LocalizedForm:
    """The version's text in `locale`, else in the first of `fallbacks` it has (see
    form_locale)."""
    chosen = form_locale(version, locale, *fallbacks)
    text = version.content["locales"][chosen]
    return LocalizedForm(
        locale=chosen,
        title=text["title"],
        body_html=version.body_html[chosen],
        checkboxes=[
            {
                "key": box["key"],
                "label": text["checkboxes"][box["key"]],
                "required": box["required"],
            }
            for box in version.content.get("checkboxes", [])
        ],
        fields=[
            {
                "key": field["key"],
                "label": text.get("fields", {})[field["key"]],
                "max_length": field.get("max_length", 500),
            }
            for field in version.content.get("fields", [])
        ],
    )
