"""The build step pyproject.toml cannot declare: compile the .po catalogs to .mo.

In a wheel (`pip install .`) the .mo files go into the build folder; in an editable install
(`pip install -e .`) beside the .po files in the checkout (they are ignored by git). The same
compilation as shared.translations, written here so the build needs only Babel.
"""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogs(build_py):
    """build_py, then every translations/*/LC_MESSAGES/messages.po compiled to messages.mo."""

    def run(self):
        super().run()
        root = Path(".") if self.editable_mode else Path(self.build_lib)
        for package in ("services", "shared"):
            for po in (root / package).glob("**/translations/*/LC_MESSAGES/messages.po"):
                with po.open("rb") as handle:
                    catalog = read_po(handle, locale=po.parent.parent.name)
                with po.with_suffix(".mo").open("wb") as handle:
                    write_mo(handle, catalog)


setup(cmdclass={"build_py": BuildPyWithCatalogs})
