"""Pricing in the terminal: a product's price breaks and decorations, and a quote's breakdown."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def parse_decoration(value: str) -> dict[str, Any]:
    """``LOCATION:DECORATION:UNITS`` (``1:1:3``: location 1, decoration 1, 3 colours) -> the API's shape."""
    parts = value.split(":")
    if len(parts) != 3 or not all(parts) or not parts[2].isdigit():
        raise ValueError(f"--deco {value!r}: expected LOCATION:DECORATION:UNITS, e.g. 1:1:3")
    return {"location_id": parts[0], "decoration_id": parts[1], "units": int(parts[2])}


def breaks_table(pricing: dict[str, Any]) -> Table:
    """One row per part: its price breaks as ``min+ price``."""
    table = Table(
        "part",
        "description",
        "breaks",
        title=f"price breaks ({pricing.get('currency')}, {pricing.get('price_type')}, FOB {pricing.get('fob_id')})",
        title_justify="left",
    )
    for part in pricing.get("parts") or []:
        breaks = "  ".join(f"{row['min_quantity']}+ {row['price']}" for row in part.get("prices") or [])
        table.add_row(part["part_id"], part.get("description") or "", breaks or "-")
    return table


def decorations_table(pricing: dict[str, Any]) -> Table:
    """One row per decoration method of each location, with its charges."""
    table = Table("location", "decoration", "units", "ltm from", "charges", title="decorations", title_justify="left")
    for location in pricing.get("locations") or []:
        for decoration in location.get("decorations") or []:
            units = f"{decoration.get('units_included') or 0} incl., max {decoration.get('units_max') or '-'} " + (
                decoration.get("uom") or ""
            )
            charges = "; ".join(
                f"{charge['type']} {charge.get('name') or charge['charge_id']}"
                + (" (LTM)" if charge.get("applies_ltm") else "")
                for charge in decoration.get("charges") or []
            )
            table.add_row(
                f"{location['location_id']} {location.get('name') or ''}".strip(),
                f"{decoration['decoration_id']} {decoration.get('name') or ''}".strip(),
                units.strip(),
                str(decoration.get("ltm_min_quantity") or "-"),
                charges or "-",
            )
    return table


def quote_table(quote: dict[str, Any]) -> Table:
    """The quote's lines (unit price x multiplier = amount), then its total and unit total."""
    table = Table("line", "name", "where", "unit price", "x", "amount", title_justify="left")
    table.title = (
        f"{quote['quantity']} x {quote['part_id']} ({quote['currency']}, {quote['price_type']}, FOB {quote['fob_id']})"
        + (" less than minimum" if quote.get("ltm") else "")
    )
    for line in quote["lines"]:
        where = f"{line['location_id']}/{line['decoration_id']}" if line.get("location_id") else ""
        table.add_row(
            line["kind"], line.get("name") or "", where, line["unit_price"], line["multiplier"], line["amount"]
        )
    table.add_section()
    table.add_row("total", "", "", quote["unit_total"], str(quote["quantity"]), quote["total"])
    sell = quote.get("sell")
    if sell:
        table.add_row(
            "sell", f"rule {sell['rule_id'][:8]}", "", sell["unit_total"], str(quote["quantity"]), sell["total"]
        )
    return table
