"""Every table the CLI prints, at 80, 100 and 120 columns: one line per row, within the width, keys
(short ids, slugs, product ids, SKUs, counts, times) whole, long text cut with ``…``; ``--wide`` gives
every full value on one line per row. Each rendering is compared with its snapshot in
tests/tooling/cli_snapshots/ (``APIHUB_UPDATE_SNAPSHOTS=1`` rewrites them after a deliberate change)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.table import Table

from apihub_cli import display, prices
from apihub_cli.changes import line

NOW = datetime(2026, 12, 8, 1, 0, 0, tzinfo=UTC)
SNAPSHOTS = Path(__file__).parent / "cli_snapshots"
WIDTHS = (80, 100, 120)


def at(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat(timespec="seconds").replace("+00:00", "Z")


SUPPLIERS = [
    {
        "id": "5f0c2b1e-7d4a-4c61-9a57-3f1b2c9d8e70",
        "slug": "hit-promotional-products",
        "name": "HIT Promotional Products, Inc. (PromoStandards production endpoint)",
        "protocol": "promostandards",
        "adapter_class": "PromoStandardsAdapter",
        "is_active": True,
        "product_count": 12873,
        "last_full_sync": at(hours=5, minutes=3),
    },
    {
        "id": "a1b2c3d4-0000-4000-8000-000000000002",
        "slug": "4over",
        "name": "4Over",
        "protocol": "fourover",
        "adapter_class": "FourOverAdapter",
        "is_active": False,
        "product_count": 0,
        "last_full_sync": None,
    },
]
JOBS = [
    {
        "id": "0badc0de-2222-4333-8444-555566667777",
        "supplier_name": "HIT Promotional Products, Inc. (PromoStandards production endpoint)",
        "job_type": "import:full_sellable",
        "status": "partial_success",
        "total_products": 12345,
        "success_count": 12000,
        "failed_count": 345,
        "started_at": at(hours=3, minutes=4),
        "completed_at": at(hours=2, minutes=50),
    },
    {
        "id": "00000001-aaaa-4bbb-8ccc-dddddddddddd",
        "supplier_name": "4Over",
        "job_type": "import:inventory",
        "status": "running",
        "total_products": 40,
        "success_count": 12,
        "failed_count": 0,
        "started_at": at(minutes=2),
        "completed_at": None,
    },
]
SUBSCRIPTIONS = [
    {
        "id": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
        "url": "https://hooks.example-integrator.com/apihub/webhooks/product-changes?tenant=acme",
        "types": ["product.created", "product.updated", "product.discontinued", "inventory.changed"],
        "supplier_id": "5f0c2b1e-7d4a-4c61-9a57-3f1b2c9d8e70",
        "created_at": at(days=2),
    },
    {
        "id": "11112222-3333-4444-8555-666677778888",
        "url": "http://127.0.0.1:8081/hook",
        "types": ["job.finished"],
        "supplier_id": None,
        "created_at": at(minutes=7),
    },
]
DELIVERIES = [
    {
        "at": at(seconds=42),
        "event_id": "evt_01JEXAMPLE7Q9M2ZC4R8T6W1Y3",
        "event_type": "product.updated",
        "attempt": 3,
        "outcome": "retry",
        "status_code": 503,
        "error": "HTTP 503 from https://hooks.example-integrator.com/apihub/webhooks: Service Unavailable",
    },
    {
        "at": at(minutes=12),
        "event_id": "evt_01JEXAMPLE0000000000000001",
        "event_type": "job.finished",
        "attempt": 1,
        "outcome": "delivered",
        "status_code": 204,
        "error": None,
    },
]
PRODUCTS = [
    {
        "product_id": "HIT-5900-LONGSKU",
        "name": "22 oz. Tritan Sports Bottle with Infuser and Flip-Top Lid, assorted translucent colours",
        "brand": "HIT Promotional Products",
        "parts": [{}] * 12,
        "is_closeout": False,
        "updated_at": at(hours=1),
    },
    {
        "product_id": "P-1",
        "name": "Pen",
        "brand": None,
        "parts": [],
        "is_closeout": True,
        "updated_at": at(days=3),
    },
]
ERRORS = [
    {"sku": "HIT-5900-LONGSKU", "error": "ServiceMessage 130: product data not available for this SKU " * 3},
    {"sku": "P-1", "error": "timeout after 35 s"},
]
CHANGED = [
    {"product_id": "HIT-5900-LONGSKU", "changed_at": at(minutes=3), "as_of": at(minutes=2), "last_modified": None},
    {"product_id": "P-1", "changed_at": at(hours=2), "as_of": at(hours=2), "last_modified": at(hours=6)},
]
PRICING = {
    "currency": "USD",
    "price_type": "List",
    "fob_id": "1",
    "parts": [
        {
            "part_id": "HIT-5900-LONGSKU-TRANSLUCENT-BLUE",
            "description": "22 oz. Tritan Sports Bottle with Infuser, translucent blue, flip-top lid",
            "prices": [
                {"min_quantity": q, "price": p}
                for q, p in ((48, "4.99"), (144, "4.59"), (300, "4.29"), (1000, "3.99"), (2500, "3.79"))
            ],
        },
        {"part_id": "P-1", "description": None, "prices": []},
    ],
    "locations": [
        {
            "location_id": "1",
            "name": "Front, centred below the infuser band",
            "decorations": [
                {
                    "decoration_id": "12",
                    "name": "Screen Print (up to four spot colours, pad print on request)",
                    "units_included": 1,
                    "units_max": 4,
                    "uom": "Colors",
                    "ltm_min_quantity": 48,
                    "charges": [
                        {"type": "Setup", "charge_id": "S1", "name": "Screen set-up per colour", "applies_ltm": False},
                        {"type": "Run", "charge_id": "R1", "name": "Additional colour run charge", "applies_ltm": True},
                    ],
                }
            ],
        }
    ],
}
QUOTE = {
    "quantity": 144,
    "part_id": "HIT-5900-LONGSKU-TRANSLUCENT-BLUE",
    "currency": "USD",
    "price_type": "List",
    "fob_id": "1",
    "ltm": False,
    "lines": [
        {
            "kind": "base",
            "name": "22 oz. Tritan Sports Bottle with Infuser, translucent blue",
            "location_id": None,
            "decoration_id": None,
            "unit_price": "4.59",
            "multiplier": "144",
            "amount": "660.96",
        },
        {
            "kind": "setup",
            "name": "Screen set-up per colour (Screen Print, up to four spot colours)",
            "location_id": "1",
            "decoration_id": "12",
            "unit_price": "40.00",
            "multiplier": "3",
            "amount": "120.00",
        },
        {
            "kind": "run",
            "name": "Additional colour run charge",
            "location_id": "1",
            "decoration_id": "12",
            "unit_price": "0.25",
            "multiplier": "288",
            "amount": "72.00",
        },
    ],
    "unit_total": "5.9164",
    "total": "852.96",
    "sell": {"rule_id": "0f1e2d3c-aaaa-4bbb-8ccc-000000000000", "unit_total": "8.4520", "total": "1217.09"},
}
PLACES = ["RNO", "DAL", "JAX", "ATL", "CHI", "LAX", "NYC", "SEA", "PHX", "DEN", "MIA", "BOS"]
INVENTORY = {
    "parts": [
        {
            "part_id": f"HIT-5900-{colour.upper()}-{size}",
            "color": colour,
            "size": size,
            "quantity_available": 12500 + i,
            "locations": [
                {
                    "location_id": place,
                    "name": place.title(),
                    "quantity": 1000 + 37 * j + i,
                    "future": [{"available_on": "2027-01-15", "quantity": 144}] if j == 0 else [],
                }
                for j, place in enumerate(PLACES)
                if (i + j) % 5
            ],
        }
        for i, (colour, size) in enumerate((("translucent blue", "OS"), ("smoke", "OS"), ("red", "XL")))
    ]
}

# name -> (builder of the table at a width (None: --wide), the values that must appear whole)
TABLES: dict[str, tuple[Callable[[int | None], Table], list[str]]] = {
    "suppliers-list": (
        lambda w: display.suppliers_table(SUPPLIERS, NOW, w),
        ["5f0c2b1e", "hit-promotional-products", "promostandards", "5h ago"],
    ),
    "jobs-list": (lambda w: display.jobs_table(JOBS, NOW, w), ["0badc0de", "00000001", "partial_success", "12345"]),
    "jobs-errors": (lambda w: display.errors_table(ERRORS, w), ["HIT-5900-LONGSKU", "P-1"]),
    "products-list": (
        lambda w: display.products_table(PRODUCTS, NOW, w, "hit: 2"),
        ["HIT-5900-LONGSKU", "P-1", "12", "1h ago"],
    ),
    "inventory-changed": (
        lambda w: display.inventory_changed_table(CHANGED, NOW, w, "hit: 2 changed since 2026-12-07T01:00:00Z"),
        ["HIT-5900-LONGSKU", "3m ago", "6h ago"],
    ),
    "prices-breaks": (
        lambda w: prices.breaks_table(PRICING, w),
        ["HIT-5900-LONGSKU-TRANSLUCENT-BLUE", "P-1", "48+ 4.99"],
    ),
    "prices-decorations": (lambda w: prices.decorations_table(PRICING, w), ["1 incl., max 4 Colors", "48"]),
    "quote": (
        lambda w: prices.quote_table(QUOTE, w),
        ["HIT-5900-LONGSKU-TRANSLUCENT-BLUE", "660.96", "1/12", "5.9164", "852.96", "1217.09", "0f1e2d3c", "288"],
    ),
    "inventory-show": (
        lambda w: display.stock_table(INVENTORY, w),
        ["HIT-5900-TRANSLUCENT BLUE-OS", "HIT-5900-RED-XL", "12,500", "12,502", "1,037"],
    ),
    "subscriptions-list": (
        lambda w: display.subscriptions_table(SUBSCRIPTIONS, NOW, w),
        ["9d8c7b6a", "11112222", "5f0c2b1e", "2d ago", "7m ago"],
    ),
    "subscriptions-deliveries": (
        lambda w: display.deliveries_table(DELIVERIES, NOW, w),
        ["evt_01JEXAMP", "product.updated", "delivered", "503", "42s ago", "12m ago"],
    ),
}


def render(table: Table, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), no_color=True, highlight=False, legacy_windows=False)
    console.print(table, crop=False)
    text = console.file.getvalue()  # type: ignore[attr-defined]  # the StringIO given above
    return [row.rstrip() for row in text.splitlines()]


def matches_snapshot(name: str, lines: list[str]) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    text = "\n".join(lines) + "\n"
    if os.environ.get("APIHUB_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no snapshot {path.name}: run with APIHUB_UPDATE_SNAPSHOTS=1 once and review it"
    assert text == path.read_text(), f"{name} differs from its snapshot:\n{text}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_fits_the_terminal_one_line_per_row_with_whole_keys(name: str, width: int) -> None:
    build, keys = TABLES[name]
    table = build(width)
    lines = render(table, width)

    assert max(len(row) for row in lines) <= width, "\n".join(lines)
    assert len(lines) == table.row_count + 1 + (1 if table.title else 0), "a row wrapped:\n" + "\n".join(lines)
    for key in keys:
        assert any(key in row for row in lines), f"{key!r} cut or missing:\n" + "\n".join(lines)
    matches_snapshot(f"{name}-{width}", lines)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_wide_tables_give_every_value_whole_on_one_line_per_row(name: str) -> None:
    build, _ = TABLES[name]
    table = build(None)
    lines = render(table, 400)

    assert len(lines) == table.row_count + 1 + (1 if table.title else 0), "\n".join(lines)
    assert not any("…" in row for row in lines), "\n".join(lines)
    matches_snapshot(f"{name}-wide", lines)


def test_wide_tables_keep_full_ids_and_timestamps() -> None:
    jobs = "\n".join(render(display.jobs_table(JOBS, NOW, None), 400))
    assert JOBS[0]["id"] in jobs and JOBS[0]["started_at"] in jobs and JOBS[0]["completed_at"] in jobs
    assert "import:full_sellable" in jobs
    suppliers = "\n".join(render(display.suppliers_table(SUPPLIERS, NOW, None), 400))
    assert (
        SUPPLIERS[0]["id"] in suppliers and SUPPLIERS[0]["name"] in suppliers and "PromoStandardsAdapter" in suppliers
    )


def _event(**data: Any) -> dict[str, Any]:
    return {
        "occurred_at": "2026-12-08T00:51:03.123Z",
        "type": "product.updated",
        "product_id": "HIT-5900-LONGSKU",
        "data": {"changed_fields": ["name", "description", "parts", "prices", "images", "categories"], **data},
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_changes_tail_lines_fit_the_terminal(width: int) -> None:
    text = line(_event(parts_added=[1, 2, 3]), width)
    assert len(text) <= width
    assert text.startswith("00:51:03Z  product.updated") and "HIT-5900-LONGSKU" in text


def test_changes_tail_keeps_a_short_line_whole() -> None:
    assert line(_event(changed_fields=["name"]), 80) == "00:51:03Z  product.updated      HIT-5900-LONGSKU  changed name"


def test_a_stock_table_too_wide_for_the_terminal_names_the_warehouses_it_leaves_out() -> None:
    everything = display.stock_table(INVENTORY, None)
    assert display.left_out(INVENTORY, everything) == ""
    assert [str(c.header) for c in everything.columns][4:-1] == [
        str(w["location_id"]) for w in display.warehouses(INVENTORY)
    ]

    fitted = display.stock_table(INVENTORY, 80)
    shown = {str(c.header) for c in fitted.columns}
    hidden = [w for w in PLACES if w not in shown]
    note = display.left_out(INVENTORY, fitted)

    assert hidden and "next incoming" not in shown
    assert note.startswith("not shown: ") and note.endswith("next incoming (--wide shows every column)")
    assert all(w in note for w in hidden) and not any(w in note for w in shown)
