"""Group commit: concurrent submissions share writes; a bad item fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from switchyard.core.group_commit import GroupCommit


async def in_thread(fn: Any, *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


async def test_items_submitted_while_a_write_runs_share_the_next_one() -> None:
    writes: list[list[int]] = []

    def write(items: Sequence[int]) -> list[int]:
        writes.append(list(items))
        return [i * 10 for i in items]

    commits: GroupCommit[int, int] = GroupCommit(in_thread, write)
    results = await asyncio.gather(*(commits.submit(i) for i in range(50)))
    assert results == [i * 10 for i in range(50)]
    assert len(writes) < 50 and sorted(i for w in writes for i in w) == list(range(50))


async def test_groups_stay_under_max_size_by_weight() -> None:
    writes: list[list[list[int]]] = []

    def write(items: Sequence[list[int]]) -> list[int]:
        writes.append(list(items))
        return [len(i) for i in items]

    commits: GroupCommit[list[int], int] = GroupCommit(
        in_thread, write, max_size=10, size=len, writers=2
    )
    sizes = [3, 4, 5, 20, 1, 9]
    assert await asyncio.gather(*(commits.submit([0] * n) for n in sizes)) == sizes
    assert all(sum(map(len, group)) <= 10 or len(group) == 1 for group in writes)


async def test_an_exception_result_fails_only_its_item() -> None:
    def write(items: Sequence[int]) -> list[int | BaseException]:
        return [ValueError("odd") if i % 2 else i for i in items]

    commits: GroupCommit[int, int] = GroupCommit(in_thread, write)
    outcomes = await asyncio.gather(*(commits.submit(i) for i in range(6)), return_exceptions=True)
    assert [type(o).__name__ if isinstance(o, BaseException) else o for o in outcomes] == [
        0,
        "ValueError",
        2,
        "ValueError",
        4,
        "ValueError",
    ]


@pytest.mark.parametrize("isolate", [True, False])
async def test_a_failing_group_write_is_retried_item_by_item_when_isolating(
    isolate: bool,
) -> None:
    def write(items: Sequence[int]) -> list[int]:
        if 3 in items:
            raise RuntimeError("item 3 is poison")
        return list(items)

    commits: GroupCommit[int, int] = GroupCommit(in_thread, write, isolate=isolate)
    outcomes = await asyncio.gather(*(commits.submit(i) for i in range(6)), return_exceptions=True)
    failed = [i for i, o in enumerate(outcomes) if isinstance(o, RuntimeError)]
    if isolate:
        assert failed == [3] and [o for o in outcomes if not isinstance(o, Exception)] == [
            0,
            1,
            2,
            4,
            5,
        ]
    else:
        assert 3 in failed
