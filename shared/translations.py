"""Translation catalogs, read without Flask: the pages (through Flask-Babel) and the text made
outside a page (the calendar files sent to clients) share one loader and one cache.

The catalogs are the .po files themselves, compiled in memory once per process: there are no
.mo files to forget to build after a checkout or an edit.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel import support
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


@functools.cache
def po_translations(locale: str, directories: tuple[str, ...]) -> support.Translations:
    """The `locale` catalogs (messages.po) of these folders merged, read once per process."""
    merged = None
    for directory in directories:
        path = Path(directory) / locale / "LC_MESSAGES" / "messages.po"
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            translations = support.Translations(fp=buffer)
            # The first catalog is the base: merging into an empty one would keep English's
            # plural rule (one/other), and Arabic has six forms.
            if merged is None:
                merged = translations
            else:
                merged.merge(translations)
    return merged if merged is not None else support.Translations()
