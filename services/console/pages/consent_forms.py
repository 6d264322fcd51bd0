"""Setup > Consent forms (admins): the forms and their current version; write a new version
(or a new form) with its title, text and checkboxes in each language, preview it in every
language (consent checks and renders it as signers see it, storing nothing; a server-rendered
preview, no script needed), then publish it at consent.

Consent checks the content (at least one language, every language labels every checkbox); its
field errors show next to the language's fields they are about.
"""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from services.console.errors import ApiProblem
from services.console.pages.access import page_blueprint
from shared.pages import LANGUAGES

blueprint = page_blueprint("console_consent_forms", admin=True)

BOXES = 3  # rows of each kind on the form; a version with more is edited through the API


@blueprint.get("/setup/consent-forms")
def forms():
    """Every consent form with its current version."""
    return render_template(
        "console/setup/consent_forms.html",
        templates=g.api.consent.templates(),
        published=request.args.get("published"),
    )


def _template(template_id: int) -> dict[str, Any]:
    try:
        return g.api.consent.template(template_id)
    except ApiProblem as problem:
        if problem.status == 404:
            abort(404)
        raise


# The editor's rows: checkboxes the client ticks and fields the client fills in, each with a
# key and a label per language; (content key, row prefix, the spec's own setting and default).
ROWS = (("checkboxes", "box", "required", True), ("fields", "input", "max_length", 500))


def _values_of(template: dict[str, Any] | None) -> dict[str, Any]:
    """A form's current version as the editor's fields (a new form: empty)."""
    values: dict[str, Any] = {"name": (template or {}).get("name", "")}
    content = ((template or {}).get("current_version") or {}).get("content") or {}
    locales = content.get("locales") or {}
    for lang in LANGUAGES:
        text = locales.get(lang) or {}
        values[f"title-{lang}"] = text.get("title", "")
        values[f"body-{lang}"] = text.get("body", "")
    for kind, prefix, setting, default in ROWS:
        specs = content.get(kind) or []
        for index in range(BOXES):
            spec = specs[index] if index < len(specs) else {}
            values[f"{prefix}-key-{index}"] = spec.get("key", "")
            values[f"{prefix}-{setting}-{index}"] = spec.get(setting, default)
            for lang in LANGUAGES:
                labels = (locales.get(lang) or {}).get(kind) or {}
                values[f"{prefix}-label-{index}-{lang}"] = labels.get(spec.get("key", ""), "")
    values["validity_days"] = str(content.get("validity_days") or "")
    values["too_many"] = any(len(content.get(kind) or []) > BOXES for kind, *_ in ROWS)
    return values


def _posted(form: MultiDict) -> dict[str, Any]:
    values: dict[str, Any] = {"name": form.get("name", "").strip()}
    for lang in LANGUAGES:
        values[f"title-{lang}"] = form.get(f"title-{lang}", "").strip()
        values[f"body-{lang}"] = form.get(f"body-{lang}", "").strip()
    for _kind, prefix, setting, _default in ROWS:
        for index in range(BOXES):
            values[f"{prefix}-key-{index}"] = form.get(f"{prefix}-key-{index}", "").strip()
            raw = form.get(f"{prefix}-{setting}-{index}", "").strip()
            # A checkbox's "required" is a tick; a field's max_length is sent as typed.
            values[f"{prefix}-{setting}-{index}"] = bool(raw) if setting == "required" else raw
            for lang in LANGUAGES:
                label = form.get(f"{prefix}-label-{index}-{lang}", "").strip()
                values[f"{prefix}-label-{index}-{lang}"] = label
    values["validity_days"] = form.get("validity_days", "").strip()
    return values


def _rows(values: dict[str, Any], prefix: str = "box") -> list[int]:
    return [i for i in range(BOXES) if values[f"{prefix}-key-{i}"]]


def _written(values: dict[str, Any]) -> list[str]:
    """The languages with a title or text; English when none has (consent then says what its
    fields need, next to them)."""
    written = [lang for lang in LANGUAGES if values[f"title-{lang}"] or values[f"body-{lang}"]]
    return written or ["en"]


def _content(values: dict[str, Any]) -> dict[str, Any]:
    """The editor's fields as consent's version content."""
    content: dict[str, Any] = {
        "locales": {
            lang: {
                "title": values[f"title-{lang}"],
                "body": values[f"body-{lang}"],
                **{
                    kind: {
                        values[f"{prefix}-key-{i}"]: values[f"{prefix}-label-{i}-{lang}"]
                        for i in _rows(values, prefix)
                    }
                    for kind, prefix, *_ in ROWS
                },
            }
            for lang in _written(values)
        },
        "validity_days": values["validity_days"] or None,
    }
    for kind, prefix, setting, default in ROWS:
        content[kind] = [
            {
                "key": values[f"{prefix}-key-{i}"],
                setting: values[f"{prefix}-{setting}-{i}"]
                if values[f"{prefix}-{setting}-{i}"] != ""
                else default,
            }
            for i in _rows(values, prefix)
        ]
    return content


def _paths(errors: Any, prefix: tuple = ()) -> list[tuple[tuple, str]]:
    """Consent's nested field errors as (path, message) pairs; dotted names are split."""
    if isinstance(errors, dict):
        found = []
        for key, value in errors.items():
            parts = tuple(str(key).split(".")) if isinstance(key, str) else (str(key),)
            found += _paths(value, prefix + tuple(p for p in parts if p != "value"))
        return found
    if isinstance(errors, list) and errors and not isinstance(errors[0], (dict, list)):
        return [(prefix, " ".join(map(str, errors)))]
    if isinstance(errors, list):
        return [pair for item in errors for pair in _paths(item, prefix)]
    return [(prefix, str(errors))]


def _field_of(path: tuple) -> str:
    """Which editor field a consent error path is about."""
    match path:
        case ("name",) | ("validity_days",):
            return path[0]
        case ("locales",):
            return "title-en"
        case ("locales", lang, "title" | "body" as part) if lang in LANGUAGES:
            return f"{part}-{lang}"
        case ("locales", lang, "checkboxes", *_) if lang in LANGUAGES:
            return f"box-label-0-{lang}"
        case ("locales", lang, "fields", *_) if lang in LANGUAGES:
            return f"input-label-0-{lang}"
        case ("locales", lang, *_) if lang in LANGUAGES:
            return f"title-{lang}"
        case ("checkboxes", index, *_) if index.isdigit():
            return f"box-key-{index}"
        case ("checkboxes", *_):
            return "box-key-0"
        case ("fields", index, "max_length") if index.isdigit():
            return f"input-max_length-{index}"
        case ("fields", index, *_) if index.isdigit():
            return f"input-key-{index}"
        case ("fields", *_):
            return "input-key-0"
    return "_form"


def editor_errors(problem: ApiProblem) -> dict[str, str]:
    """Consent's problem as one message per editor field (`_form` for the rest)."""
    errors: dict[str, str] = {}
    for path, message in _paths(problem.errors or {}):
        field = _field_of(path)
        errors[field] = f"{errors[field]} {message}" if field in errors else message
    return errors or {"_form": problem.detail}


def _editor(template: dict[str, Any] | None, values, errors, preview=None, status=200):
    """The editor; with `preview` (consent's rendered bodies by locale) the preview above it."""
    body = render_template(
        "console/setup/consent_form_edit.html",
        template=template,
        values=values,
        errors=errors,
        boxes=range(BOXES),
        preview=preview,
        preview_boxes=_rows(values),
        preview_inputs=_rows(values, "input"),
    )
    return body, status


@blueprint.get("/setup/consent-forms/new")
def new_form():
    """The editor for a new consent form."""
    return _editor(None, _values_of(None), {})


@blueprint.get("/setup/consent-forms/<int:template_id>")
def new_version(template_id: int):
    """The editor for a form's next version, starting from its current one."""
    template = _template(template_id)
    return _editor(template, _values_of(template), {})


def _publish(template: dict[str, Any] | None):
    values = _posted(request.form)
    try:
        if request.form.get("action") == "preview":
            shown = g.api.consent.preview_version(_content(values))
            return _editor(template, values, {}, preview=shown["body_html"])
        if template is None:
            created = g.api.consent.create_template({"name": values["name"], **_content(values)})
            name = created["name"]
        else:
            g.api.consent.publish_version(template["id"], _content(values))
            name = template["name"]
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        return _editor(template, values, editor_errors(problem), status=422)
    return redirect(url_for("console_consent_forms.forms", published=name))


@blueprint.post("/setup/consent-forms/new")
def create_form():
    """Preview the new form, or create it at consent with its first version."""
    return _publish(None)


@blueprint.post("/setup/consent-forms/<int:template_id>")
def publish_version(template_id: int):
    """Preview the new version, or publish it at consent."""
    return _publish(_template(template_id))
