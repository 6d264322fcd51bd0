"""The build step pyproject.toml cannot declare: compile the .po catalogs to .mo.

In a wheel (`pip install .`) the .mo files go into the build folder; in an editable install
(`pip install -e .`) beside the .po files in the checkout (they are ignored by git). The
compilation is shared.translations' own (it needs only Babel, a build requirement).
"""

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the checkout's shared.translations

from shared.translations import catalogs, compile_catalog


class BuildPyWithCatalogs(build_py):
    """build_py, then every translations/*/LC_MESSAGES/messages.po compiled to messages.mo."""

    def run(self):
        super().run()
        root = Path(".") if self.editable_mode else Path(self.build_lib)
        for po in catalogs([*root.glob("services/*/translations"), root / "shared/translations"]):
            compile_catalog(po)


setup(cmdclass={"build_py": BuildPyWithCatalogs})
