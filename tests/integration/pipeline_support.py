"""The pipeline scenarios every supplier protocol must pass, written once.

Each supplier's test module (``test_pipeline_<supplier>.py``) describes its fake in a
``PipelineSupplier`` (how to start it with faults, register it, read the calls it answered, what its
errors say, what a stored product must look like) and subclasses ``PipelineContract`` with it: the
contract's tests then import from that fake through the whole pipeline (API -> discover -> hydrate
-> finalise) with the real adapter, in every discovery mode and under every supplier failure. What
only one protocol has (say, 4Over's HTTP 429) stays in its own module or behind a flag here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Generic, Literal, TypeVar

import pytest
from apihub.models import iso
from apihub.settings import get_settings

FakeT = TypeVar("FakeT")
# The three listings are named as apihub.modes.table.Listing names what discovery asks for.
CallKind = Literal["sellable", "changed", "closeouts", "product", "other"]
LISTINGS = ("sellable", "changed", "closeouts")
UNKNOWN_SKU = "no-such-product"


@dataclass(frozen=True)
class SupplierCall:
    """One call a fake answered, as the scenarios see it: a listing of the sellable products, of
    what changed since a time, or of the closeouts; the main lookup of one product; anything else."""

    kind: CallKind
    sku: str | None = None


@dataclass(frozen=True)
class Faults:
    """What a fake does wrong. ``not_found``: products the supplier does not know; ``failing``: HTTP
    500 every time; ``failing_once``: HTTP 500 once, then served; ``throttled_once``: HTTP 429 once
    (only where ``PipelineSupplier.throttles``); ``listing_down``: every listing call HTTP 500."""

    not_found: Sequence[str] = ()
    failing: Sequence[str] = ()
    failing_once: Sequence[str] = ()
    throttled_once: Sequence[str] = ()
    listing_down: bool = False


NO_FAULTS = Faults()


class PipelineSupplier(ABC, Generic[FakeT]):
    """One supplier protocol's fake, as the shared scenarios drive and observe it."""

    slug: ClassVar[str]
    adapter: ClassVar[str]  # the registry's adapter_class
    protocol: ClassVar[str]
    # ``error_log`` of a job whose credentials the supplier rejected starts with this.
    auth_error: ClassVar[str]
    # (products, seed) of a generated catalog with exactly 100 sellable products.
    hundred_sellable: ClassVar[tuple[int, int]]
    # Whether the fake can answer HTTP 429 (Retry-After) for a product.
    throttles: ClassVar[bool] = False

    @abstractmethod
    def listing_calls_for(self, products: int) -> int:
        """How many listing calls the adapter, as registered, makes to list ``products`` products."""

    @abstractmethod
    def running(self, products: int, seed: int, faults: Faults = NO_FAULTS) -> AbstractContextManager[FakeT]:
        """A fake serving a generated catalog of ``products`` (from ``seed``) on a free loopback port
        for the ``with`` block, misbehaving as ``faults`` says."""

    @abstractmethod
    def connection(self, fake: FakeT) -> dict[str, Any]:
        """The supplier fields (``base_url``, ``protocol_config``) that point the adapter at ``fake``."""

    def register(self, hub: Any, fake: Any, credentials: dict[str, str] | None = None) -> dict[str, Any]:
        """Register ``fake`` over the API as supplier ``slug`` (with its own credentials by default)."""
        return hub.add_supplier(  # type: ignore[no-any-return]
            self.slug,
            adapter=self.adapter,
            protocol=self.protocol,
            auth_config=credentials or fake.credentials,
            **self.connection(fake),
        )

    @abstractmethod
    def sellable_ids(self, fake: FakeT) -> list[str]:
        """What a full_sellable discovery must find, in the supplier's order."""

    @abstractmethod
    def sellable_ids_of(self, products: int, seed: int) -> list[str]:
        """``sellable_ids`` of the catalog a fake started with ``products`` and ``seed`` serves."""

    @abstractmethod
    def closeout_ids(self, fake: FakeT) -> list[str]:
        """What a closeouts discovery must find."""

    @abstractmethod
    def calls(self, fake: FakeT) -> list[SupplierCall]:
        """Every call the fake answered so far, in order."""

    @abstractmethod
    def touch(self, fake: FakeT, product_ids: Sequence[str], when: datetime) -> None:
        """The products changed at ``when`` (their last change date moves)."""

    @abstractmethod
    def not_found_error(self, sku: str) -> str:
        """The job's error text for a product the supplier does not know."""

    @abstractmethod
    def wrong_credentials(self, fake: FakeT, wrong: str) -> dict[str, str]:
        """Credentials the fake rejects: ``"secret"`` (its account, a wrong secret) or ``"account"``
        (an account it does not know)."""

    @abstractmethod
    def assert_catalog_covers_every_shape(self, fake: FakeT) -> None:
        """The shared catalog holds every product shape the supplier's mapping must handle."""

    @abstractmethod
    def assert_canonical(self, stored: dict[str, Any], fake: FakeT) -> None:
        """The stored product carries the catalog's values."""


# --- reading the hub ----------------------------------------------------------------------------------


def stored_products(hub: Any, supplier_id: str) -> dict[str, dict[str, Any]]:
    res = hub.api("GET", f"/api/suppliers/{supplier_id}/products", query={"limit": "1000"})
    assert res.status == 200, res.json
    return {p["product_id"]: p for p in res.json}


def stored_product(hub: Any, supplier_id: str, product_id: str) -> dict[str, Any]:
    res = hub.api("GET", f"/api/suppliers/{supplier_id}/products/{product_id}")
    assert res.status == 200, res.json
    return res.json  # type: ignore[no-any-return]


def supplier_record(hub: Any, supplier_id: str) -> dict[str, Any]:
    return hub.api("GET", f"/api/suppliers/{supplier_id}").json  # type: ignore[no-any-return]


def error_list(hub: Any, job_id: str) -> list[dict[str, str]]:
    res = hub.api("GET", f"/api/sync-jobs/{job_id}/errors", query={"limit": "1000"})
    assert res.status == 200, res.json
    return sorted(res.json, key=lambda e: e["sku"])


def counts(job: dict[str, Any]) -> tuple[str, int, int, int]:
    return job["status"], job["total_products"], job["success_count"], job["failed_count"]


def start_jobs_at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    """Jobs created from now on start at ``when`` (their ``started_at`` becomes the supplier's sync
    time), so a delta's window is exact instead of depending on the wall clock."""
    import apihub.jobs.service

    monkeypatch.setattr(apihub.jobs.service, "utcnow", lambda: when)


# --- the scenarios ------------------------------------------------------------------------------------


class PipelineContract:
    """The shared scenarios; a subclass named ``Test...`` sets ``supplier`` and pytest runs them."""

    supplier: ClassVar[PipelineSupplier[Any]]

    @pytest.fixture(autouse=True)
    def _insecure_urls_allowed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # The fakes listen on http://127.0.0.1; set before the hub fixture builds its process state.
        monkeypatch.setenv("APIHUB_ALLOW_INSECURE_URLS", "true")
        from apihub_local.harness import reset_process_state

        reset_process_state()

    @pytest.fixture(scope="class")
    @classmethod
    def fake(cls) -> Iterator[Any]:
        """A clean catalog shared by the tests that do not change it (seed 3 puts every product
        shape among the first 16: see ``assert_catalog_covers_every_shape``)."""
        with cls.supplier.running(16, 3) as running:
            yield running

    def listings_since(self, fake: Any, mark: int) -> list[CallKind]:
        return [c.kind for c in self.supplier.calls(fake)[mark:] if c.kind in LISTINGS]

    def product_calls(self, fake: Any, sku: str) -> int:
        return sum(1 for c in self.supplier.calls(fake) if c.kind == "product" and c.sku == sku)

    # --- every discovery mode -----------------------------------------------------------------------

    def test_full_sellable_imports_every_sellable_product_with_canonical_values(self, hub, fake) -> None:
        # Given a supplier registered over the API, pointing at the fake
        s = self.supplier
        supplier = s.register(hub, fake)
        sellable = s.sellable_ids(fake)
        s.assert_catalog_covers_every_shape(fake)
        # When a full_sellable import runs through the pipeline
        job = hub.run_import(s.slug, mode="full_sellable")
        # Then every sellable product (and only those) is counted once and stored as the catalog has it
        assert counts(job) == ("success", len(sellable), len(sellable), 0)
        assert job["errors"] == [] and job["completed_at"]
        assert sorted(stored_products(hub, supplier["id"])) == sorted(sellable)
        for product_id in sellable:
            s.assert_canonical(stored_product(hub, supplier["id"], product_id), fake)
        after = supplier_record(hub, supplier["id"])
        assert after["last_full_sync"] == job["started_at"]
        assert after["product_count"] == len(sellable)

    def test_first_n_imports_the_first_n_sellable_products_across_pages(self, hub, fake) -> None:
        s = self.supplier
        supplier = s.register(hub, fake)
        job = hub.run_import(s.slug, mode="first_n", limit=9)  # more than one listing page of 7 (4Over)
        assert counts(job) == ("success", 9, 9, 0)
        assert sorted(stored_products(hub, supplier["id"])) == sorted(s.sellable_ids(fake)[:9])
        # first_n is not a sync of the catalog: the supplier's sync times stay unset
        assert supplier_record(hub, supplier["id"])["last_full_sync"] is None

    def test_closeouts_import_exactly_the_closeout_products(self, hub, fake) -> None:
        s = self.supplier
        supplier = s.register(hub, fake)
        closeouts = s.closeout_ids(fake)
        assert closeouts
        job = hub.run_import(s.slug, mode="closeouts")
        assert counts(job) == ("success", len(closeouts), len(closeouts), 0)
        assert sorted(stored_products(hub, supplier["id"])) == sorted(closeouts)
        for product_id in closeouts:
            stored = stored_product(hub, supplier["id"], product_id)
            assert stored["is_closeout"] and all(part["is_closeout"] for part in stored["parts"])
            s.assert_canonical(stored, fake)

    def test_explicit_list_imports_exactly_the_skus_asked_for_and_fails_the_unknown_one(self, hub, fake) -> None:
        s = self.supplier
        supplier = s.register(hub, fake)
        mark = len(s.calls(fake))
        closeouts = s.closeout_ids(fake)
        regular = next(i for i in s.sellable_ids(fake) if i not in closeouts)
        wanted = [regular, closeouts[0], UNKNOWN_SKU]
        job = hub.run_import(s.slug, mode="explicit_list", explicit_list=wanted)
        assert counts(job) == ("partial_success", 3, 2, 1)
        expected_errors = [{"sku": UNKNOWN_SKU, "error": s.not_found_error(UNKNOWN_SKU)}]
        assert job["errors"] == expected_errors
        assert error_list(hub, job["id"]) == expected_errors
        assert sorted(stored_products(hub, supplier["id"])) == sorted(wanted[:2])
        # No discovery call: the supplier saw one product lookup per SKU asked for and no listing call
        calls = s.calls(fake)[mark:]
        assert sorted(c.sku for c in calls if c.kind == "product") == sorted(wanted)
        assert self.listings_since(fake, mark) == []

    def test_delta_imports_only_what_changed_since_the_last_sync(self, hub, monkeypatch) -> None:
        s = self.supplier
        now = datetime.now(UTC).replace(microsecond=0)
        full_at, changed_at, delta_at = now - timedelta(hours=3), now - timedelta(hours=2), now - timedelta(hours=1)
        # Given a catalog of its own (this test changes it) imported in full once
        with s.running(20, 5) as fake:
            supplier = s.register(hub, fake)
            start_jobs_at(monkeypatch, full_at)
            full = hub.run_import(s.slug, mode="full_sellable")
            assert full["status"] == "success"
            assert supplier_record(hub, supplier["id"])["last_full_sync"] == iso(full_at)
            # ...and three of its products change after that sync (the others changed long before)
            changed = s.sellable_ids(fake)[2:5]
            s.touch(fake, changed, changed_at)
            # When a delta import runs
            start_jobs_at(monkeypatch, delta_at)
            mark = len(s.calls(fake))
            delta = hub.run_import(s.slug, mode="delta")
            # Then it asked once for the changes since the last sync and imported exactly those
            assert counts(delta) == ("success", 3, 3, 0)
            assert self.listings_since(fake, mark) == ["changed"]
            for product_id in changed:
                stored = stored_product(hub, supplier["id"], product_id)
                assert stored["last_change_date"] == iso(changed_at)
                s.assert_canonical(stored, fake)
            after = supplier_record(hub, supplier["id"])
            assert (after["last_full_sync"], after["last_delta_sync"]) == (iso(full_at), iso(delta_at))
            # And the next delta starts from that delta: nothing changed since, an empty success
            start_jobs_at(monkeypatch, now)
            mark = len(s.calls(fake))
            again = hub.run_import(s.slug, mode="delta")
            assert counts(again) == ("success", 0, 0, 0)
            assert self.listings_since(fake, mark) == ["changed"]

    def test_delta_after_a_newer_full_sync_starts_from_that_full_sync(self, hub, monkeypatch) -> None:
        s = self.supplier
        now = datetime.now(UTC).replace(microsecond=0)
        with s.running(12, 6) as fake:
            supplier = s.register(hub, fake)
            first, second = s.sellable_ids(fake)[0], s.sellable_ids(fake)[1]
            # Given a full sync, a delta, then a product change and another (newer) full sync
            start_jobs_at(monkeypatch, now - timedelta(hours=4))
            assert hub.run_import(s.slug, mode="full_sellable")["status"] == "success"
            s.touch(fake, [first], now - timedelta(hours=3, minutes=30))
            start_jobs_at(monkeypatch, now - timedelta(hours=3))
            assert counts(hub.run_import(s.slug, mode="delta")) == ("success", 1, 1, 0)
            s.touch(fake, [second], now - timedelta(hours=2, minutes=30))
            start_jobs_at(monkeypatch, now - timedelta(hours=2))
            assert hub.run_import(s.slug, mode="full_sellable")["status"] == "success"
            after = supplier_record(hub, supplier["id"])
            assert after["last_full_sync"] > after["last_delta_sync"]
            # When the next delta runs
            start_jobs_at(monkeypatch, now - timedelta(hours=1))
            delta = hub.run_import(s.slug, mode="delta")
        # Then it starts from the supplier's last sync (the full one): the change the full import
        # already brought in is not imported again
        assert counts(delta) == ("success", 0, 0, 0)

    def test_a_delta_with_no_previous_sync_lists_every_sellable_product(self, hub, fake) -> None:
        s = self.supplier
        # Given a supplier never synced (no last full or delta sync) whose catalog has products that
        # are not sellable (discontinued, inactive)
        supplier = s.register(hub, fake)
        s.assert_catalog_covers_every_shape(fake)
        sellable = s.sellable_ids(fake)
        mark = len(s.calls(fake))
        # When a delta import runs
        delta = hub.run_import(s.slug, mode="delta")
        # Then it fell back to the sellable list (docs/decisions.md): every sellable product, no other one
        assert self.listings_since(fake, mark) == ["sellable"] * s.listing_calls_for(len(sellable))
        assert counts(delta) == ("success", len(sellable), len(sellable), 0)
        assert sorted(stored_products(hub, supplier["id"])) == sorted(sellable)
        # And the job recorded that its listing had no since (a resumed listing keeps to it)
        from apihub.dal.jobs import JobsRepository

        assert JobsRepository().get_item(delta["id"]).discovery["since"] is None
        # And it is the supplier's last delta sync, so the next delta lists only what changed after it
        assert supplier_record(hub, supplier["id"])["last_delta_sync"] == delta["started_at"]

    def test_supplier_down_at_discovery_fails_the_job_after_its_retries_and_releases_the_lock(self, hub) -> None:
        s = self.supplier
        # Given a supplier whose product listing answers HTTP 500 every time
        with s.running(5, 1, Faults(listing_down=True)) as fake:
            s.register(hub, fake)
            # When a full import runs (discovery is redelivered, then gives up)
            job = hub.run_import(s.slug, mode="full_sellable")
            listings = self.listings_since(fake, 0)
        # Then the job failed with the reason, after exactly its allowed attempts, and the lock is free
        assert job["status"] == "failed" and job["completed_at"]
        assert job["error_log"].startswith("TransientError: ") and "HTTP 500" in job["error_log"]
        assert job["error_log"].endswith("(discovery gave up after 3 attempts)")
        assert listings == ["sellable"] * 3
        assert hub.start_import(s.slug, mode="full_sellable").status == 202

    # --- per-product supplier errors ----------------------------------------------------------------

    def test_unknown_5_of_100_products_end_partial_success_with_exactly_those_skus(self, hub) -> None:
        s = self.supplier
        # Given a supplier with 100 sellable products that does not know five of them
        products, seed = s.hundred_sellable
        sellable = s.sellable_ids_of(products, seed)
        assert len(sellable) == 100
        failing = sorted([sellable[0], sellable[17], sellable[50], sellable[51], sellable[99]])
        with s.running(products, seed, Faults(not_found=failing)) as fake:
            supplier = s.register(hub, fake)
            # When a full import runs
            job = hub.run_import(s.slug, mode="full_sellable")
        # Then those five failed with the supplier's answer, the other 95 are stored
        assert counts(job) == ("partial_success", 100, 95, 5)
        expected = [{"sku": sku, "error": s.not_found_error(sku)} for sku in failing]
        assert sorted(job["errors"], key=lambda e: e["sku"]) == expected
        assert error_list(hub, job["id"]) == expected
        assert sorted(stored_products(hub, supplier["id"])) == sorted(set(sellable) - set(failing))
        # partial success is still a sync of the catalog
        assert supplier_record(hub, supplier["id"])["last_full_sync"] == job["started_at"]

    # --- credentials --------------------------------------------------------------------------------

    @pytest.mark.parametrize("wrong", ["secret", "account"])
    def test_bad_credentials_at_discovery_fail_the_job_and_release_the_lock(self, hub, fake, wrong) -> None:
        s = self.supplier
        # Given a supplier whose credentials the fake rejects
        credentials = s.wrong_credentials(fake, wrong)
        s.register(hub, fake, credentials=credentials)
        # When a full import runs
        job = hub.run_import(s.slug, mode="full_sellable")
        # Then the job failed at discovery with the supplier's answer, and no secret in the text
        assert job["status"] == "failed" and job["completed_at"]
        assert job["error_log"].startswith(s.auth_error)
        assert "credentials rejected during discovery" in job["error_log"]
        assert_no_wrong_value(job["error_log"], credentials, fake.credentials)
        assert (job["success_count"], job["failed_count"]) == (0, 0)
        # And the lock is gone: a new import of the same mode is accepted
        assert hub.start_import(s.slug, mode="full_sellable").status == 202

    @pytest.mark.parametrize("wrong", ["secret", "account"])
    def test_bad_credentials_at_first_hydration_fail_the_job_and_release_the_lock(self, hub, fake, wrong) -> None:
        s = self.supplier
        # Given a supplier with credentials the fake rejects and an explicit_list import (no listing call)
        credentials = s.wrong_credentials(fake, wrong)
        supplier = s.register(hub, fake, credentials=credentials)
        wanted = s.sellable_ids(fake)[:12]
        mark = len(s.calls(fake))
        # When it runs
        job = hub.run_import(s.slug, mode="explicit_list", explicit_list=wanted)
        # Then the first hydration's rejection failed the whole job, naming the supplier's answer
        assert job["status"] == "failed" and job["completed_at"]
        assert job["error_log"].startswith(s.auth_error)
        assert "credentials rejected while hydrating" in job["error_log"]
        assert_no_wrong_value(job["error_log"], credentials, fake.credentials)
        # No more calls to a supplier that rejected the credentials than were already in flight
        # (a hydrate invocation keeps up to APIHUB_HYDRATE_CALLS_IN_FLIGHT of them)
        assert 1 <= len(s.calls(fake)[mark:]) <= get_settings().hydrate_calls_in_flight
        assert stored_products(hub, supplier["id"]) == {}
        # And once the credentials are fixed, the same import is accepted and succeeds
        res = hub.api("PATCH", f"/api/suppliers/{supplier['id']}", json_body={"auth_config": fake.credentials})
        assert res.status == 200, res.json
        retried = hub.run_import(s.slug, mode="explicit_list", explicit_list=wanted)
        assert counts(retried) == ("success", 12, 12, 0)

    # --- transient faults ---------------------------------------------------------------------------

    def test_http_500_that_recovers_succeeds_and_one_that_persists_fails_after_its_retries(self, hub) -> None:
        s = self.supplier
        # Given a supplier answering HTTP 500 for one product once, 429 for another once (where the
        # protocol has it), and 500 always for a third
        sellable = s.sellable_ids_of(12, 2)
        recovers, persists = sellable[1], sellable[6]
        throttled = [sellable[3]] if s.throttles else []
        faults = Faults(failing_once=[recovers], throttled_once=throttled, failing=[persists])
        with s.running(12, 2, faults) as fake:
            supplier = s.register(hub, fake)
            # When a full import runs (transient failures are redelivered with backoff)
            job = hub.run_import(s.slug, mode="full_sellable")
            attempts = {sku: self.product_calls(fake, sku) for sku in [recovers, *throttled, persists]}
        # Then the counts are honest: the recovered products succeeded, the other failed with its reason
        assert counts(job) == ("partial_success", len(sellable), len(sellable) - 1, 1)
        assert [e["sku"] for e in job["errors"]] == [persists]
        error = job["errors"][0]["error"]
        assert error.startswith("TransientError: ") and "HTTP 500" in error
        assert error.endswith("(gave up after 5 attempts)")
        assert attempts == {recovers: 2, **dict.fromkeys(throttled, 2), persists: 5}
        products = stored_products(hub, supplier["id"])
        assert recovers in products and all(sku in products for sku in throttled) and persists not in products

    # --- no-op re-import ----------------------------------------------------------------------------

    def test_reimport_of_an_unchanged_catalog_writes_no_products(self, hub, fake) -> None:
        s = self.supplier
        # Given a supplier imported in full
        supplier = s.register(hub, fake)
        first = hub.run_import(s.slug, mode="full_sellable")
        assert first["status"] == "success"
        before = stored_products(hub, supplier["id"])
        # When the same, unchanged catalog is imported again
        second = hub.run_import(s.slug, mode="full_sellable")
        # Then every product is counted again but none was rewritten
        assert counts(second) == counts(first)
        after = stored_products(hub, supplier["id"])
        assert {k: (v["updated_at"], v["content_hash"]) for k, v in after.items()} == {
            k: (v["updated_at"], v["content_hash"]) for k, v in before.items()
        }
        assert all(v["updated_at"] <= first["completed_at"] for v in after.values())
        assert supplier_record(hub, supplier["id"])["product_count"] == len(before)


def assert_no_wrong_value(text: str, wrong: dict[str, str], right: dict[str, str]) -> None:
    """No credential value the fake did not issue (the wrong secret, the unknown account) is in ``text``."""
    leaked = [value for value in wrong.values() if value not in right.values() and value in text]
    assert leaked == [], text
