"""apihub.startup.cold_start: a function's init phase runs with the garbage collector paused."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from apihub.startup import cold_start


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


def test_the_block_runs_without_collections_then_collection_resumes_with_the_block_objects_frozen() -> None:
    # Given the collector on, when a block allocating many cyclic objects runs in cold_start,
    # then no collection runs inside it, and afterwards the collector is on and the objects are frozen.
    gc.enable()
    gc.unfreeze()
    ran: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            ran.append(info["generation"])

    gc.callbacks.append(record)
    try:
        with cold_start():
            made = [[] for _ in range(50_000)]
            for cell in made:
                cell.append(cell)  # a cycle each: the kind of object a collection would scan
            assert not gc.isenabled()
        inside = list(ran)
    finally:
        gc.callbacks.remove(record)
    assert inside == []
    assert gc.isenabled()
    assert gc.get_freeze_count() >= 50_000


def test_a_failing_init_still_turns_the_collector_back_on() -> None:
    gc.enable()
    with pytest.raises(ImportError), cold_start():
        raise ImportError("a module of the init is missing")
    assert gc.isenabled()


def test_a_caller_that_paused_the_collector_keeps_it_paused() -> None:
    gc.disable()
    with cold_start():
        pass
    assert not gc.isenabled()
