"""The public API stays honest: ``__all__`` sorted, complete, resolvable and documented."""

from __future__ import annotations

import importlib
import inspect
import types

import pytest

import switchyard

PACKAGES = [
    "switchyard",
    "switchyard.client",
    "switchyard.engine",
    "switchyard.server",
    "switchyard.storage",
    "switchyard.worker",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_unique_and_resolvable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


def test_every_public_name_of_the_package_is_exported() -> None:
    """A name imported into ``switchyard`` for users is in ``__all__`` (or private)."""
    public = {
        n
        for n, value in vars(switchyard).items()
        if not n.startswith("_") and not isinstance(value, types.ModuleType)
    }
    modules = {
        n
        for n, value in vars(switchyard).items()
        if isinstance(value, types.ModuleType) and n in switchyard.__all__
    }
    assert public <= set(switchyard.__all__), sorted(public - set(switchyard.__all__))
    assert set(switchyard.__all__) - public <= modules


@pytest.mark.parametrize("name", switchyard.__all__)
def test_every_export_has_a_docstring(name: str) -> None:
    value = getattr(switchyard, name)
    if not (inspect.isclass(value) or inspect.isfunction(value) or inspect.ismodule(value)):
        return  # constants and instances document themselves where they are defined
    assert inspect.getdoc(value), f"switchyard.{name} has no docstring"
