"""The OpenAPI document, as it stands, in ``tests/snapshots/openapi.json``.

``info.version`` is left out. A change to the API shows up there, in review. After an
intended change, write it again with
``SWITCHYARD_UPDATE_OPENAPI_SNAPSHOT=1 pytest tests/test_openapi_operations.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from switchyard.server.openapi import document

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"


def _comparable(doc: dict[str, Any]) -> Any:
    """The document as JSON would carry it, without the version (it changes each release)."""
    data = json.loads(json.dumps(doc))
    data["info"]["version"] = "<version>"
    return data


def test_document_matches_the_snapshot() -> None:
    doc = _comparable(document())
    if os.environ.get("SWITCHYARD_UPDATE_OPENAPI_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", "utf-8")
    expected = json.loads(SNAPSHOT.read_text("utf-8"))
    assert sorted(doc["paths"]) == sorted(expected["paths"])
    for path, item in expected["paths"].items():
        assert sorted(doc["paths"][path]) == sorted(item), path
        for method, op in item.items():
            assert doc["paths"][path][method] == op, (path, method)
    assert doc == expected
