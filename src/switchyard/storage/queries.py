"""Loads named SQL statements from ``.sql`` files.

A file holds sections that start with ``-- name: some_name``. Statements use
``:param`` placeholders; a dialect may rewrite them (psycopg wants ``%(param)s``).
Dialect files override the shared file section by section.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any

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


def execute_many(
    cur: Any, q: Mapping[str, str], name: str, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Run statement ``name`` once per row; returns how many rows it changed in all.

    A dialect may define ``<name>_bulk``, the same statement set-based (each parameter a
    list, one item per row, e.g. through ``unnest``): one statement for every row costs
    the server much less than one per row. Rows must all have the same keys.
    """
    if not rows:
        return 0
    bulk = q.get(f"{name}_bulk")
    if len(rows) == 1:
        cur.execute(q[name], rows[0])
    elif bulk is not None:
        cur.execute(bulk, {key: _column([row[key] for row in rows]) for key in rows[0]})
    else:
        cur.executemany(q[name], rows)
    return int(cur.rowcount)


def execute_grouped(
    cur: Any,
    q: Mapping[str, str],
    name: str,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    encode: Callable[[list[Any]], Any],
) -> int:
    """:func:`execute_many`, with one ``<name>_many`` statement per group of rows that
    differ only in ``keys`` (each passed as a list named ``<key>s``, encoded by
    ``encode``): a batch of runs finishing the same way is one statement that finds
    its rows by key. Returns how many rows changed in all.
    """
    many = q.get(f"{name}_many")
    if many is None or len(rows) < 2:
        return execute_many(cur, q, name, rows)
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        shared = tuple(value for key, value in row.items() if key not in keys)
        groups.setdefault(shared, []).append(row)
    changed = 0
    for group in groups.values():
        if len(group) == 1:
            changed += execute_many(cur, q, name, group)
            continue
        params = {key: value for key, value in group[0].items() if key not in keys}
        params.update({f"{key}s": encode([row[key] for row in group]) for key in keys})
        cur.execute(many, params)
        changed += int(cur.rowcount)
    return changed


def _column(values: list[Any]) -> list[Any]:
    """One parameter's values as a list the driver can send as one typed array."""
    if any(isinstance(v, float) for v in values):
        return [float(v) if isinstance(v, int) else v for v in values]  # 60 and 60.5
    if any(isinstance(v, str) for v in values):
        return [None if v is None else str(v) for v in values]  # plain str and StrEnum
    return values
