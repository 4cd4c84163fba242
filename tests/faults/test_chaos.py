"""The short chaos run of ``make test`` (``make chaos`` runs the long one)."""

from __future__ import annotations

import pytest

from tests.faults.chaos import chaos

pytestmark = pytest.mark.e2e


def test_chaos_loses_nothing_duplicates_nothing_and_never_runs_twice_at_once() -> None:
    report = chaos(runs=160, seconds=25, workers=3, lease=4.0, seed=7)
    print(report.table())
    assert report.kills + report.partitions >= 5, report.table()
    assert report.server_kills >= 1, report.table()
    assert report.ok, report.table()
    assert report.completed == report.runs == 160
