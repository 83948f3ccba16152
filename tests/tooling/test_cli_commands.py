"""The CLI against a stub of the HTTP API on loopback: ``jobs list`` fits 100 columns with short ids
that every job command accepts, ``inventory show`` / ``inventory changed`` call the documented
routes and follow pagination, and ``import --mode inventory`` sends the mode (and its SKUs)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from rich.console import Console
from typer.testing import CliRunner

from apihub_cli import display, main
from tests.tooling.cli_stub import serving

NOW = datetime.now(UTC).replace(microsecond=0)


class _FrozenClock(datetime):
    """The CLI's ``datetime``, stopped at NOW: the stub's times are built from NOW at import, and a
    test may run minutes later (pytest-xdist on a busy machine)."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]  # a clock, not a constructor
        return NOW


@pytest.fixture(autouse=True)
def _frozen_cli_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(main, "datetime", _FrozenClock)


def stamp(delta: timedelta) -> str:
    return (NOW - delta).isoformat(timespec="seconds").replace("+00:00", "Z")


def job(job_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": job_id,
        "supplier_id": str(uuid.uuid4()),
        "supplier_name": "Demo PromoStandards supplier with a long name",
        "job_type": "import:full_sellable",
        "status": "partial_success",
        "discovery_mode": "full_sellable",
        "total_products": 12345,
        "success_count": 12000,
        "failed_count": 345,
        "started_at": stamp(timedelta(hours=3, minutes=4)),
        "completed_at": stamp(timedelta(hours=2, minutes=50)),
        **extra,
    }


AMBIGUOUS = ["abcd1234-0000-4000-8000-000000000001", "abcd1234-0000-4000-8000-000000000002"]
DEEP = "f00dfeed-1111-4111-8111-111111111111"  # on the third page of the jobs list
JOBS = [
    job("0badc0de-2222-4222-8222-222222222222", status="running", completed_at=None, job_type="import:inventory"),
    *(job(f"{i:08x}-3333-4333-8333-333333333333") for i in range(1, 2100)),
    *(job(j) for j in AMBIGUOUS),
    job(DEEP),
]
INVENTORY = {
    "product_id": "PSF00001",
    "as_of": stamp(timedelta(minutes=5)),
    "source": "stored",
    "stale": True,
    "warning": "supplier throttled; the stored copy is shown",
    "warnings": ["part PSF00001-0002 location RNO quantity: '-4' is not a quantity from 0 to 1,000,000,000; unknown"],
    "parts": [
        {
            "part_id": "PSF00001-0000",
            "color": "Navy",
            "size": "L",
            "quantity_available": 1250,
            "uom": "EA",
            "buy_to_order": False,
            "lead_time_days": None,
            "locations": [
                {"location_id": "RNO", "name": "Reno, NV", "quantity": 1000, "future": []},
                {
                    "location_id": "DAL",
                    "name": "Dallas, TX",
                    "quantity": 250,
                    "future": [{"quantity": 144, "available_on": "2027-01-15"}],
                },
            ],
        },
        {
            "part_id": "PSF00001-0001",
            "color": "Navy",
            "size": "XL",
            "quantity_available": 0,
            "uom": "EA",
            "buy_to_order": True,
            "lead_time_days": 12,
            "locations": [
                {
                    "location_id": "JAX",
                    "name": "Jacksonville, FL",
                    "quantity": 0,
                    "future": [{"quantity": 48, "available_on": "2027-02-01"}],
                }
            ],
        },
    ],
}
CHANGED = [
    {"product_id": f"PSF{i:05d}", "changed_at": stamp(timedelta(minutes=i)), "as_of": stamp(timedelta(minutes=1))}
    for i in range(1, 6)
]


# Two suppliers whose ids share their first 4 characters, one with a slug of hex digits alone
SUPPLIERS = [
    {"id": "5738a9c1-0000-4000-8000-000000000001", "slug": "demo", "name": "Demo"},
    {"id": "5738ffff-0000-4000-8000-000000000002", "slug": "beef", "name": "Beef Co"},
]
SUBSCRIPTIONS = [
    {"id": "573829a9-1111-4000-8000-000000000001", "url": "https://a.example", "types": ["job.finished"]},
    {"id": "5738b000-1111-4000-8000-000000000002", "url": "https://b.example", "types": ["job.finished"]},
]


@dataclass
class StubApi:
    """Answers the routes the CLI calls from the canned data above; records every request."""

    requests: list[tuple[str, str, dict[str, list[str]], Any]] = field(default_factory=list)
    url: str = ""

    def answer(self, method: str, raw_path: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        url = urlsplit(raw_path)
        query = parse_qs(url.query)
        self.requests.append((method, url.path, query, body))
        limit = int(query.get("limit", ["1000"])[0])
        start = int(query.get("next_token", ["0"])[0])
        if url.path == "/api/sync-jobs":
            return self.page(JOBS, start, limit)
        if url.path.startswith("/api/sync-jobs/"):
            job_id = url.path.split("/")[3]
            found = next((j for j in JOBS if j["id"] == job_id), None)
            if found is None:
                return 404, {"detail": "Job not found"}, {}
            if url.path.endswith("/errors"):
                return 200, [{"sku": "PSF00009", "error": "ProductError: 600 Product Id not found"}], {}
            if url.path.endswith("/retry"):
                return 202, {**found, "id": str(uuid.uuid4())}, {}
            return 200, {**found, "status": "success"}, {}
        if url.path == "/api/suppliers/demo/products/PSF00001/inventory":
            return 200, {**INVENTORY, "source": "live" if query.get("max_age_s") == ["0"] else "stored"}, {}
        if url.path == "/api/suppliers/demo/inventory":
            return self.page(CHANGED, start, min(limit, 2))  # two per page: the CLI must follow
        if url.path == "/api/suppliers/demo/import" and method == "POST":
            return 202, {"sync_job_id": JOBS[0]["id"]}, {}
        if url.path == "/api/suppliers":
            return 200, SUPPLIERS, {}
        if url.path.startswith("/api/suppliers/"):
            ref = url.path.split("/")[3]
            found = next((x for x in SUPPLIERS if ref in (x["id"], x["slug"])), None)
            if found is None:
                return 404, {"detail": "Supplier not found"}, {}
            if url.path.endswith("/import") and method == "POST":
                return 202, {"sync_job_id": JOBS[0]["id"]}, {}
            return 200, found, {}
        if url.path == "/api/subscriptions":
            return 200, SUBSCRIPTIONS, {}
        if url.path.startswith("/api/subscriptions/"):
            if url.path.split("/")[3] not in {x["id"] for x in SUBSCRIPTIONS}:
                return 404, {"detail": "Subscription not found"}, {}
            if method == "DELETE":
                return 204, None, {}
            return 200, [], {}
        return 404, {"detail": "Not found"}, {}

    @staticmethod
    def page(items: list[Any], start: int, limit: int) -> tuple[int, Any, dict[str, str]]:
        end = start + limit
        headers = {"X-Next-Token": str(end)} if end < len(items) else {}
        return 200, items[start:end], headers


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubApi]:
    stub = StubApi()
    # A 100-column terminal, as the issue asks `jobs list` to fit
    with serving(stub.answer, monkeypatch) as url:
        stub.url = url
        yield stub


def run(*args: str):
    return CliRunner().invoke(main.app, list(args), catch_exceptions=False)


# --- jobs list --------------------------------------------------------------------------------------


def test_jobs_list_fits_100_columns_with_short_ids_times_durations_and_rates(api):
    result = run("jobs", "list", "--limit", "5")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 100, result.output
    assert all(column in lines[0] for column in ("id", "supplier", "mode", "status", "started", "took", "rate"))
    running = next(line for line in lines if line.startswith("0badc0de "))
    assert "0badc0de-2222" not in result.output  # short ids only
    assert "inventory" in running and "running" in running and "3h ago" in running and "3h04m+" in running
    done = next(line for line in lines if line.startswith("00000001 "))
    assert "14m00s" in done and "14.7/s" in done  # 12,345 products in 14 minutes
    assert "…" in done  # the long supplier name is cut, not wrapped onto a second line
    assert len([line for line in lines if line[:8] in {"0badc0de", "00000001", "00000002"}]) == 3


def test_jobs_list_wide_and_json_give_the_full_values(api, monkeypatch):
    monkeypatch.setattr(main, "out", Console(width=250, no_color=True))  # a wide terminal
    wide = run("jobs", "list", "--limit", "2", "--wide")
    monkeypatch.setattr(main, "out", Console(width=100, no_color=True))
    narrow = run("jobs", "list", "--limit", "2", "--wide")
    as_json = run("jobs", "list", "--limit", "2", "--json")

    assert JOBS[0]["id"] in wide.output and "import:inventory" in wide.output
    assert JOBS[1]["started_at"] in wide.output and JOBS[1]["completed_at"] in wide.output
    assert [j["id"] for j in json.loads(as_json.output)] == [JOBS[0]["id"], JOBS[1]["id"]]
    # In a narrower terminal --wide still gives each row whole on one line (the terminal wraps it)
    assert "…" not in narrow.output and JOBS[0]["id"] in narrow.output
    rows = [row for row in narrow.output.splitlines() if row[:8] in {JOBS[0]["id"][:8], JOBS[1]["id"][:8]}]
    assert len(rows) == 2 and all(len(row) > 100 for row in rows), narrow.output


# --- short job ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["jobs", "show"], ["jobs", "errors"], ["jobs", "retry"], ["jobs", "watch"]])
def test_every_job_command_takes_a_short_id(api, command):
    result = run(*command, DEEP[:8], "--json")

    assert result.exit_code == 0, result.output
    called = [path for method, path, _, _ in api.requests if path.startswith("/api/sync-jobs/")]
    assert called and all(path.startswith(f"/api/sync-jobs/{DEEP}") for path in called)


def test_a_full_id_is_used_as_given_without_listing(api):
    result = run("jobs", "show", DEEP, "--json")
    assert result.exit_code == 0
    assert [path for _, path, _, _ in api.requests] == [f"/api/sync-jobs/{DEEP}"]


def test_an_ambiguous_short_id_is_refused_naming_the_candidates(api):
    result = CliRunner().invoke(main.app, ["jobs", "show", "abcd1234"])
    assert result.exit_code == 2
    assert "ambiguous" in result.output and AMBIGUOUS[0] in result.output and AMBIGUOUS[1] in result.output
    assert not any(path.startswith("/api/sync-jobs/") for _, path, _, _ in api.requests)


def test_an_unknown_short_id_is_an_error(api):
    result = CliRunner().invoke(main.app, ["jobs", "show", "99999999"])
    assert result.exit_code == 1 and "no job id starts with '99999999'" in result.output


# --- inventory --------------------------------------------------------------------------------------


def test_inventory_show_draws_parts_by_warehouses_from_the_stored_copy(api):
    result = run("inventory", "show", "demo", "PSF00001")

    assert result.exit_code == 0, result.output
    ((method, path, query, _),) = api.requests
    assert (method, path) == ("GET", "/api/suppliers/demo/products/PSF00001/inventory")
    assert "max_age_s" not in query
    out = result.output
    assert "stored" in out and "5m ago" in out
    assert "stale: supplier throttled" in out
    assert "warning: part PSF00001-0002 location RNO quantity: '-4' is not a quantity" in out  # the reply's
    header = next(line for line in out.splitlines() if line.startswith("part"))
    assert header.split() == ["part", "color", "size", "total", "RNO", "DAL", "JAX", "next", "incoming"]
    row = next(line for line in out.splitlines() if line.startswith("PSF00001-0000"))
    assert row.split()[3:7] == ["1,250", "1,000", "250", "144"]  # total, RNO, DAL (not at JAX), next incoming
    assert "144 on 2027-01-15" in row
    assert "(bto)" in next(line for line in out.splitlines() if line.startswith("PSF00001-0001"))
    assert "warehouses: RNO = Reno, NV; DAL = Dallas, TX; JAX = Jacksonville, FL" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_inventory_show_live_asks_for_max_age_zero(api):
    result = run("inventory", "show", "demo", "PSF00001", "--live", "--json")

    assert result.exit_code == 0
    assert api.requests[0][2] == {"max_age_s": ["0"]}
    assert json.loads(result.output)["source"] == "live"


def test_inventory_changed_sends_the_time_back_from_now_and_follows_every_page(api):
    result = run("inventory", "changed", "demo", "--since", "1h", "--json")

    assert result.exit_code == 0, result.output
    assert [item["product_id"] for item in json.loads(result.output)] == [c["product_id"] for c in CHANGED]
    calls = [query for _, path, query, _ in api.requests if path == "/api/suppliers/demo/inventory"]
    assert len(calls) == 3  # 5 items, 2 per page
    since = {query["changed_since"][0] for query in calls}
    assert len(since) == 1
    sent = display.parse_time(since.pop())
    assert sent == NOW - timedelta(hours=1)
    assert [query.get("next_token") for query in calls] == [None, ["2"], ["4"]]


def test_inventory_changed_table_and_bad_since(api):
    table = run("inventory", "changed", "demo", "--since", "2d")
    assert table.exit_code == 0 and "5 changed since" in table.output and "PSF00005" in table.output
    bad = CliRunner().invoke(main.app, ["inventory", "changed", "demo", "--since", "yesterday"])
    assert bad.exit_code == 2 and "30m, 1h, 2d" in bad.output


def test_import_inventory_sends_the_mode_and_its_skus(api, monkeypatch):
    # The mode list is the API's mode table; this test does not depend on which modes it has yet.
    monkeypatch.setattr(main, "MODES", (*main.MODES, "inventory"))
    result = run("import", "demo", "--mode", "inventory", "--sku", "PSF00001", "--sku", "PSF00002", "--json")

    assert result.exit_code == 0, result.output
    posts = [(path, body) for method, path, _, body in api.requests if method == "POST"]
    assert posts == [("/api/suppliers/demo/import", {"mode": "inventory", "explicit_list": ["PSF00001", "PSF00002"]})]
    refused = CliRunner().invoke(main.app, ["import", "demo", "--mode", "closeouts", "--sku", "X"])
    assert refused.exit_code == 2 and "--sku needs --mode explicit_list or inventory" in refused.output


# --- the formatting rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.25, "250ms"), (42, "42s"), (724, "12m04s"), (11220, "3h07m"), (2 * 86400 + 5 * 3600, "2d05h")],
)
def test_durations_use_at_most_two_units(seconds, text):
    assert display.span(seconds) == text


def test_since_takes_durations_or_iso_times():
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert display.since_to_iso("90s", now) == "2026-11-30T11:58:30Z"
    assert display.since_to_iso("1w", now) == "2026-11-23T12:00:00Z"
    assert display.since_to_iso("2026-11-30T08:00:00+02:00", now) == "2026-11-30T06:00:00Z"
    with pytest.raises(ValueError, match="--since"):
        display.since_to_iso("1 fortnight", now)


def test_a_job_id_shorter_than_four_characters_is_refused_before_listing(api):
    result = CliRunner().invoke(main.app, ["jobs", "show", "abc"])
    assert result.exit_code == 2 and "at least 4 characters" in result.output
    assert api.requests == []


def test_subscription_commands_take_the_first_characters_of_an_id(api):
    # When deliveries and remove are given the 8 characters `subscriptions list` shows
    assert run("subscriptions", "deliveries", "573829a9").exit_code == 0
    assert run("subscriptions", "remove", "573829A9").exit_code == 0
    # Then they reach the one subscription whose id starts that way
    paths = [(m, p) for m, p, _, _ in api.requests if p.startswith("/api/subscriptions/")]
    full = SUBSCRIPTIONS[0]["id"]
    assert paths == [("GET", f"/api/subscriptions/{full}/deliveries"), ("DELETE", f"/api/subscriptions/{full}")]


@pytest.mark.parametrize(
    ("ref", "message"),
    [("5738", "ambiguous"), ("9999", "no subscription id starts with '9999'"), ("57", "at least 4 characters")],
)
def test_a_subscription_prefix_that_names_none_or_several_is_an_error(api, ref, message):
    result = CliRunner().invoke(main.app, ["subscriptions", "deliveries", ref])
    assert result.exit_code != 0 and message in result.output
    assert not [p for _, p, _, _ in api.requests if p.startswith("/api/subscriptions/")]


def test_supplier_commands_take_a_slug_an_id_or_its_first_characters(api):
    # An id prefix (hex digits that are no slug) becomes the one id that starts that way
    assert run("import", "5738a9", "--mode", "first_n").exit_code == 0
    # A slug spelled in hex digits is the slug, not a prefix
    assert run("import", "beef", "--mode", "first_n").exit_code == 0
    # A slug with other letters goes to the API as it is, with no lookup first
    assert run("import", "demo", "--mode", "first_n").exit_code == 0
    posts = [p for m, p, _, _ in api.requests if m == "POST"]
    assert posts == [
        f"/api/suppliers/{SUPPLIERS[0]['id']}/import",
        "/api/suppliers/beef/import",
        "/api/suppliers/demo/import",
    ]
    # And a prefix of several ids, or of none, is an error naming it
    result = CliRunner().invoke(main.app, ["import", "5738", "--mode", "first_n"])
    assert result.exit_code == 2 and "supplier id '5738' is ambiguous" in result.output
    result = CliRunner().invoke(main.app, ["import", "abcd", "--mode", "first_n"])
    assert (
        result.exit_code == 1 and "no supplier id starts with 'abcd' (and no supplier has that slug)" in result.output
    )
