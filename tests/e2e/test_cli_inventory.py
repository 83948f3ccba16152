"""End to end: stock levels from the local stack as a newcomer reads them with the CLI (issue 14):
an inventory import of the demo supplier, one product's stock stored and live, what changed, and
``jobs list`` in a 100-column terminal with short ids. Needs the ``inventory`` job mode."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from apihub_fakes.promostandards import generate_catalog
from apihub_local.demo import DEMO_SEED
from tests.e2e.conftest import VENV_BIN, RunningStack, running_stack

pytestmark = pytest.mark.e2e
PRODUCTS = 20


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # Every part's stock changes on every read, so a second inventory run changes every product.
    # `inventory changed` is asked only after the run has ended, when no commit is still in flight,
    # so the hold-back for late commits (180 s by default; tested in test_change_feed_followers.py)
    # is set to 0 here rather than waited out.
    with running_stack(
        tmp_path_factory.mktemp("stack"),
        APIHUB_DEMO_PRODUCTS=str(PRODUCTS),
        APIHUB_DEMO_STOCK_CHURN="1",
        APIHUB_INVENTORY_CHANGES_SETTLE_S="0",
    ) as running:
        yield running


def cli(stack: RunningStack, *args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    env = {**stack.env, "APIHUB_URL": stack.url, "APIHUB_TOKEN": stack.token, "COLUMNS": str(columns)}
    return subprocess.run(
        [str(VENV_BIN / "apihub"), *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def imported(stack: RunningStack, mode: str) -> dict:
    result = cli(stack, "import", "demo", "--mode", mode, "--watch", "--timeout", "120", "--json")
    assert result.returncode == 0, f"{result.stderr}\n{stack.log_tail()}"
    return json.loads(result.stdout)


def test_an_inventory_import_stores_every_products_stock_readable_stored_live_and_as_changes(stack):
    catalog = generate_catalog(PRODUCTS, DEMO_SEED)
    sellable = catalog.sellable_ids
    # Given the demo catalog imported
    assert imported(stack, "full_sellable")["success_count"] == len(sellable)
    # When its stock is imported with the CLI
    job = imported(stack, "inventory")
    # Then every stored product's stock was read once
    assert job["job_type"] == "import:inventory" and job["status"] == "success"
    assert (job["total_products"], job["success_count"]) == (len(sellable), len(sellable))
    # And one product's stock shows every part in its warehouses
    product = catalog.get(sellable[0])
    stored = json.loads(cli(stack, "inventory", "show", "demo", product.product_id, "--json").stdout)
    assert stored["source"] == "stored"
    assert [p["part_id"] for p in stored["parts"]] == [p.part_id for p in product.parts]
    assert all(p["locations"] and p["quantity_available"] is not None for p in stored["parts"])
    table = cli(stack, "inventory", "show", "demo", product.product_id, columns=100)
    assert table.returncode == 0 and "warehouses: " in table.stdout
    assert all(f"{p.part_id} " in table.stdout for p in product.parts)
    # And --live reads the supplier now
    live = json.loads(cli(stack, "inventory", "show", "demo", product.product_id, "--live", "--json").stdout)
    assert live["source"] == "live"
    # And after another run every product is listed as changed in the last hour
    imported(stack, "inventory")
    changed = cli(stack, "inventory", "changed", "demo", "--since", "1h", "--json")
    assert changed.returncode == 0, changed.stderr
    assert {c["product_id"] for c in json.loads(changed.stdout)} == set(sellable)


def test_jobs_list_fits_100_columns_and_its_short_ids_work_everywhere(stack):
    job = imported(stack, "first_n")
    listed = cli(stack, "jobs", "list", columns=100)
    assert listed.returncode == 0, listed.stderr
    assert max(len(line) for line in listed.stdout.splitlines()) <= 100
    assert job["id"][:8] in listed.stdout and job["id"] not in listed.stdout
    shown = cli(stack, "jobs", "show", job["id"][:8], "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == job["id"]
    errors = cli(stack, "jobs", "errors", job["id"][:8], "--json")
    assert errors.returncode == 0 and json.loads(errors.stdout) == []
