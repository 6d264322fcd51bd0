"""The folder tree is the architecture: services meet only over REST, shared holds no domain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("booking", "consent", "notify")


def imported_modules(path: Path) -> set[str]:
    """Every module name a Python file imports (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_service_never_imports_another_service(service):
    others = [s for s in SERVICES if s != service]
    offenders = []
    for path in (ROOT / "services" / service).rglob("*.py"):
        for name in imported_modules(path):
            if any(name == f"services.{o}" or name.startswith(f"services.{o}.") for o in others):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_shared_never_imports_a_service():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "shared").rglob("*.py")
        for name in imported_modules(path)
        if name.startswith("services")
    ]
    assert offenders == []


def test_no_catch_all_module_names():
    banned = {"utils.py", "helpers.py", "misc.py", "manager.py"}
    found = [
        str(p.relative_to(ROOT))
        for d in ("services", "shared", "frontdesk")
        for p in (ROOT / d).rglob("*.py")
        if p.name in banned
    ]
    assert found == []


def test_readme_documents_every_setting():
    from shared.config import SETTINGS

    readme = (ROOT / "README.md").read_text()
    missing = [name for name in SETTINGS if f"`FRONTDESK_{name}`" not in readme]
    assert missing == []
