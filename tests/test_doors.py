"""The doors call only the engine.

Every operation has exactly one implementation, in an engine system; the SDK, the
worker, the server and the CLI are thin doors onto it (docs/architecture.md). This test
keeps it so: no door reaches the storage through ``<something>.storage.<name>``, and no
door imports from ``switchyard.storage`` beyond the port types and the display helper
listed below. ``runtime.py``, which opens the storage the engine stands on, is checked
for attribute chains too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "switchyard"
DOORS = ("sdk", "worker", "server", "cli")

# ``<x>.storage.<name>`` allowed, and why (None: in every checked module).
ALLOWED_CHAINS: dict[tuple[str | None, str], str] = {
    (None, "url"): "the database URL, shown (redacted) to the user; no database call",
    ("runtime.py", "migrate"): "the Runtime opens the storage and migrates it on start",
    ("runtime.py", "close"): "the Runtime owns the storage it opened and closes it",
}

# Imports from switchyard.storage allowed in doors, and why.
ALLOWED_IMPORT_MODULES: dict[str, str] = {
    "switchyard.storage.base": "the port types (Storage, LeaseChannel, Notifier), for annotations",
}
ALLOWED_IMPORT_PREFIXES: dict[str, str] = {
    "switchyard.storage.ports.": "the port types, for annotations",
}
ALLOWED_STORAGE_NAMES: dict[str, str] = {
    "redacted_url": "hides the password in a database URL before it is printed",
    "Storage": "the port type re-exported by switchyard.storage, for annotations",
    "Notifier": "the port type re-exported by switchyard.storage, for annotations",
}


def _modules() -> list[Path]:
    files = [f for door in DOORS for f in sorted((SRC / door).rglob("*.py"))]
    return [*files, SRC / "runtime.py"]


def _name(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _chain_violations(path: Path, tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        inner = node.value
        is_storage = (isinstance(inner, ast.Attribute) and inner.attr == "storage") or (
            isinstance(inner, ast.Name) and inner.id == "storage"
        )
        if not is_storage:
            continue
        if (None, node.attr) in ALLOWED_CHAINS or (_name(path), node.attr) in ALLOWED_CHAINS:
            continue
        found.append(f"{_name(path)}:{node.lineno}: {ast.unparse(node)}")
    return found


def _import_violations(path: Path, tree: ast.AST) -> list[str]:
    if path.name == "runtime.py" and path.parent == SRC:
        return []  # the Runtime opens the storage (open_storage): that is its job
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "switchyard.storage" or alias.name.startswith(
                    "switchyard.storage."
                ):
                    found.append(f"{_name(path)}:{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            module = node.module
            if module in ALLOWED_IMPORT_MODULES or module.startswith(
                tuple(ALLOWED_IMPORT_PREFIXES)
            ):
                continue
            if module == "switchyard.storage":
                names = [a.name for a in node.names if a.name not in ALLOWED_STORAGE_NAMES]
                if names:
                    found.append(f"{_name(path)}:{node.lineno}: from {module} import {names}")
            elif module.startswith("switchyard.storage."):
                found.append(f"{_name(path)}:{node.lineno}: from {module} import ...")
    return found


def test_the_doors_are_found() -> None:
    names = {_name(p) for p in _modules()}
    assert {"sdk/execution.py", "worker/worker.py", "server/app.py", "cli/main.py"} <= names


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_a_door_calls_no_storage_operation(path: Path) -> None:
    """``x.storage.op(...)`` in a door is an operation with no engine home: add it to an
    engine system (src/switchyard/engine/) and call that instead."""
    tree = ast.parse(path.read_text(), filename=str(path))
    assert _chain_violations(path, tree) == []


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_a_door_imports_only_storage_port_types(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    assert _import_violations(path, tree) == []


def test_the_check_sees_a_storage_call() -> None:
    source = "runtime.storage.secret('x')\nstorage.find_api_key(h)\nruntime.storage.url\n"
    tree = ast.parse(source)
    found = _chain_violations(SRC / "server" / "example.py", tree)
    assert [f.split(": ", 1)[1] for f in found] == [
        "runtime.storage.secret",
        "storage.find_api_key",
    ]


def test_the_check_sees_a_storage_import() -> None:
    source = (
        "from switchyard.storage import open_storage, redacted_url\n"
        "from switchyard.storage.sql import SqlStorage\n"
        "import switchyard.storage.rows\n"
        "from switchyard.storage.base import LeaseChannel\n"
    )
    found = _import_violations(SRC / "cli" / "example.py", ast.parse(source))
    assert len(found) == 3
    assert "open_storage" in found[0]
