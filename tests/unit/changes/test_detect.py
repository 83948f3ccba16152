"""Change detection from synthetic stream records: which events a committed write gives, and their ids."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest
from apihub.changes import stream
from apihub.changes.detect import StoredState, inventory_events, job_finished_event, price_events, product_events
from apihub.changes.events import EventType
from apihub.settings import reset_settings

SUPPLIER = "sup-1"
PRODUCTS_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/apihub-products/stream/2026-11-30T00:00:00.000"
INVENTORY_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/apihub-inventory/stream/2026-11-30T00:00:00.000"
PRICING_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/apihub-pricing/stream/2026-11-30T00:00:00.000"


def body(price: float = 10.0, parts: tuple[str, ...] = ("P-1", "P-2"), name: str = "Tee") -> dict[str, Any]:
    return {
        "product_id": "SKU-1",
        "name": name,
        "parts": [{"part_id": p} for p in parts],
        "prices": [{"group_name": "List", "prices": [{"quantity_min": 1, "price": price}]}],
    }


def image(b: dict[str, Any], at: str, *, discontinued_at: str | None = None, job: str = "job-1") -> dict[str, Any]:
    raw = json.dumps(b, sort_keys=True).encode()
    item = {
        "supplier_id": {"S": SUPPLIER},
        "product_id": {"S": "SKU-1"},
        "content_hash": {"S": str(hash(raw))},
        "data": {"B": base64.b64encode(zlib.compress(raw)).decode()},
        "updated_at": {"S": at},
        "last_job_id": {"S": job},
    }
    if discontinued_at:
        item["discontinued_at"] = {"S": discontinued_at}
    return item


def record(old: dict | None, new: dict | None, seq: str = "100", arn: str = PRODUCTS_ARN) -> dict[str, Any]:
    images: dict[str, Any] = {"SequenceNumber": seq, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if old is not None:
        images["OldImage"] = old
    if new is not None:
        images["NewImage"] = new
    name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    return {"eventName": name, "eventSource": "aws:dynamodb", "eventSourceARN": arn, "dynamodb": images}


@pytest.fixture(autouse=True)
def _tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIHUB_PRODUCTS_TABLE", "apihub-products")
    monkeypatch.setenv("APIHUB_INVENTORY_TABLE", "apihub-inventory")
    monkeypatch.setenv("APIHUB_PRICING_TABLE", "apihub-pricing")
    reset_settings()


def test_a_new_product_is_created() -> None:
    # Given an INSERT record / When it is read / Then one product.created
    (event,) = stream.events_of(record(None, image(body(), "2026-11-30T08:00:00.000Z")))
    assert event.type is EventType.product_created
    assert (event.supplier_id, event.product_id, event.job_id) == (SUPPLIER, "SKU-1", "job-1")
    assert event.occurred_at == "2026-11-30T08:00:00.000Z"


def test_an_update_names_the_changed_fields_and_parts() -> None:
    old = image(body(price=10, parts=("P-1", "P-2")), "2026-11-29T08:00:00.000Z")
    new = image(body(price=12, parts=("P-2", "P-3")), "2026-11-30T08:00:00.000Z")
    (event,) = stream.events_of(record(old, new))
    assert event.type is EventType.product_updated
    assert event.data["changed_fields"] == ["parts", "prices"]
    assert event.data["parts_added"] == ["P-3"]
    assert event.data["parts_removed"] == ["P-1"]


def test_redelivering_a_record_gives_the_same_event_id() -> None:
    old = image(body(price=10), "2026-11-29T08:00:00.000Z")
    new = image(body(price=12), "2026-11-30T08:00:00.000Z")
    first = stream.events_of(record(old, new))
    again = stream.events_of(record(old, new))
    assert [e.id for e in first] == [e.id for e in again]
    assert first == again


def test_the_same_content_written_again_later_is_a_new_change() -> None:
    # A -> B, B -> A, then A -> B again: three updates, three ids (the write time is part of the id)
    a, b = body(price=10), body(price=12)
    ids = {
        stream.events_of(record(image(a, "t1"), image(b, "t2")))[0].id,
        stream.events_of(record(image(b, "t2"), image(a, "t3")))[0].id,
        stream.events_of(record(image(a, "t3"), image(b, "t4")))[0].id,
    }
    assert len(ids) == 3


def test_a_write_that_changed_no_content_gives_no_event() -> None:
    same = body()
    assert stream.events_of(record(image(same, "t1"), image(same, "t1", job="job-2"))) == []


def test_discontinuing_and_reactivating() -> None:
    sellable = image(body(), "t1")
    gone = image(body(), "t1", discontinued_at="2026-11-30T09:00:00.000Z", job="job-2")
    (discontinued,) = stream.events_of(record(sellable, gone))
    assert discontinued.type is EventType.product_discontinued
    assert discontinued.occurred_at == "2026-11-30T09:00:00.000Z"
    assert discontinued.job_id == "job-2"
    (back,) = stream.events_of(record(gone, image(body(), "t1", job="job-3")))
    assert back.type is EventType.product_reactivated
    # Discontinued and reactivated twice with no content write between: still distinct events
    gone_again = image(body(), "t1", discontinued_at="2026-12-07T09:00:00.000Z")
    (back_again,) = stream.events_of(record(gone_again, image(body(), "t1")))
    assert back_again.id != back.id


def test_a_product_back_with_new_content_is_reactivated_and_updated() -> None:
    gone = image(body(price=10), "t1", discontinued_at="t2")
    kinds = [e.type for e in stream.events_of(record(gone, image(body(price=11), "t3")))]
    assert kinds == [EventType.product_reactivated, EventType.product_updated]


def test_a_removed_product_and_an_unknown_table_give_nothing() -> None:
    assert stream.events_of(record(image(body(), "t1"), None)) == []
    other = "arn:aws:dynamodb:us-east-1:1:table/something-else/stream/x"
    assert stream.events_of(record(None, image(body(), "t1"), arn=other)) == []


def test_an_unreadable_old_body_leaves_changed_fields_unknown() -> None:
    old = StoredState(SUPPLIER, "SKU-1", "h1", "t1", body=None)
    new = StoredState(SUPPLIER, "SKU-1", "h2", "t2", body=body())
    (event,) = product_events(old, new)
    assert event.data["changed_fields"] is None


def inventory(quantities: dict[str, float | None]) -> dict[str, Any]:
    return {"product_id": "SKU-1", "parts": [{"part_id": p, "quantity_available": q} for p, q in quantities.items()]}


def inventory_image(quantities: dict[str, float | None], at: str) -> dict[str, Any]:
    raw = json.dumps(inventory(quantities)).encode()
    return {
        "supplier_id": {"S": SUPPLIER},
        "product_id": {"S": "SKU-1"},
        "content_hash": {"S": str(hash(raw))},
        "data": {"B": base64.b64encode(zlib.compress(raw)).decode()},
        "as_of": {"S": at},
        "changed_at": {"S": at},
    }


def test_inventory_records_are_routed_by_table_and_give_the_moved_quantities() -> None:
    old = inventory_image({"P-1": 10, "P-2": 5}, "t1")
    new = inventory_image({"P-1": 7, "P-2": 5, "P-3": 1}, "t2")
    (event,) = stream.events_of(record(old, new, arn=INVENTORY_ARN))
    assert event.type is EventType.inventory_changed
    assert event.occurred_at == "t2"
    assert event.data["parts"] == [
        {"part_id": "P-1", "old_quantity_available": 10, "new_quantity_available": 7},
        {"part_id": "P-3", "old_quantity_available": None, "new_quantity_available": 1},
    ]


def test_inventory_with_unchanged_quantities_gives_nothing() -> None:
    old = StoredState(SUPPLIER, "SKU-1", "h1", "t1", body=inventory({"P-1": 3}))
    new = StoredState(SUPPLIER, "SKU-1", "h2", "t2", body={**inventory({"P-1": 3}), "notes": ["620"]})
    assert inventory_events(old, new) == []
    assert inventory_events(new, new) == []


def pricing(
    price: str = "9.75", setup: str = "40.00", location: str = "Front", city: str = "Reno", **record: Any
) -> list[dict[str, Any]]:
    """A stored pricing body: one record (FOB point 1, USD, Net) of one part, location and charge."""
    charge = {"charge_id": "1", "type": "setup", "prices": [{"x_min_qty": 1, "y_min_qty": 1, "price": setup}]}
    return [
        {
            "product_id": "SKU-1",
            "fob_id": "1",
            "currency": "USD",
            "price_type": "Net",
            "as_of": "t0",
            "fob_points": [{"fob_id": "1", "city": city}],
            "parts": [{"part_id": "P-1", "prices": [{"min_quantity": 12, "price": price}]}],
            "locations": [
                {"location_id": "1", "name": location, "decorations": [{"decoration_id": "1", "charges": [charge]}]}
            ],
            **record,
        }
    ]


def priced(b: list[dict[str, Any]] | None, content_hash: str, at: str = "t2") -> StoredState:
    return StoredState(SUPPLIER, "SKU-1", content_hash, at, job_id="job-2", body=b)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("new", "changed"),
    [
        (pricing(price="9.95"), ["part_prices"]),
        (pricing(setup="45.00"), ["charges"]),
        (pricing(location="Left chest"), ["locations"]),
        (pricing(city="Dallas"), ["fob_points"]),
        (pricing(price="9.95", city="Dallas"), ["part_prices", "fob_points"]),
        # the supplier now refuses Net and List is read: every aspect is another record's
        (pricing(price_type="List", requested_price_type="Net"), ["part_prices", "charges", "locations", "fob_points"]),
    ],
)
def test_a_pricing_change_names_what_moved(new: list[dict[str, Any]], changed: list[str]) -> None:
    (event,) = price_events(priced(pricing(), "h1", "t1"), priced(new, "h2"))
    assert event.type is EventType.price_changed
    assert (event.job_id, event.occurred_at, event.data) == ("job-2", "t2", {"changed": changed, "content_hash": "h2"})


def test_pricing_read_again_unchanged_gives_nothing_and_an_unreadable_body_names_every_aspect() -> None:
    assert price_events(priced(pricing(), "h1", "t1"), priced(pricing(as_of="t9"), "h1")) == []
    assert price_events(priced(pricing(), "h1"), None) == []
    (event,) = price_events(priced(None, "h1", "t1"), priced(pricing(), "h2"))
    assert event.data["changed"] == ["part_prices", "charges", "locations", "fob_points"]


def test_pricing_records_are_routed_by_table_and_a_first_write_names_what_it_holds() -> None:
    raw = json.dumps(pricing(city="Dallas")).encode()
    new = {
        "supplier_id": {"S": SUPPLIER},
        "product_id": {"S": "SKU-1"},
        "content_hash": {"S": "h1"},
        "data": {"B": base64.b64encode(zlib.compress(raw)).decode()},
        "as_of": {"S": "t0"},
        "changed_at": {"S": "t1"},
        "job_id": {"S": "job-7"},
    }
    (event,) = stream.events_of(record(None, new, arn=PRICING_ARN))
    assert (event.type, event.occurred_at, event.job_id) == (EventType.price_changed, "t1", "job-7")
    assert event.data["changed"] == ["part_prices", "charges", "locations", "fob_points"]
    assert price_events(None, priced(pricing(), "h1"))[0].id == price_events(None, priced(pricing(), "h1"))[0].id


def test_job_finished_has_one_id_per_job() -> None:
    a = job_finished_event("job-1", SUPPLIER, "full_sellable", "success", {"success_count": 3}, "t1")
    b = job_finished_event("job-1", SUPPLIER, "full_sellable", "success", {"success_count": 3}, "t1")
    assert a.id == b.id and a.type is EventType.job_finished
    assert a.data == {"mode": "full_sellable", "status": "success", "success_count": 3}


def test_a_failing_record_is_reported_and_the_rest_of_the_batch_left_for_the_retry(monkeypatch) -> None:
    # Given a batch whose second record cannot be handled
    logged: list[str] = []

    class FakeLog:
        def record(self, events):
            logged.extend(e.id for e in events)
            return [e.id for e in events]

    monkeypatch.setattr(stream, "ChangesRepository", FakeLog)
    good = record(None, image(body(), "t1"), seq="1")
    bad = record(None, {"supplier_id": {"S": SUPPLIER}}, seq="2")  # no product_id: cannot be read
    later = record(None, image(body(price=3), "t2"), seq="3")
    # When the batch is handled
    result = stream.handle_batch([good, bad, later])
    # Then the failing record is reported and nothing after it was logged (Lambda resumes there)
    assert result == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert len(logged) == 1
