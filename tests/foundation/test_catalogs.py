"""The .po catalogs are the source: the build compiles them, nothing compiled is committed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from shared.translations import compile_catalogs, translations

ROOT = Path(__file__).resolve().parents[2]
FRENCH_404 = """
import services.booking.app
from services.booking.app import create_app
print(services.booking.app.__file__)
app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "LOG_LEVEL": "WARNING"})
page = app.test_client().get("/no/such/page?lang=fr", headers={"Accept": "text/html"})
print(page.status_code, page.get_data(as_text=True))
"""


def _fresh_clone(target: Path) -> Path:
    """The files a clone holds (no .mo, no caches), copied to `target`."""
    ignore = shutil.ignore_patterns("*.mo", "__pycache__", "*.pyc")
    for name in ("frontdesk", "services", "shared"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, target / name)
    return target


def test_no_compiled_catalog_is_committed():
    tracked = subprocess.run(
        ["git", "ls-files", "*.mo"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert tracked.stdout == ""
    assert "*.mo" in (ROOT / ".gitignore").read_text().split()


def test_the_build_step_compiles_every_catalog_and_the_built_package_speaks_french(tmp_path):
    clone = _fresh_clone(tmp_path / "clone")
    built = tmp_path / "lib"
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(built)],
        cwd=clone,
        capture_output=True,
        check=True,
    )
    sources = sorted(p.relative_to(clone) for p in clone.glob("**/messages.po"))
    assert len(sources) >= 9
    assert sorted(p.relative_to(built) for p in built.glob("**/messages.mo")) == [
        p.with_suffix(".mo") for p in sources
    ]
    assert list(clone.glob("**/*.mo")) == []  # a wheel's build leaves the checkout alone
    env = {**os.environ, "PYTHONPATH": str(built)}
    rendered = subprocess.run(
        [sys.executable, "-c", FRENCH_404],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    where, answer = rendered.stdout.split("\n", 1)
    assert Path(where).is_relative_to(built)
    assert answer.startswith("404 ")
    assert 'lang="fr"' in answer
    assert "trouvé cette page" in answer  # "Nous n'avons pas trouvé cette page"


def test_missing_and_stale_catalogs_are_compiled_and_fresh_ones_left_alone(tmp_path):
    folder = tmp_path / "translations"
    po = folder / "fr" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n\nmsgid "Hello"\nmsgstr "Bonjour"\n', encoding="utf-8")
    assert compile_catalogs([folder]) == [po.with_suffix(".mo")]
    assert compile_catalogs([folder]) == []
    po.write_text('msgid ""\nmsgstr ""\n\nmsgid "Hello"\nmsgstr "Salut"\n', encoding="utf-8")
    os.utime(po, (po.stat().st_mtime + 10, po.stat().st_mtime + 10))
    assert compile_catalogs([folder], stale=False) == []
    assert compile_catalogs([folder]) == [po.with_suffix(".mo")]
    assert translations("fr", (str(folder),)).gettext("Hello") == "Salut"
