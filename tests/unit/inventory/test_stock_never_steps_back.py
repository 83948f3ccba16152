"""Stock never steps back (docs/inventory.md, "Stock never steps back"): every stock write carries
the time the supplier answered, and a read older than what is stored is dropped; a live read is
confirmed only when what the supplier answered is what is stored. On moto's tables, with the
concurrent writer put in between a reader's look at the stored state and its write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apihub.dal.inventory import InventoryRepository, Stored, inventory_write
from apihub.dal.jobs.writes import StoredState
from apihub.dal.tables import InventoryItem
from apihub.inventory.models import Inventory, InventoryPart
from apihub.inventory.reading import _view
from apihub.models import iso
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SUPPLIER = "s-1"
SKU = "PC61"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return iso(T0 + timedelta(seconds=seconds)) or ""


def stock(revision: int) -> Inventory:
    return Inventory(product_id=SKU, parts=[InventoryPart(part_id=f"{SKU}-1", quantity_available=float(revision))])


def stored_item() -> InventoryItem:
    return InventoryItem.get(SUPPLIER, SKU, consistent_read=True)


def revision_stored() -> float | None:
    found = InventoryRepository().get(SUPPLIER, SKU)
    return None if found is None else found.inventory.parts[0].quantity_available


def test_a_read_older_than_the_stored_one_is_dropped_and_changes_nothing(tables: None) -> None:
    # Given rev 2 stored from a read at 20 s
    repo = InventoryRepository()
    assert repo.store(SUPPLIER, stock(2), at(20)) is Stored.written
    before = stored_item().attribute_values
    # When a read answered at 10 s (rev 1) comes to be stored
    outcome = repo.store(SUPPLIER, stock(1), at(10))
    # Then it is dropped: rev 2 stays, with its own times
    assert outcome is Stored.superseded
    assert stored_item().attribute_values == before
    assert revision_stored() == 2


def test_a_live_read_finding_the_stored_content_moves_its_as_of_on_and_nothing_else(tables: None) -> None:
    repo = InventoryRepository()
    repo.store(SUPPLIER, stock(1), at(0))
    outcome = repo.store(SUPPLIER, stock(1), at(30))
    item = stored_item()
    assert outcome is Stored.confirmed
    assert (item.as_of, item.changed_at) == (at(30), at(0))  # confirmed later; the content changed at 0 s
    # A read older than that confirmation (rev 2 at 20 s) cannot replace it any more
    assert repo.store(SUPPLIER, stock(2), at(20)) is Stored.superseded
    assert revision_stored() == 1


def test_a_live_read_that_lost_its_race_to_an_older_read_stores_its_newer_one_after_all(tables: None) -> None:
    # Given rev 0 stored, which a live read saw before asking the supplier
    repo = InventoryRepository()
    repo.store(SUPPLIER, stock(0), at(0))
    seen = repo.hashes(SUPPLIER, [SKU])[SKU]
    # and, while it waited on the supplier, a job stored the rev 1 it had read at 10 s
    repo.store(SUPPLIER, stock(1), at(10), known=seen)
    # When the live read (rev 2, answered at 20 s) stores on what it saw
    outcome = repo.store(SUPPLIER, stock(2), at(20), known=seen)
    # Then its condition fails, it reads again, and its newer read wins
    assert outcome is Stored.written
    assert (revision_stored(), stored_item().as_of) == (2, at(20))


def test_a_live_read_that_lost_its_race_to_a_newer_read_is_dropped_not_confirmed(tables: None) -> None:
    repo = InventoryRepository()
    repo.store(SUPPLIER, stock(0), at(0))
    seen = repo.hashes(SUPPLIER, [SKU])[SKU]
    repo.store(SUPPLIER, stock(3), at(30), known=seen)  # a newer read stored meanwhile

    outcome = repo.store(SUPPLIER, stock(2), at(20), known=seen)

    assert outcome is Stored.superseded
    assert (revision_stored(), stored_item().as_of) == (3, at(30))


def test_a_job_write_is_needed_only_over_other_content_read_earlier() -> None:
    write = inventory_write(SUPPLIER, stock(1), stock(1).compute_hash(), at(10), job_id="job-1")
    assert not isinstance(write, str)
    other = stock(2).compute_hash()
    assert write.needed(None)
    assert write.needed(StoredState(other, as_of=at(5)))
    assert not write.needed(StoredState(other, as_of=at(10)))  # read at the same time: not newer
    assert not write.needed(StoredState(other, as_of=at(20)))  # a newer read is stored
    assert not write.needed(StoredState(write.content_hash, as_of=at(5)))  # same content
    assert (write.item.job_id, write.item.source) == ("job-1", "job")
    live = inventory_write(SUPPLIER, stock(1), stock(1).compute_hash(), at(10))
    assert not isinstance(live, str) and (live.item.job_id, live.item.source) == (None, "live")


def test_a_job_write_over_a_newer_stored_read_fails_its_condition(tables: None) -> None:
    # The transaction's guard itself, without the batch's planning: the put is refused by DynamoDB
    from pynamodb.exceptions import PutError

    repo = InventoryRepository()
    repo.store(SUPPLIER, stock(2), at(20))
    known = repo.hashes(SUPPLIER, [SKU])[SKU]
    write = inventory_write(SUPPLIER, stock(1), stock(1).compute_hash(), at(10), job_id="job-1")
    assert not isinstance(write, str)
    with pytest.raises(PutError):
        write.item.save(condition=write.condition(known))
    assert revision_stored() == 2


@given(st.permutations(list(range(6))), st.lists(st.integers(min_value=0, max_value=2), min_size=6, max_size=6))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_whatever_order_reads_are_stored_in_the_newest_read_is_what_stays(
    tables: None, order: list[int], revisions: list[int]
) -> None:
    """Six reads answered at 0..5 s with drawn content, stored in a drawn order: the stored stock
    and its as_of are always the newest read's, and as_of never goes back between writes."""
    InventoryItem(SUPPLIER, SKU).delete()  # a fresh product per example (deleting none is fine)
    repo = InventoryRepository()
    seen: list[str] = []
    for second in order:
        repo.store(SUPPLIER, stock(revisions[second]), at(second))
        seen.append(stored_item().as_of)
        assert seen == sorted(seen)  # never steps back
    newest = max(order)
    assert revision_stored() == revisions[newest]
    assert stored_item().as_of == at(newest)


def test_the_view_shows_the_readers_rules_notes_as_warnings() -> None:
    inventory = stock(1).model_copy(update={"notes": ["part PC61-1 location A quantity: '-5' is not a quantity"]})
    view = _view(inventory, at(0), "live")
    assert view.warnings == ["part PC61-1 location A quantity: '-5' is not a quantity"]
    assert view.stale is False and view.warning is None  # warnings about the reply are not staleness
