"""The folder tree is the architecture: services meet only over REST, shared holds no domain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("booking", "consent", "notify", "console")


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


# The Flask-free layer of each service: what tests call directly and workers and the CLI reuse.
# Every module of a service's `operations` (a module or a package by subdomain), the layers every
# service has below the web (its models, errors, typed clients, outbox and workers) and these.
OPERATIONS = {
    "booking": (
        "caches",
        "free_time",
        "ical",
        "manage_tokens",
        "notices",
        "privacy",
        "versions",
    ),
    "consent": ("privacy", "record_labels"),
    "notify": ("channels", "privacy", "rendering"),
    "console": (),
}
BELOW_THE_WEB = ("models", "errors", "clients", "outbox", "workers")
# What shared gives those layers: never the web either.
SHARED_WITHOUT_FLASK = (
    "actors",
    "config",
    "email_addresses",
    "http",
    "languages",
    "migrations",
    "outbound",
    "outbox",
    "plain_text",
    "timestamps",
    "translations",
)
WEB_LAYER = (
    "flask",
    "flask_babel",
    "flask_limiter",
    "flask_smorest",
    "shared.api",
    "shared.app",
    "shared.pages",
    "shared.rate_limits",
)
# One shape for every service (STYLE.md): the same files, each with the same job.
SHAPE = (
    "app",
    "models",
    "errors",
    "schemas",
    "operations",
    "resources",
    "pages",
    "clients",
    "outbox",
    "workers",
    "migrations",
)
# notify serves no page to anyone: it has no `pages`.
WITHOUT = {"notify": {"pages"}}


def flask_free_files(service: str) -> list[Path]:
    folder = ROOT / "services" / service
    operations = folder / "operations"
    found = list(operations.rglob("*.py")) if operations.is_dir() else [folder / "operations.py"]
    return found + [folder / f"{module}.py" for module in (*BELOW_THE_WEB, *OPERATIONS[service])]


@pytest.mark.parametrize("service", SERVICES)
def test_operations_modules_never_import_the_web_layer(service):
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in flask_free_files(service)
        for name in imported_modules(path)
        if any(name == web or name.startswith(f"{web}.") for web in WEB_LAYER)
    ]
    assert offenders == []


def test_what_shared_gives_the_operations_never_imports_the_web_layer():
    offenders = [
        f"shared/{module}.py imports {name}"
        for module in SHARED_WITHOUT_FLASK
        for name in imported_modules(ROOT / "shared" / f"{module}.py")
        if any(name == web or name.startswith(f"{web}.") for web in WEB_LAYER)
    ]
    assert offenders == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_shape(service):
    folder = ROOT / "services" / service
    missing = [
        part
        for part in SHAPE
        if part not in WITHOUT.get(service, set())
        and not (folder / f"{part}.py").is_file()
        and not (folder / part / "__init__.py").is_file()
        and not (part == "migrations" and (folder / part / "env.py").is_file())
    ]
    assert missing == []


def test_shared_never_names_a_service_module_in_a_string():
    # importlib.import_module(f"services.{name}...") is an import the test above cannot see:
    # the composition root (frontdesk/) passes what shared needs instead.
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in (ROOT / "shared").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("services.")
        )
        or (
            isinstance(node, ast.JoinedStr)
            and node.values
            and isinstance(node.values[0], ast.Constant)
            and str(node.values[0].value).startswith("services.")
        )
    ]
    assert offenders == []


def test_errors_of_services_and_shared_live_in_their_errors_modules():
    import importlib
    import pkgutil

    import services
    import shared
    from shared.errors import FrontdeskError

    for package in (services, shared):
        for found in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations" not in found.name and not found.name.endswith("testing"):
                importlib.import_module(found.name)

    def tree(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from tree(sub)

    outside = sorted(
        f"{cls.__module__}.{cls.__name__}"
        for cls in tree(FrontdeskError)
        if cls.__module__.startswith(("services.", "shared."))
        and not cls.__module__.endswith(".errors")
    )
    assert outside == []


UTC_ISO_PENDING: set[str] = set()


def test_utc_timestamps_are_written_by_one_helper():
    copies = sorted(
        str(path.relative_to(ROOT))
        for folder in ("services", "shared", "frontdesk")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "timestamps.py"
        and str(path.relative_to(ROOT)) not in UTC_ISO_PENDING
        and '.isoformat().replace("+00:00", "Z")' in path.read_text()
    )
    assert copies == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_defines_each_constant_once(service):
    defined: dict[tuple[str, str], list[str]] = {}
    for path in (ROOT / "services" / service).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.isupper()
                and isinstance(node.value, ast.Constant)
            ):
                key = (node.targets[0].id, repr(node.value.value))
                defined.setdefault(key, []).append(path.name)
    assert {key: files for key, files in defined.items() if len(files) > 1} == {}


def test_benchmark_tables_live_only_in_bench_results():
    with_tables = sorted(
        str(path.relative_to(ROOT))
        for path in ROOT.glob("**/*.md")
        if "node_modules" not in path.parts
        and ".venv" not in path.parts
        and "| benchmark | value |" in path.read_text()
    )
    assert with_tables == ["bench/RESULTS.md"]


def test_deployment_is_described_in_deploy_readme_and_the_readme_links_it():
    readme = (ROOT / "README.md").read_text()
    deploy = (ROOT / "deploy" / "README.md").read_text()
    assert "step by step (Debian 12)" in deploy and "step by step" not in readme
    assert "(deploy/README.md)" in readme and "(bench/RESULTS.md)" in readme
    for section in ("## Two commands", "## Configuration", "## Architecture"):
        assert section in readme


# Still unwrapping the proxies, in a module other work on issue 21 rewrites (the feeds' caches).
PRIVATE_API_PENDING: set[str] = set()
LIBRARIES = ("flask", "werkzeug", "flask_babel", "flask_limiter", "flask_smorest", "sqlalchemy")


def test_code_uses_no_private_names_of_flask_and_its_libraries():
    offenders = []
    for folder in ("services", "shared", "frontdesk"):
        for path in (ROOT / folder).rglob("*.py"):
            where = str(path.relative_to(ROOT))
            if where in PRIVATE_API_PENDING:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=where)):
                if isinstance(node, ast.Attribute) and node.attr == "_get_current_object":
                    offenders.append(f"{where}:{node.lineno} {node.attr}")
                elif (
                    isinstance(node, ast.ImportFrom)
                    and (node.module or "").split(".")[0] in LIBRARIES
                    and any(alias.name.startswith("_") for alias in node.names)
                ):
                    offenders.append(f"{where}:{node.lineno} from {node.module}")
                elif isinstance(node, ast.ClassDef) and any(
                    isinstance(base, ast.Name) and base.id == "Flask" for base in node.bases
                ):
                    offenders.append(f"{where}:{node.lineno} subclasses Flask")
    assert offenders == []


@pytest.mark.parametrize("folder, mark", [("browser", "browser"), ("e2e", "e2e")])
def test_every_browser_and_e2e_test_module_is_marked(folder, mark):
    # An unmarked Chromium test runs in the plain pass too, where Playwright's event loop in the
    # main thread breaks every later asyncio.run (the PDF signer's).
    unmarked = [
        path.name
        for path in (ROOT / "tests" / folder).glob("test_*.py")
        if f"pytestmark = pytest.mark.{mark}" not in path.read_text()
    ]
    assert unmarked == []


def test_services_and_shared_never_import_the_composition_root():
    # frontdesk/ imports every service; a service importing it would import all the others.
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for folder in ("services", "shared")
        for path in (ROOT / folder).rglob("*.py")
        for name in imported_modules(path)
        if name == "frontdesk" or name.startswith("frontdesk.")
    ]
    assert offenders == []


def test_test_modules_have_unique_names():
    # pytest imports test modules by their basename: two with one name stop the whole run.
    names = [path.name for path in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({name for name in names if names.count(name) > 1}) == []


def test_tests_never_import_through_a_tests_package():
    # `make test` runs pytest without the repository on sys.path: `from tests.x import` only
    # works with PYTHONPATH set. Siblings are imported by name (pytest puts their folder first).
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "tests").rglob("*.py")
        for name in imported_modules(path)
        if name == "tests" or name.startswith("tests.")
    ]
    assert offenders == []
