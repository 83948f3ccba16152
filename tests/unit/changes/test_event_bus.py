"""PutEvents batches (10 entries, 256 KB) and partial failures sent again."""

from __future__ import annotations

from typing import Any

import pytest
from apihub.dal import event_bus
from apihub.dal.event_bus import MAX_REQUEST_BYTES, BusEvent, batches, entry_size, put_events


def _event(i: int, size: int = 100) -> BusEvent:
    return BusEvent(f"evt_{i}", "product.updated", "x" * size)


def test_batches_hold_at_most_10_entries_and_256_kb_in_order() -> None:
    small = [_event(i) for i in range(23)]
    assert [len(b) for b in batches(small)] == [10, 10, 3]
    big = [_event(i, 100_000) for i in range(5)]  # two fit in 256 KB, three do not
    cut = batches(big)
    assert [len(b) for b in cut] == [2, 2, 1]
    assert all(sum(entry_size(e) for e in b) <= MAX_REQUEST_BYTES for b in cut)
    assert [e.id for b in cut for e in b] == [e.id for e in big]


class FakeEvents:
    """PutEvents that fails the given event ids ``times`` times each (as FailedEntryCount reports)."""

    def __init__(self, failing: dict[str, int]) -> None:
        self.failing = dict(failing)
        self.calls: list[list[str]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        import json

        ids = [json.loads(e["Detail"])["id"] for e in Entries]
        self.calls.append(ids)
        results = []
        for i in ids:
            if self.failing.get(i, 0) > 0:
                self.failing[i] -= 1
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                results.append({"EventId": f"eb-{i}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


@pytest.fixture
def fake_events(monkeypatch: pytest.MonkeyPatch):
    def install(failing: dict[str, int]) -> FakeEvents:
        fake = FakeEvents(failing)
        monkeypatch.setattr(event_bus, "client", lambda service: fake)
        return fake

    return install


def _events(n: int) -> list[BusEvent]:
    return [BusEvent(f"evt_{i}", "product.updated", f'{{"id": "evt_{i}"}}') for i in range(n)]


def test_only_the_entries_put_events_reports_failed_are_sent_again(fake_events) -> None:
    # Given PutEvents failing evt_3 and evt_7 once
    fake = fake_events({"evt_3": 1, "evt_7": 1})
    # When 10 events are put
    failed = put_events(_events(10), sleep=lambda s: None)
    # Then the second request carries those two only, and nothing is left failed
    assert fake.calls == [[f"evt_{i}" for i in range(10)], ["evt_3", "evt_7"]]
    assert failed == set()


def test_an_entry_that_keeps_failing_is_reported_after_the_attempts(fake_events) -> None:
    fake = fake_events({"evt_1": 99})
    failed = put_events(_events(3), attempts=4, sleep=lambda s: None)
    assert failed == {"evt_1"}
    assert fake.calls[1:] == [["evt_1"]] * 3
