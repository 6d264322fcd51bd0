"""What the browser tests check on a page, and the consent form they use (imported by name:
several test folders have a conftest.py, so helpers do not live in one)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WCAG_22_AA = [*WCAG_AA, "wcag22aa"]

CONSENT_FORM = {
    "name": "Recording (browser tests)",
    "locales": {
        "en": {
            "title": "Session recording and information sharing",
            "body": "We would like to **record** this session.\n\n- Kept 12 months\n- Never shared without asking you",
            "checkboxes": {
                "recording": "I agree that this session may be recorded.",
                "sharing": "I agree that my information may be shared with partner agencies.",
            },
            "fields": {},
        },
        "fr": {
            "title": "Enregistrement de la séance et partage d'informations",
            "body": "Nous aimerions **enregistrer** cette séance.\n\n- Conservé 12 mois\n- Jamais partagé sans vous le demander",
            "checkboxes": {
                "recording": "J'accepte que cette séance soit enregistrée.",
                "sharing": "J'accepte que mes informations soient partagées.",
            },
            "fields": {},
        },
        "es": {
            "title": "Grabación de la sesión e intercambio de información",
            "body": "Nos gustaría **grabar** esta sesión.\n\n- Se guarda 12 meses\n- Nunca se comparte sin preguntarle",
            "checkboxes": {
                "recording": "Acepto que esta sesión sea grabada.",
                "sharing": "Acepto que mi información se comparta.",
            },
            "fields": {},
        },
        "ar": {
            "title": "تسجيل الجلسة ومشاركة المعلومات",
            "body": "نود **تسجيل** هذه الجلسة.\n\n- تُحفظ 12 شهرًا\n- لا تُشارك أبدًا دون سؤالك",
            "checkboxes": {
                "recording": "أوافق على تسجيل هذه الجلسة.",
                "sharing": "أوافق على مشاركة معلوماتي مع الجهات الشريكة.",
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


def watch_console(page) -> list[str]:
    """Errors the page logs (a CSP violation, a script error, a missing style sheet or script);
    a page's own 4xx status (an error page shown on purpose) is not one. Fills as the page runs."""
    problems: list[str] = []

    def seen(message) -> None:
        url = message.location.get("url", "")
        expected = message.text.startswith("Failed to load resource") and "/static/" not in url
        if message.type == "error" and not expected:
            problems.append(f"{message.text} ({url})")

    page.on("console", seen)
    return problems


def check_accessibility(page, tags: list[str] = WCAG_AA) -> list[dict]:
    """axe-core's violations of the WCAG levels `tags` (2.1 A/AA unless given) on the current
    page (evaluated, since the pages' CSP rightly refuses an injected inline script)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        tags,
    )
    return [
        {
            "id": violation["id"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in result["violations"]
    ]


def narrow_enough(page, width: int = PHONE["width"]) -> None:
    """The page fits a screen `width` CSS pixels wide: nothing makes it scroll sideways."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """limit => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > limit)
        .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)""",
        width,
    )
    assert scroll <= width, f"{page.url} scrolls sideways ({scroll} px): {wide}"


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/ (kept as a CI artifact); those of
    right-to-left pages under var/screenshots/<lang>/, to be looked at together."""
    folder = SCREENSHOTS
    if page.evaluate("document.documentElement.dir") == "rtl":
        folder = SCREENSHOTS / page.evaluate("document.documentElement.lang")
    path = folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def expect_heading(page, text: str) -> None:
    heading = page.get_by_role("heading", level=1)
    heading.wait_for()
    assert heading.inner_text().strip() == text


# The clinic service's Arabic join instructions and access notes (multi-line, right to left).
JOIN_AR = "أبقِ هاتفك متاحًا.\nسنعاود الاتصال."  # noqa: RUF001
ACCESS_NOTES_AR = "المدخل الجانبي، دون درج.\nالطابق الثاني، الجرس 4."  # noqa: RUF001
