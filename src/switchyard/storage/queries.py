"""Loads named SQL statements from ``.sql`` files.

A file holds sections that start with ``-- name: some_name``. Statements use
``:param`` placeholders; a dialect may rewrite them (psycopg wants ``%(param)s``).
Dialect files override the shared file section by section.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)
_PARAM = re.compile(r"(?<![:\w]):(\w+)")


def parse(text: str) -> dict[str, str]:
    """Split SQL text into ``{name: statement}``."""
    parts = _NAME.split(text)
    out: dict[str, str] = {}
    for i in range(1, len(parts), 2):
        body = parts[i + 1].strip().rstrip(";").strip()
        if parts[i] in out:
            raise ValueError(f"SQL section {parts[i]!r} defined twice")
        out[parts[i]] = body
    return out


def pyformat(sql: str) -> str:
    """Rewrite ``:param`` to ``%(param)s`` (and escape literal ``%``) for psycopg."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def load(*files: tuple[str, str], rewrite: Callable[[str], str] | None = None) -> dict[str, str]:
    """Merge the named sections of ``(package, filename)`` files, later ones winning."""
    merged: dict[str, str] = {}
    for package, name in files:
        merged.update(parse(resources.files(package).joinpath(name).read_text("utf-8")))
    if rewrite is not None:
        merged = {k: rewrite(v) for k, v in merged.items()}
    return merged


def migrations(package: str) -> list[tuple[int, str, str]]:
    """The numbered migration files of a package: ``[(number, name, sql)]`` in order."""
    found = []
    for entry in resources.files(package).iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations in {package} are not numbered 0001.. without gaps")
    return found
