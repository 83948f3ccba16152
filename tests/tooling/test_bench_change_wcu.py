"""``changes.wcu_per_event`` of ``make bench``: write units per logged event, from the items the
change log actually holds, index copies counted (docs/changes.md, "The change log")."""

from __future__ import annotations

import copy
from typing import Any

from apihub.changes.events import ChangeEvent, EventType
from apihub.dal.changes import ChangesRepository

from apihub_bench.changes import wcu_per_event
from apihub_local.template import Template


def _table() -> dict[str, Any]:
    """ChangesTable as DescribeTable would answer it: its keys and indexes, from template.yaml."""
    props = Template().resources["ChangesTable"]["Properties"]
    return {"KeySchema": props["KeySchema"], "GlobalSecondaryIndexes": props.get("GlobalSecondaryIndexes", [])}


def _items(n: int, data: dict[str, Any] | None = None, job: str | None = "job-1") -> list[dict[str, Any]]:
    repo = ChangesRepository()
    return [
        repo.item(
            ChangeEvent(
                id=f"evt_{i:032x}",
                type=EventType.product_updated,
                occurred_at="2026-12-01T00:00:00.000Z",
                supplier_id="0f9c2a4e-8d1b-4c55-9a3e-2b7d6f1e0c11",
                product_id=f"DEMO-{i:05d}",
                job_id=job,
                data=data or {"content_hash": "ab" * 32, "changed_fields": ["parts", "prices"]},
            )
        ).serialize()
        for i in range(n)
    ]


def test_an_event_costs_its_item_and_one_index_copy() -> None:
    assert wcu_per_event(_items(20), _table()) == 2.0
    # A live read's event (no job) too
    assert wcu_per_event(_items(5, job=None), _table()) == 2.0


def test_every_index_copy_counts_and_a_big_event_costs_per_started_kb() -> None:
    items = _items(4)
    # Six indexes that each hold every item (the former layout): 1 + 6 units
    six = copy.deepcopy(_table())
    (index,) = six["GlobalSecondaryIndexes"]
    six["GlobalSecondaryIndexes"] = [index | {"IndexName": f"I{n}"} for n in range(6)]
    assert wcu_per_event(items, six) == 7.0
    # An index whose keys the item lacks holds no copy (a sparse index)
    sparse = copy.deepcopy(_table())
    sparse["GlobalSecondaryIndexes"][0]["KeySchema"] = [{"AttributeName": "absent", "KeyType": "HASH"}]
    assert wcu_per_event(items, sparse) == 1.0
    # An event of about 1.4 KB: 2 units for the item, 2 for the copy that projects it
    big = _items(2, data={"changed_fields": ["x" * 1200]})
    assert wcu_per_event(big, _table()) == 4.0
    assert wcu_per_event([], _table()) == 0.0
