"""Discovery ends and writes once (issue 12, finding 8): a supplier that ignores paging, or pages
without end, fails its job with a clear error and releases the lock; two invocations listing one job
(a duplicated discovery message) leave exactly the winner's ref chunks."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from apihub.adapters.base import DiscoveryPage, DiscoveryRequest
from apihub.adapters.registry import register_adapter
from apihub.dal.jobs import JobsRepository
from apihub.models import ProductRef
from apihub.pipeline import discover

from apihub_fakes.demo_adapter import DemoAdapter, demo_sku

WAIT_S = 30  # a deadline for each hand-over between the racing threads, never reached when they run


def refs(first: int, count: int) -> list[ProductRef]:
    return [ProductRef(product_id=demo_sku(i)) for i in range(first, first + count)]


class IgnoresPagingAdapter(DemoAdapter):
    """A supplier that ignores the page asked for: every answer is its first page, with a next cursor.
    (It gives up after 50 pages, so that a listing without the guard ends too, with a success.)"""

    name = "IgnoresPagingAdapter"
    calls = 0

    def discover(self, request: DiscoveryRequest, cursor: str | None = None) -> Iterator[DiscoveryPage]:
        number = int(cursor or 0)
        while number < 50:
            type(self).calls += 1
            number += 1
            yield DiscoveryPage(refs=refs(1, 3), cursor=str(number) if number < 50 else None)


class EndlessAdapter(DemoAdapter):
    """A supplier whose listing always has one more page of new products (up to ``pages``)."""

    name = "EndlessAdapter"

    def discover(self, request: DiscoveryRequest, cursor: str | None = None) -> Iterator[DiscoveryPage]:
        number, pages = int(cursor or 0), int(self._cfg.get("pages", 8))
        while number < pages:
            number += 1
            yield DiscoveryPage(refs=refs(number * 10, 2), cursor=str(number) if number < pages else None)


class RacingAdapter(DemoAdapter):
    """A catalog that changed between two listings of one job: the thread named ``loser`` sees other
    products. The events interleave the two so that the loser offers its first page only after the
    winner stored its own first page and moved on."""

    name = "RacingAdapter"
    loser_listing = threading.Event()
    winner_moved_on = threading.Event()
    loser_done = threading.Event()

    def discover(self, request: DiscoveryRequest, cursor: str | None = None) -> Iterator[DiscoveryPage]:
        cls = type(self)
        if threading.current_thread().name == "loser":
            cls.loser_listing.set()  # it has read the job's discovery state, as the winner has
            assert cls.winner_moved_on.wait(WAIT_S)
            yield DiscoveryPage(refs=refs(101, 3), cursor="1")
            yield DiscoveryPage(refs=refs(104, 3))
            return
        assert cls.loser_listing.wait(WAIT_S)
        yield DiscoveryPage(refs=refs(1, 3), cursor="1")
        cls.winner_moved_on.set()  # page 1 is stored and the state advanced past it
        assert cls.loser_done.wait(WAIT_S)
        yield DiscoveryPage(refs=refs(4, 3))


@pytest.fixture(autouse=True)
def _adapters() -> None:
    for cls in (IgnoresPagingAdapter, EndlessAdapter, RacingAdapter):
        register_adapter(cls.name, cls)


def assert_lock_released(hub, slug: str) -> None:
    again = hub.start_import(slug, mode="full_sellable")
    assert again.status == 202, again.json


def test_a_supplier_that_ignores_paging_fails_the_job_instead_of_looping(hub) -> None:
    # Given a supplier that answers every page with its first page and a next cursor
    IgnoresPagingAdapter.calls = 0
    hub.add_supplier("repeats", adapter=IgnoresPagingAdapter.name)
    # When a full import runs
    job = hub.run_import("repeats", mode="full_sellable")
    # Then listing stopped at the first page that added nothing, and the job failed saying why
    assert IgnoresPagingAdapter.calls == 2
    assert (job["status"], job["total_products"], job["success_count"]) == ("failed", None, 0)
    assert job["error_log"] == (
        "DiscoveryError: supplier returned page 2 with no new products and a next cursor; stopped to avoid a loop"
    )
    assert job["completed_at"]
    # And the import lock is released
    assert_lock_released(hub, "repeats")


def test_a_listing_past_the_page_cap_fails_the_job(hub, monkeypatch) -> None:
    # Given a cap of 5 pages per job, invocations that continue in a fresh one after every page (so
    # the count must survive them), and a supplier whose listing has 8 pages of new products
    monkeypatch.setenv("APIHUB_DISCOVERY_MAX_PAGES", "5")
    monkeypatch.setenv("APIHUB_DISCOVERY_TIME_RESERVE_MS", str(10**9))
    from apihub_local.harness import reset_process_state

    reset_process_state()
    hub.add_supplier("endless", adapter=EndlessAdapter.name, protocol_config={"pages": 8, "products": 100})
    # When a full import runs
    job = hub.run_import("endless", mode="full_sellable")
    # Then it failed at the cap with a clear error, and released its lock
    assert (job["status"], job["success_count"]) == ("failed", 0)
    assert job["error_log"] == (
        "DiscoveryError: supplier listing still had a next cursor after 5 pages; stopped "
        "(the cap is APIHUB_DISCOVERY_MAX_PAGES)"
    )
    assert_lock_released(hub, "endless")


def test_a_listing_of_exactly_the_page_cap_completes(hub, monkeypatch) -> None:
    # Given a cap of 5 pages and a supplier whose listing has exactly 5
    monkeypatch.setenv("APIHUB_DISCOVERY_MAX_PAGES", "5")
    from apihub_local.harness import reset_process_state

    reset_process_state()
    hub.add_supplier("five", adapter=EndlessAdapter.name, protocol_config={"pages": 5, "products": 100})
    # When a full import runs, then every product of the 5 pages is imported
    job = hub.run_import("five", mode="full_sellable")
    assert (job["status"], job["total_products"], job["success_count"]) == ("success", 10, 10)


def test_a_losing_duplicate_discovery_changes_no_ref_chunk(hub) -> None:
    # Given one job whose discovery message was delivered twice, so two invocations list it at once,
    # and a catalog that changed between their two listings
    for event in (RacingAdapter.loser_listing, RacingAdapter.winner_moved_on, RacingAdapter.loser_done):
        event.clear()
    supplier = hub.add_supplier("racing", adapter=RacingAdapter.name, protocol_config={"products": 200})
    job_id = hub.start_import("racing", mode="full_sellable").json["sync_job_id"]
    results: dict[str, discover.DiscoveryResult] = {}

    def invocation(name: str) -> None:
        try:
            results[name] = discover.run(job_id, lambda: 10**9)
        finally:
            if name == "loser":
                RacingAdapter.loser_done.set()

    # When both run, the loser storing its first page after the winner moved past its own
    threads = [threading.Thread(target=invocation, args=(name,), name=name) for name in ("winner", "loser")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S * 3)
    assert results == {"winner": discover.DiscoveryResult.done, "loser": discover.DiscoveryResult.skipped}
    hub.drain()
    # Then the ref chunks hold exactly what the winner listed: the loser wrote nothing
    jobs = JobsRepository()
    chunks = [jobs.get_ref_chunk(job_id, number) for number in (1, 2, 3)]
    assert chunks == [[demo_sku(i) for i in (1, 2, 3)], [demo_sku(i) for i in (4, 5, 6)], []]
    # And the job counted and imported exactly those products
    job = hub.job(job_id)
    assert (job["status"], job["total_products"], job["success_count"], job["failed_count"]) == ("success", 6, 6, 0)
    res = hub.api("GET", f"/api/suppliers/{supplier['id']}/products", query={"limit": "100"})
    assert sorted(p["product_id"] for p in res.json) == [demo_sku(i) for i in range(1, 7)]


class Died(RuntimeError):
    """The invocation ends here (its message is not acknowledged), as a Lambda timing out would."""


def test_a_page_stored_in_several_writes_resumes_without_loss_or_duplicates(hub, monkeypatch) -> None:
    # Given one page of 15 products, stored as chunks of 2 at most 3 chunks per write (3 writes),
    # and an invocation that dies right after the first of them
    monkeypatch.setattr(discover, "CHUNK_SIZE", 2)
    monkeypatch.setattr(discover, "CHUNKS_PER_WRITE", 3)
    real = JobsRepository.record_listing
    writes: list[int] = []

    def dies_after_first_write(self, item, chunks, changes):
        stored = real(self, item, chunks, changes)
        writes.append(len(chunks))
        if len(writes) == 1:
            raise Died
        return stored

    monkeypatch.setattr(JobsRepository, "record_listing", dies_after_first_write)
    hub.add_supplier("big-page", protocol_config={"products": 15, "page_size": 15})
    # When a full import runs (the discovery message comes back and the listing resumes)
    job = hub.run_import("big-page", mode="full_sellable")
    # Then the page was read again and only what was not stored yet was added (6 SKUs in 3 chunks,
    # then 9 in 5), each product once and in the supplier's order
    assert writes == [3, 3, 2]
    jobs = JobsRepository()
    stored = [sku for number in range(1, 10) for sku in jobs.get_ref_chunk(job["id"], number)]
    assert stored == [demo_sku(i) for i in range(1, 16)]
    assert (job["status"], job["total_products"], job["success_count"]) == ("success", 15, 15)
