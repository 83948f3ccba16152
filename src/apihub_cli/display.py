"""How the CLI shows things: short job ids, relative times, durations, rates, stock tables.

Pure functions of the API's JSON (and ``now``), so they are tested without a stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apihub.models import parse_iso
from rich.table import Table
from rich.text import Text

SHORT_ID = 8
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def short_id(job_id: str | None) -> str:
    """The first 8 characters of a job id (what ``jobs list`` shows; every job command accepts it)."""
    return (job_id or "-")[:SHORT_ID]


def parse_time(value: Any) -> datetime | None:
    """An API timestamp (ISO 8601, ``Z``) as an aware datetime; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def span(seconds: float) -> str:
    """A duration in at most two units: ``850ms``, ``42s``, ``12m04s``, ``3h07m``, ``2d05h``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def ago(value: Any, now: datetime) -> str:
    """``"3m ago"`` for an API timestamp (``-`` when absent)."""
    stamp = parse_time(value)
    if stamp is None:
        return "-"
    seconds = (now - stamp).total_seconds()
    if seconds < 0:
        return "just now"
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            return f"{whole // size}{unit} ago"
    return f"{whole}s ago"


def job_seconds(job: dict[str, Any], now: datetime) -> float | None:
    """How long the job ran (until now while it runs); None without a start."""
    started = parse_time(job.get("started_at"))
    if started is None:
        return None
    ended = parse_time(job.get("completed_at")) or now
    return max(0.0, (ended - started).total_seconds())


def job_rate(job: dict[str, Any], now: datetime) -> str:
    """Products processed per second over the job's run (``-`` before any)."""
    seconds = job_seconds(job, now)
    done = int(job.get("success_count") or 0) + int(job.get("failed_count") or 0)
    if not seconds or not done:
        return "-"
    rate = done / seconds
    return f"{rate:.0f}/s" if rate >= 100 else f"{rate:.1f}/s"


def job_kind(job_type: str | None) -> str:
    """``import:full_sellable`` -> ``full_sellable`` (every job type is an import)."""
    return (job_type or "-").removeprefix("import:")


def since_to_iso(value: str, now: datetime) -> str:
    """``--since``: a duration back from ``now`` (``90s``, ``30m``, ``1h``, ``2d``, ``1w``) or an
    ISO 8601 time, as the API's ISO UTC ``Z`` form. ``ValueError`` names what is accepted."""
    match = _DURATION.match(value)
    if match:
        moment = now - timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2).lower()])
    else:
        parsed = parse_time(value.strip())
        if parsed is None:
            raise ValueError(f"--since {value!r}: use a duration such as 30m, 1h, 2d, or an ISO 8601 time")
        moment = parsed
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# ------------------------------------------------------------------ stock


def _number(value: Any) -> str:
    if value is None:
        return "-"
    number = float(value)
    return f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"


def warehouses(inventory: dict[str, Any]) -> list[dict[str, Any]]:
    """Every warehouse any part is stocked in (its first location entry), in order of appearance."""
    seen: dict[str, dict[str, Any]] = {}
    for part in inventory.get("parts") or []:
        for location in part.get("locations") or []:
            seen.setdefault(str(location.get("location_id")), location)
    return list(seen.values())


def warehouse_legend(inventory: dict[str, Any]) -> str:
    """``RNO = Reno, NV 89441 US; DAL = ...``: what the table's warehouse columns are."""
    entries = []
    for location in warehouses(inventory):
        label = " ".join(
            str(v) for v in (location.get("name"), location.get("postal_code"), location.get("country")) if v
        )
        if label and label != str(location.get("location_id")):
            entries.append(f"{location.get('location_id')} = {label}")
    return "warehouses: " + "; ".join(entries) if entries else ""


def next_incoming(part: dict[str, Any]) -> str:
    """The earliest future stock of a part over its warehouses: ``"144 on 2027-01-15"``."""
    future = [
        (str(f.get("available_on") or "?"), f.get("quantity"))
        for location in part.get("locations") or []
        for f in location.get("future") or []
    ]
    if not future:
        return "-"
    on, quantity = min(future, key=lambda item: item[0])
    return f"{_number(quantity)} on {on}"


def stock_table(inventory: dict[str, Any], width: int | None) -> Table:
    """Parts x warehouses (columns named by location id, see ``warehouse_legend``): each part's
    total, its stock in every warehouse (blank: not stocked there), and what arrives next. Within
    ``width`` the colour is cut, then what arrives next and the last warehouses are left out
    (``left_out`` names them); ``None`` (``--wide``) keeps every warehouse."""
    places = [str(location.get("location_id")) for location in warehouses(inventory)]
    columns = [Column("part"), Column("color", flex=True), Column("size"), Column("total", right=True)]
    columns += [Column(place, right=True, optional=True) for place in places]
    columns.append(Column("next incoming", optional=True))
    rows = []
    for part in inventory.get("parts") or []:
        by_place = {str(loc.get("location_id")): loc for loc in part.get("locations") or []}
        cells = [_number(by_place[place].get("quantity")) if place in by_place else "" for place in places]
        total = _number(part.get("quantity_available"))
        if part.get("uom") and part.get("uom") != "EA":
            total += f" {part['uom']}"
        if part.get("buy_to_order"):
            total += " (bto)"
        first = [str(part.get("part_id")), part.get("color") or "-", part.get("size") or "-", total]
        rows.append([*first, *cells, next_incoming(part)])
    return fitted_table(columns, rows, width)


def left_out(inventory: dict[str, Any], table: Table) -> str:
    """What ``stock_table`` left out to fit the terminal: ``"not shown: DAL, next incoming (--wide)"``."""
    shown = {str(column.header) for column in table.columns}
    places = [str(location.get("location_id")) for location in warehouses(inventory)]
    missing = [header for header in [*places, "next incoming"] if header not in shown]
    return f"not shown: {', '.join(missing)} (--wide shows every column)" if missing else ""


# ------------------------------------------------------------------ tables that fit


@dataclass
class Column:
    """A table column: ``flex`` columns are cut (``…``) to what the terminal leaves them; every
    other column keeps its whole values (ids, slugs, counts, times are never cut); ``optional``
    columns are left out, last first, when the terminal is too narrow for them."""

    header: str
    flex: bool = False
    right: bool = False
    optional: bool = False
    styles: dict[str, str] = field(default_factory=dict)  # a value's rich style (job statuses)


def fitted_table(columns: list[Column], rows: list[list[str]], width: int | None, title: str | None = None) -> Table:
    """One line per row within ``width`` columns (``None``: no limit, for ``--wide``): the columns
    that are not ``flex`` take their longest value, the ``flex`` ones share what is left (at least
    ``FLEX_MIN`` each). Written here because rich shrinks every column alike when a table is too
    wide, cutting keys as readily as names, or wraps a row onto several lines."""
    if width is not None:
        columns, rows = _drop_optional(columns, rows, width)
    natural = [max([len(c.header), *(len(row[i]) for row in rows)]) for i, c in enumerate(columns)]
    widths: list[int | None] = list(natural)
    flexible = [i for i, c in enumerate(columns) if c.flex]
    if width is not None and flexible:
        fixed = sum(w for i, w in enumerate(natural) if i not in flexible) + len(columns) - 1
        share = max(FLEX_MIN, (width - fixed) // len(flexible))
        for i in flexible:
            widths[i] = min(natural[i], share)
    table = Table(box=None, pad_edge=False, collapse_padding=True, header_style="bold", title=title)
    for column, size in zip(columns, widths, strict=True):
        table.add_column(
            column.header,
            justify="right" if column.right else "left",
            no_wrap=True,
            overflow="ellipsis",
            width=size,
        )
    for row in rows:
        table.add_row(*(Text(cell, style=c.styles.get(cell, "")) for c, cell in zip(columns, row, strict=True)))
    return table


FLEX_MIN = 6


def _drop_optional(columns: list[Column], rows: list[list[str]], width: int) -> tuple[list[Column], list[list[str]]]:
    def needed(cols: list[int]) -> int:
        fixed = sum(
            FLEX_MIN if columns[i].flex else max([len(columns[i].header), *(len(r[i]) for r in rows)]) for i in cols
        )
        return fixed + len(cols) - 1

    keep = list(range(len(columns)))
    for i in reversed(range(len(columns))):
        if needed(keep) <= width:
            break
        if columns[i].optional:
            keep.remove(i)
    return [columns[i] for i in keep], [[row[i] for i in keep] for row in rows]


def suppliers_table(suppliers: list[dict[str, Any]], now: datetime, width: int | None) -> Table:
    wide = width is None
    columns = [Column("id"), Column("slug"), Column("name", flex=True), Column("protocol")]
    columns += [Column("adapter")] if wide else []
    columns += [Column("active"), Column("products", right=True, optional=True), Column("full sync")]
    rows = []
    for s in suppliers:
        row = [s["id"] if wide else short_id(s["id"]), s["slug"], s["name"], s.get("protocol") or "-"]
        row += [s.get("adapter_class") or "-"] if wide else []
        synced = s.get("last_full_sync")
        row += ["yes" if s.get("is_active") else "no", str(s.get("product_count", 0))]
        row.append((synced or "-") if wide else ago(synced, now))
        rows.append(row)
    return fitted_table(columns, rows, width)


def subscriptions_table(subscriptions: list[dict[str, Any]], now: datetime, width: int | None) -> Table:
    wide = width is None
    columns = [
        Column("id"),
        Column("url", flex=True),
        Column("types", flex=True),
        Column("supplier"),
        Column("created"),
    ]
    rows = [
        [
            sub["id"] if wide else short_id(sub["id"]),
            sub["url"],
            ", ".join(sub["types"]),
            (sub.get("supplier_id") or "any") if wide else short_id(sub.get("supplier_id") or "any"),
            sub["created_at"] if wide else ago(sub["created_at"], now),
        ]
        for sub in subscriptions
    ]
    return fitted_table(columns, rows, width)


def deliveries_table(items: list[dict[str, Any]], now: datetime, width: int | None) -> Table:
    wide = width is None
    columns = [Column("at"), Column("event"), Column("type"), Column("try", right=True), Column("outcome")]
    columns += [Column("status", right=True), Column("error", flex=True)]
    rows = [
        [
            d["at"] if wide else ago(d["at"], now),
            d["event_id"] if wide else d["event_id"][: len("evt_") + SHORT_ID],
            d["event_type"],
            str(d["attempt"]),
            d["outcome"],
            "-" if d.get("status_code") is None else str(d["status_code"]),
            d.get("error") or "-",
        ]
        for d in items
    ]
    return fitted_table(columns, rows, width, title=f"deliveries ({len(items)})")


def products_table(products: list[dict[str, Any]], now: datetime, width: int | None, title: str) -> Table:
    wide = width is None
    columns = [Column("product id"), Column("name", flex=True), Column("brand", flex=True)]
    columns += [Column("parts", right=True), Column("closeout"), Column("updated")]
    rows = [
        [
            str(p.get("product_id")),
            p.get("name") or "-",
            p.get("brand") or "-",
            str(len(p.get("parts") or [])),
            "yes" if p.get("is_closeout") else "no",
            (p.get("updated_at") or "-") if wide else ago(p.get("updated_at"), now),
        ]
        for p in products
    ]
    return fitted_table(columns, rows, width, title=title)


def errors_table(errors: list[dict[str, Any]], width: int | None, title: str = "errors") -> Table:
    rows = [[str(e.get("sku")), str(e.get("error"))] for e in errors]
    return fitted_table([Column("sku"), Column("error", flex=True)], rows, width, title=title)


def inventory_changed_table(items: list[dict[str, Any]], now: datetime, width: int | None, title: str) -> Table:
    wide = width is None
    columns = [Column("product id"), Column("changed"), Column("as of"), Column("supplier's last change")]
    rows = [
        [
            str(item.get("product_id")),
            *(
                (item.get(k) or "-") if wide else ago(item.get(k), now)
                for k in ("changed_at", "as_of", "last_modified")
            ),
        ]
        for item in items
    ]
    return fitted_table(columns, rows, width, title=title)


def jobs_table(
    jobs: list[dict[str, Any]], now: datetime, width: int | None, status_styles: dict[str, str] | None = None
) -> Table:
    """Short ids, the mode, relative start; the supplier name is what gets cut. ``width`` None
    (``--wide``): full ids, job types and timestamps."""
    wide = width is None
    columns = [Column("id"), Column("supplier", flex=True), Column("type" if wide else "mode")]
    columns += [Column("status", styles=status_styles or {})]
    columns += [Column("total", right=True, optional=True), Column("ok", right=True), Column("failed", right=True)]
    columns += [Column("started")] + ([Column("completed")] if wide else [])
    columns += [Column("took", right=True), Column("rate", right=True, optional=True)]
    rows = []
    for j in jobs:
        seconds = job_seconds(j, now)
        took = "-" if seconds is None else span(seconds)
        if seconds is not None and not j.get("completed_at"):
            took += "+"  # still running
        row = [
            j["id"] if wide else short_id(j["id"]),
            str(j.get("supplier_name") or j.get("supplier_id") or "-"),
            str(j.get("job_type") or "-") if wide else job_kind(j.get("job_type")),
            str(j.get("status") or "-"),
            str(j.get("total_products", 0)),
            str(j.get("success_count", 0)),
            str(j.get("failed_count", 0)),
            (j.get("started_at") or "-") if wide else ago(j.get("started_at"), now),
        ]
        row += [j.get("completed_at") or "-"] if wide else []
        rows.append([*row, took, job_rate(j, now)])
    return fitted_table(columns, rows, width)
