"""Translation catalogs: the .po files are the source, the .mo files beside them are built.

`pip install .` and `pip install -e .` compile them (setup.py's build step), `make` compiles the
ones older than their .po, and an app compiles any still missing when it starts (a bare
checkout); nothing compiled is committed. Read without Flask: the pages (through Flask-Babel's
own loader) and the text made outside a page (the calendar files sent to clients) use the same
.mo files.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from pathlib import Path

from babel import support
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

CATALOG = "messages"


def compile_catalog(po: Path) -> Path:
    """Compile one .po file to the .mo beside it; return the .mo."""
    mo = po.with_suffix(".mo")
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=po.parent.parent.name)
    # Written aside, then renamed: a process starting beside this one (another gunicorn worker
    # of a bare checkout) reads the old file or the whole new one, never half of it.
    partial = mo.with_name(f".{mo.name}.{os.getpid()}")
    with partial.open("wb") as handle:
        write_mo(handle, catalog)
    partial.replace(mo)
    return mo


def catalogs(directories: Iterable[Path | str]) -> list[Path]:
    """Every .po catalog in these translations folders."""
    return sorted(
        po
        for directory in directories
        for po in Path(directory).glob(f"*/LC_MESSAGES/{CATALOG}.po")
    )


def compile_catalogs(directories: Iterable[Path | str], *, stale: bool = True) -> list[Path]:
    """Compile the catalogs whose .mo is missing (or, with `stale`, older than the .po)."""
    done = []
    for po in catalogs(directories):
        mo = po.with_suffix(".mo")
        if not mo.exists() or (stale and mo.stat().st_mtime < po.stat().st_mtime):
            done.append(compile_catalog(po))
    return done


@functools.cache
def translations(locale: str, directories: tuple[str, ...]) -> support.Translations:
    """The `locale` catalogs of these folders merged (as Flask-Babel merges them), read once."""
    compile_catalogs(directories, stale=False)
    merged = support.Translations()
    for directory in directories:
        catalog = support.Translations.load(directory, [locale], CATALOG)
        merged.merge(catalog)
        # merge() keeps the first catalog's plural rule (English's one/other when it started
        # empty); Arabic has six forms.
        if hasattr(catalog, "plural"):
            merged.plural = catalog.plural
    return merged


if __name__ == "__main__":  # python -m shared.translations FOLDER...: what `make` runs
    import sys

    for mo in compile_catalogs(sys.argv[1:]):
        print(f"compiled {mo}")
