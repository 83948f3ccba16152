"""How the CLI shows things: short job ids, relative times, durations, rates, stock tables.

Pure functions of the API's JSON (and ``now``), so they are tested without a stack.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from apihub.models import parse_iso
from rich.table import Table

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


def stock_table(inventory: dict[str, Any]) -> Table:
    """Parts x warehouses (columns named by location id, see ``warehouse_legend``): each part's
    total, its stock in every warehouse (blank: not stocked there), and what arrives next."""
    places = [str(location.get("location_id")) for location in warehouses(inventory)]
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("part", no_wrap=True)
    table.add_column("color", overflow="ellipsis", no_wrap=True, max_width=16)
    table.add_column("size", no_wrap=True)
    table.add_column("total", justify="right", no_wrap=True)
    for place in places:
        table.add_column(place, justify="right", no_wrap=True, overflow="ellipsis")
    table.add_column("next incoming", no_wrap=True)
    for part in inventory.get("parts") or []:
        by_place = {str(loc.get("location_id")): loc for loc in part.get("locations") or []}
        cells = [_number(by_place[place].get("quantity")) if place in by_place else "" for place in places]
        total = _number(part.get("quantity_available"))
        if part.get("uom") and part.get("uom") != "EA":
            total += f" {part['uom']}"
        if part.get("buy_to_order"):
            total += " (bto)"
        table.add_row(
            str(part.get("part_id")),
            part.get("color") or "-",
            part.get("size") or "-",
            total,
            *cells,
            next_incoming(part),
        )
    return table
