"""Pricing in the terminal: a product's price breaks and decorations, and a quote's breakdown."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from apihub_cli.display import SHORT_ID, Column, fitted_table


def parse_decoration(value: str) -> dict[str, Any]:
    """``LOCATION:DECORATION:UNITS`` (``1:1:3``: location 1, decoration 1, 3 colours) -> the API's shape."""
    parts = value.split(":")
    if len(parts) != 3 or not all(parts) or not parts[2].isdigit():
        raise ValueError(f"--deco {value!r}: expected LOCATION:DECORATION:UNITS, e.g. 1:1:3")
    return {"location_id": parts[0], "decoration_id": parts[1], "units": int(parts[2])}


def breaks_table(pricing: dict[str, Any], width: int | None) -> Table:
    """One row per part: its price breaks as ``min+ price`` (part ids whole; the description and
    the breaks are cut to the terminal, ``width`` None for ``--wide``)."""
    rows = [
        [
            part["part_id"],
            part.get("description") or "",
            "  ".join(f"{row['min_quantity']}+ {row['price']}" for row in part.get("prices") or []) or "-",
        ]
        for part in pricing.get("parts") or []
    ]
    title = f"price breaks ({pricing.get('currency')}, {pricing.get('price_type')}, FOB {pricing.get('fob_id')})"
    columns = [Column("part"), Column("description", flex=True), Column("breaks", flex=True)]
    return fitted_table(columns, rows, width, title=title)


def decorations_table(pricing: dict[str, Any], width: int | None) -> Table:
    """One row per decoration method of each location, with its charges (names and charges are cut
    to the terminal, the units and LTM minimum kept whole)."""
    rows = []
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
            rows.append(
                [
                    f"{location['location_id']} {location.get('name') or ''}".strip(),
                    f"{decoration['decoration_id']} {decoration.get('name') or ''}".strip(),
                    units.strip(),
                    str(decoration.get("ltm_min_quantity") or "-"),
                    charges or "-",
                ]
            )
    columns = [Column("location", flex=True), Column("decoration", flex=True), Column("units")]
    columns += [Column("ltm from", right=True), Column("charges", flex=True)]
    return fitted_table(columns, rows, width, title="decorations")


def quote_table(quote: dict[str, Any], width: int | None) -> Table:
    """The quote's lines (unit price x multiplier = amount), then its total and unit total; the
    amounts are never cut, the line names are."""
    title = (
        f"{quote['quantity']} x {quote['part_id']} ({quote['currency']}, {quote['price_type']}, FOB {quote['fob_id']})"
        + (" less than minimum" if quote.get("ltm") else "")
    )
    rows = [
        [
            line["kind"],
            line.get("name") or "",
            f"{line['location_id']}/{line['decoration_id']}" if line.get("location_id") else "",
            str(line["unit_price"]),
            str(line["multiplier"]),
            str(line["amount"]),
        ]
        for line in quote["lines"]
    ]
    rows.append(["total", "", "", str(quote["unit_total"]), str(quote["quantity"]), str(quote["total"])])
    sell = quote.get("sell")
    if sell:
        rule = sell["rule_id"] if width is None else sell["rule_id"][:SHORT_ID]
        rows.append(["sell", f"rule {rule}", "", str(sell["unit_total"]), str(quote["quantity"]), str(sell["total"])])
    columns = [Column("line"), Column("name", flex=True), Column("where")]
    columns += [Column("unit price", right=True), Column("x", right=True), Column("amount", right=True)]
    return fitted_table(columns, rows, width, title=title)
