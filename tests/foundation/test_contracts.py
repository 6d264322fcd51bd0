"""CONTRACTS.md is the index of every call between the services: each row exists in the callee's
OpenAPI document, and every API path in a caller's sending code is a row."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| ([^|]+) \| ([^|]+) \| (GET|POST|PUT|DELETE|PATCH) \| `([^`]+)` \|", re.M)
# The modules that call another service: every "/api/v1/..." literal in them is a call. A
# service's calls are its typed clients (clients.py; notify's client, used by both, is shared).
CALLERS = {
    "booking": ["services/booking/clients.py", "shared/http.py"],
    "consent": ["services/consent/clients.py", "shared/http.py"],
    # The console's clients, and the token API's paths they share with the services.
    "console": [
        "services/console/clients.py",
        "services/console/operations/privacy.py",
        "shared/auth.py",
    ],
}


def api_paths(module: Path) -> set[str]:
    """Every string literal or f-string in a module that starts with /api/v1/, its
    interpolations as {}."""
    found = set()
    nodes = list(ast.walk(ast.parse(module.read_text())))
    parts = {id(part) for node in nodes if isinstance(node, ast.JoinedStr) for part in node.values}
    for node in nodes:
        if id(node) in parts:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if text.startswith("/api/v1/"):
            found.add(text)
    return found


def contract_rows() -> list[tuple[str, str, str, str]]:
    """(caller, callee, method, path) for every callee named in each row of CONTRACTS.md."""
    rows = []
    for caller, callees, method, path in ROW.findall((ROOT / "CONTRACTS.md").read_text()):
        for callee in callees.split(","):
            rows.append((caller.split()[0], callee.strip(), method, path))
    return rows


def shape(path: str) -> str:
    """A path with every placeholder ({name} or an f-string's {expr}) as {}."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_contracts_lists_calls():
    assert len(contract_rows()) >= 10


@pytest.mark.parametrize(("caller", "callee", "method", "path"), contract_rows())
def test_every_contract_row_is_in_the_callees_openapi(apps, caller, callee, method, path):
    spec = apps[callee].test_client().get("/openapi.json").get_json()
    shapes = {shape(p): ops for p, ops in spec["paths"].items()}
    assert shape(path) in shapes, f"{callee} documents no {path}"
    assert method.lower() in shapes[shape(path)], f"{callee} documents no {method} {path}"


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_every_path_a_caller_sends_to_is_in_contracts(caller):
    documented = {shape(path) for row_caller, _, _, path in contract_rows() if row_caller == caller}
    sent = {shape(path) for module in CALLERS[caller] for path in api_paths(ROOT / module)}
    assert sent, f"no calls found in {CALLERS[caller]}"
    assert sent <= documented, f"calls missing from CONTRACTS.md: {sorted(sent - documented)}"


@pytest.mark.parametrize("service", ["booking", "consent", "notify"])
def test_paths_to_other_services_are_written_only_in_the_typed_clients(apps, service):
    spec = apps[service].test_client().get("/openapi.json").get_json()
    own = {shape(path) for path in spec["paths"]}
    folder = ROOT / "services" / service
    foreign = {
        f"{module.name}: {path}"
        for module in folder.glob("*.py")
        if module.name != "clients.py"
        for path in api_paths(module)
        if not any(route.startswith(shape(path)) for route in own)
    }
    assert foreign == set(), "call other services through clients.py"
    importers = [m.name for m in folder.rglob("*.py") if "service_client" in m.read_text()]
    assert importers == [], "create_app gives the service its clients"
