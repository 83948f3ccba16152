"""The change feed on moto: imports -> products table stream -> ChangesFunction -> change log ->
GET /api/changes; job.finished with the job's ending; discontinued and reactivated products."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    # The feed holds back its last seconds in AWS; these tests read it the moment the streams are drained.
    monkeypatch.setenv("APIHUB_CHANGES_SETTLE_MS", "0")
    from apihub.settings import reset_settings

    reset_settings()


def changes(hub: Any, **query: Any) -> list[dict[str, Any]]:
    """Every event matching ``query``, following the cursor page by page (``since=<token>``)."""
    query = {k: str(v) for k, v in query.items()}
    events: list[dict[str, Any]] = []
    for _ in range(1000):
        res = hub.api("GET", "/api/changes", query=query)
        assert res.status == 200, res.json
        events += res.json
        token = res.headers.get("X-Next-Token") or res.headers.get("x-next-token")
        if not res.json or token is None:
            return events
        query["since"] = token
    raise AssertionError("the feed did not end")


def kinds(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["type"] for e in events)


def changes_stream(hub: Any) -> list[dict[str, Any]]:
    """Every record of ChangesTable's stream so far."""
    streams = hub.stream_mappings[0].streams
    arn = hub.stack.attrs[("ChangesTable", "StreamArn")]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams.get_records(ShardIterator=it, Limit=1000)["Records"]


def set_config(hub: Any, supplier: dict[str, Any], **config: Any) -> None:
    body = {"protocol_config": {**supplier["protocol_config"], **config}}
    res = hub.api("PATCH", f"/api/suppliers/{supplier['id']}", json_body=body)
    assert res.status == 200, res.json
    supplier["protocol_config"] = res.json["protocol_config"]


def test_an_import_logs_one_created_event_per_product_and_its_job_finished(hub) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 6})
    job = hub.run_import("demo", mode="full_sellable")
    events = changes(hub, supplier_id=supplier["id"])
    assert kinds(events) == {"product.created": 6, "job.finished": 1}
    assert len({e["id"] for e in events}) == 7
    finished = next(e for e in events if e["type"] == "job.finished")
    assert finished["job_id"] == job["id"]
    assert finished["data"] == {
        "mode": "full_sellable",
        "status": "success",
        "total_products": 6,
        "success_count": 6,
        "failed_count": 0,
    }
    created = [e for e in events if e["type"] == "product.created"]
    assert {e["job_id"] for e in created} == {job["id"]}
    # The feed is oldest first, by the order events entered the log
    assert [e["id"] for e in events] == [e["id"] for e in changes(hub, supplier_id=supplier["id"], limit=1)]


def test_an_unchanged_reimport_logs_only_its_job_finished(hub) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 5})
    hub.run_import("demo", mode="full_sellable")
    before = changes(hub, supplier_id=supplier["id"])
    hub.run_import("demo", mode="full_sellable")
    after = changes(hub, supplier_id=supplier["id"])
    assert kinds(after) - kinds(before) == {"job.finished": 1}


def test_a_changed_catalog_logs_updates_with_the_fields_that_changed(hub) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 4})
    hub.run_import("demo", mode="full_sellable")
    set_config(hub, supplier, revision=1)  # every price moves
    job = hub.run_import("demo", mode="full_sellable")
    updated = changes(hub, type="product.updated", job_id=job["id"])
    assert len(updated) == 4
    assert {tuple(e["data"]["changed_fields"]) for e in updated} == {("parts", "prices")}
    assert all(e["data"]["parts_added"] == [] and e["data"]["parts_removed"] == [] for e in updated)


def test_redelivered_stream_records_log_nothing_new(hub) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 5})
    hub.run_import("demo", mode="full_sellable")
    before = changes(hub, supplier_id=supplier["id"])
    # When every stream record is delivered again from the start of the shard
    for mapping in hub.stream_mappings:
        mapping.position = None
    hub.drain()
    # Then the log holds the same events, once each, and its own stream (what EventBridge and
    # webhooks read) saw one INSERT per event and nothing rewritten
    assert changes(hub, supplier_id=supplier["id"]) == before
    log_stream = changes_stream(hub)
    assert [r["eventName"] for r in log_stream] == ["INSERT"] * len(before)
    assert sorted(r["dynamodb"]["NewImage"]["id"]["S"] for r in log_stream) == sorted(e["id"] for e in before)


def test_a_complete_full_import_discontinues_what_it_no_longer_lists_and_reactivates_it_when_back(hub) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 5})
    hub.run_import("demo", mode="full_sellable")
    # Given the supplier stops selling one product
    set_config(hub, supplier, unlisted_skus=["DEMO-00002"])
    job = hub.run_import("demo", mode="full_sellable")
    assert job["status"] == "success"
    # Then it is discontinued (kept, marked), once
    (gone,) = changes(hub, type="product.discontinued", supplier_id=supplier["id"])
    assert (gone["product_id"], gone["job_id"]) == ("DEMO-00002", job["id"])
    listed = hub.api("GET", f"/api/suppliers/{supplier['id']}/products").json
    assert "DEMO-00002" not in {p["product_id"] for p in listed} and len(listed) == 4
    everything = hub.api("GET", f"/api/suppliers/{supplier['id']}/products", query={"include_discontinued": "true"})
    assert len(everything.json) == 5
    product = hub.api("GET", f"/api/suppliers/{supplier['id']}/products/DEMO-00002").json
    assert product["discontinued_at"] == gone["occurred_at"]
    # And the pass run again (a lost message resent by the sweeper) changes nothing
    hub.functions.invoke("SweeperFunction", {"action": "sweep"})
    from apihub.pipeline import discontinuation

    discontinuation.request(job["id"])
    hub.drain()
    assert len(changes(hub, type="product.discontinued", supplier_id=supplier["id"])) == 1
    # When it is sold again (same content: the import would not have rewritten it)
    set_config(hub, supplier, unlisted_skus=[])
    again = hub.run_import("demo", mode="full_sellable")
    (back,) = changes(hub, type="product.reactivated", supplier_id=supplier["id"])
    assert (back["product_id"], back["job_id"]) == ("DEMO-00002", again["id"])
    product = hub.api("GET", f"/api/suppliers/{supplier['id']}/products/DEMO-00002").json
    assert product["discontinued_at"] is None
    assert len(hub.api("GET", f"/api/suppliers/{supplier['id']}/products").json) == 5


def test_a_partial_full_import_discontinues_but_not_the_products_that_failed(hub) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 5})
    hub.run_import("demo", mode="full_sellable")
    set_config(hub, supplier, unlisted_skus=["DEMO-00005"], fail_skus=["DEMO-00001"])
    job = hub.run_import("demo", mode="full_sellable")
    assert job["status"] == "partial_success"
    assert [e["product_id"] for e in changes(hub, type="product.discontinued")] == ["DEMO-00005"]


@pytest.mark.parametrize("mode", ["first_n", "delta", "closeouts"])
def test_other_modes_discontinue_nothing(hub, mode: str) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 10})
    hub.run_import("demo", mode="full_sellable")
    job = hub.run_import("demo", mode=mode, **({"limit": 2} if mode == "first_n" else {}))
    assert job["status"] == "success"
    assert changes(hub, type="product.discontinued", supplier_id=supplier["id"]) == []
    assert len(hub.api("GET", f"/api/suppliers/{supplier['id']}/products").json) == 10


def test_a_failed_full_import_discontinues_nothing(hub) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 4})
    hub.run_import("demo", mode="full_sellable")
    set_config(hub, supplier, unlisted_skus=["DEMO-00001"], fail_skus=["DEMO-00002", "DEMO-00003", "DEMO-00004"])
    job = hub.run_import("demo", mode="full_sellable")
    assert job["status"] == "failed"
    assert changes(hub, type="product.discontinued") == []
    (finished,) = changes(hub, type="job.finished", job_id=job["id"])
    assert finished["data"]["status"] == "failed"


def test_job_finished_is_logged_once_by_the_ending_that_won(hub) -> None:
    from apihub.dal.jobs import JobsRepository

    hub.add_supplier("demo", protocol_config={"products": 3})
    res = hub.start_import("demo", mode="full_sellable")
    job_id = res.json["sync_job_id"]
    jobs = JobsRepository()
    assert jobs.fail(job_id, "Stopped: by hand") is True
    assert jobs.fail(job_id, "Stopped: again") is False  # terminal already: its transaction did not commit
    hub.drain()
    (finished,) = changes(hub, job_id=job_id)
    assert finished["type"] == "job.finished" and finished["data"]["status"] == "failed"


def test_the_feed_pages_with_its_cursor_and_filters_by_since(hub) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 7})
    hub.run_import("demo", mode="full_sellable")
    everything = changes(hub)
    # Pages of 3 through since=<X-Next-Token> give every event once, in the same order
    assert [e["id"] for e in changes(hub, limit=3)] == [e["id"] for e in everything]
    first = hub.api("GET", "/api/changes", query={"limit": "3"})
    assert len(first.json) == 3
    token = first.headers.get("X-Next-Token") or first.headers.get("x-next-token")
    # next_token works as well as since=<token>
    rest = hub.api("GET", "/api/changes", query={"next_token": token, "limit": "100"}).json
    assert [e["id"] for e in first.json + rest] == [e["id"] for e in everything]
    # The last page still hands out a cursor (a follower polls with it); with nothing new after it
    # the page is empty and has none, so "page until no X-Next-Token" ends
    last_page = hub.api("GET", "/api/changes", query={"since": token, "limit": "100"})
    end = last_page.headers.get("X-Next-Token") or last_page.headers.get("x-next-token")
    assert end is not None
    follow = hub.api("GET", "/api/changes", query={"since": end})
    assert follow.status == 200 and follow.json == []
    assert "X-Next-Token" not in follow.headers and "x-next-token" not in follow.headers
    # When a change comes later, the same cursor finds it (and only it)
    set_config(hub, supplier, revision=1)
    hub.run_import("demo", mode="first_n", limit=1)
    later = hub.api("GET", "/api/changes", query={"since": end}).json
    # (job.finished is logged by the job's ending, its product events by the stream: either may come first)
    assert sorted(e["type"] for e in later) == ["job.finished", "product.updated"]
    # since=<ISO time> in the future: nothing; in the past: everything
    assert changes(hub, since="2999-01-01T00:00:00Z") == []
    assert len(changes(hub, since="2000-01-01T00:00:00Z", supplier_id=supplier["id"])) == len(everything) + 2
    # A cursor of one list is refused on another (its filters are sealed in it)
    other = hub.api("GET", "/api/changes", query={"since": token, "type": "product.created"})
    assert other.status == 400 and "since" in other.json["detail"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"type": "product.renamed"}, "type"),
        ({"limit": "0"}, "limit"),
        ({"job_id": "j", "supplier_id": "s"}, "job_id"),
    ],
)
def test_bad_parameters_are_a_422_naming_the_field(hub, query: dict[str, str], field: str) -> None:
    res = hub.api("GET", "/api/changes", query=query)
    assert res.status == 422, res.json
    assert field in res.json["detail"]


def test_a_jobs_detail_counts_the_events_it_produced(hub) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 4})
    hub.run_import("demo", mode="full_sellable")
    set_config(hub, supplier, revision=1, unlisted_skus=["DEMO-00004"])
    job = hub.run_import("demo", mode="full_sellable")
    res = hub.api("GET", f"/api/sync-jobs/{job['id']}/changes")
    assert res.status == 200, res.json
    assert res.json["counts"] == {"product.updated": 3, "product.discontinued": 1, "job.finished": 1}
    assert len(changes(hub, job_id=job["id"])) == 5
    assert hub.api("GET", "/api/sync-jobs/00000000-0000-4000-8000-000000000000/changes").status == 404


def test_supplier_id_takes_an_id_or_a_slug_and_an_unknown_one_is_404(hub) -> None:
    supplier = hub.add_supplier("demo", protocol_config={"products": 3})
    hub.run_import("demo", mode="full_sellable")
    by_id = changes(hub, supplier_id=supplier["id"])
    assert len(by_id) == 4  # 3 product.created and the job's job.finished
    # The slug names the same supplier: the same events
    assert changes(hub, supplier_id="demo") == by_id
    # An unknown supplier is a 404 naming it, not an empty list (and the job_id filter likewise)
    for query in ({"supplier_id": "nobody"}, {"supplier_id": "00000000-0000-4000-8000-000000000000"}):
        res = hub.api("GET", "/api/changes", query=query)
        assert (res.status, res.json) == (404, {"detail": "Supplier not found"}), query
    assert hub.api("GET", "/api/changes", query={"job_id": "00000000-0000-4000-8000-000000000000"}).status == 404
