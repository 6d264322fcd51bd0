"""The languages the suite speaks: the FRONTDESK_LANGUAGES setting, read once at import.

An organization adds a language (Farsi, Tigrinya, Ukrainian, Chinese...) by listing its code
in the setting and adding its catalogs: each service's translations/CODE/, notify's
templates/CODE/ and the record labels. Whatever lacks a translation falls back to English.
Its name and writing direction come from Babel's CLDR data, so they need no table here.
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

from shared.config import load_config

FALLBACK = "en"


def parse_languages(value: str) -> tuple[str, ...]:
    """'en, fr,ar' -> ('en', 'fr', 'ar'): known Babel locales, English always included."""
    codes: list[str] = []
    for raw in value.split(","):
        code = raw.strip()
        if not code or code in codes:
            continue
        try:
            Locale.parse(code)
        except (ValueError, UnknownLocaleError) as exc:
            raise ValueError(f"FRONTDESK_LANGUAGES: {code!r} is not a language code") from exc
        codes.append(code)
    if FALLBACK not in codes:
        codes.insert(0, FALLBACK)
    return tuple(codes)


def language_name(code: str) -> str:
    """A language's name in that language, as its speakers look for it: 'العربية', 'Français'."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def text_direction(code: str) -> str:
    """'rtl' for languages written right to left (Arabic, Farsi, Hebrew...), else 'ltr'."""
    return "rtl" if Locale.parse(code).character_order == "right-to-left" else "ltr"


LANGUAGES: tuple[str, ...] = parse_languages(load_config()["LANGUAGES"])
