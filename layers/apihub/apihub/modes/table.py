"""The job modes: one row per discovery mode, read by everything that treats modes differently.

The API's validation of an import request and its OpenAPI text, the start of an import, discovery
(what it asks the adapter for, from when), scheduling, and finalisation (which supplier field a
successful job moves, and the supplier's attribute holding it), the CLI's choices and hydrate (the
row's fetch kind, ``apihub.modes.fetch``) all read ``MODES``; none keeps its own list of modes. Adding a
mode is one row here, the adapters' support for its ``listing``, and tests (docs/architecture.md, "A
job mode").

Only the standard library is imported (and ``apihub.modes.fetch``, which is too): ``apihub.models``
and the data layer build on this module, and every function's cold start imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from apihub.modes.fetch import PRICES, PRODUCT, STOCK, FetchKind


class DiscoveryMode(str, Enum):
    """The public ``mode`` of an import (``discovery_mode`` of a job). Each has a row in ``MODES``."""

    full_sellable = "full_sellable"
    delta = "delta"
    first_n = "first_n"
    explicit_list = "explicit_list"
    closeouts = "closeouts"
    inventory = "inventory"
    prices = "prices"

    @property
    def job_type(self) -> str:
        return mode_spec(self).job_type


class Listing(str, Enum):
    """What discovery asks an adapter for. Each adapter maps these to its protocol's calls (e.g.
    PromoStandards ``changed`` -> ``getProductDateModified``) and refuses one it does not know."""

    given = "given"  # the SKUs of explicit_list, with no supplier call
    sellable = "sellable"  # every sellable product
    changed = "changed"  # products changed since the request's ``since`` (no since: every sellable one)
    closeouts = "closeouts"  # products being closed out
    # Every product stored for the supplier, read from the products table page by page (a Query,
    # resumable by cursor): no supplier call. With an ``explicit_list``, those SKUs instead.
    stored = "stored"


class Param(str, Enum):
    """Whether a mode takes an import parameter (``limit``, ``explicit_list``)."""

    refused = "refused"  # giving it is a 422: the caller expects an effect it would not have
    optional = "optional"
    required = "required"


@dataclass(frozen=True)
class Schedule:
    """A mode's scheduled import: the template parameter holding its EventBridge Scheduler
    expression (UTC), that parameter's default, and the cadence in words."""

    parameter: str
    default: str
    cadence: str
    # The periods a supplier may name for this mode (``{"every": <period>}``), in seconds: each tick
    # starts the suppliers whose own period is due. None: a supplier turns it on with ``true``.
    periods: Mapping[str, int] | None = None
    # With ``periods``: the supplier attribute holding the last period slot a tick acted on (one per
    # mode: slots of different periods are different numbers), and whether a run skipped because the
    # previous one was still going is counted on the supplier (health's ``inventory_runs_skipped``).
    slot_field: str | None = None
    counts_skips: bool = False


@dataclass(frozen=True)
class ModeSpec:
    """Everything that makes one mode behave differently from another."""

    mode: DiscoveryMode
    listing: Listing
    summary: str  # what the mode imports, for the OpenAPI description of ``mode``
    limit: Param = Param.refused
    explicit_list: Param = Param.refused
    # Supplier fields whose newest value is the ``since`` of the listing (none: no since). The job
    # keeps the value it started from, so a resumed listing asks for the same window.
    since_from: tuple[str, ...] = ()
    # The supplier field set to the job's ``started_at`` when it ends in success or partial success.
    sets_supplier_field: str | None = None
    schedule: Schedule | None = None  # None: never scheduled
    # A complete listing of everything the supplier sells: when such a job ends in success or partial
    # success, the supplier's stored products it did not list are discontinued (docs/changes.md).
    discontinues_unlisted: bool = False
    # adapter_class names that implement this mode; None: every adapter.
    supported_by: frozenset[str] | None = None
    # An adapter class attribute that must be true for the mode (e.g. ``serves_inventory``): read
    # through the adapter registry, so an adapter states what its protocol can do in one place.
    requires: str | None = None
    # What hydrate does with each SKU: which supplier call, which table its change-only write goes
    # to, how many SKUs a message carries (``apihub.modes.fetch``).
    fetches: FetchKind = PRODUCT

    @property
    def job_type(self) -> str:
        return f"import:{self.mode.value}"

    @property
    def lock_key(self) -> str:
        """The import lock this mode takes (``LOCK#<supplier>#<lock_key>``): one import per supplier
        and mode at a time (invariant 4)."""
        return self.mode.value

    def params(self) -> dict[str, Param]:
        """The import parameters by name, as ``ImportRequest`` spells them."""
        return {"limit": self.limit, "explicit_list": self.explicit_list}

    def supports(self, adapter_class: str | None) -> bool:
        """Whether ``adapter_class`` can run this mode: named by ``supported_by`` (when the row
        restricts by name) and with the ``requires`` capability (when it asks for one)."""
        if self.supported_by is not None and adapter_class not in self.supported_by:
            return False
        if self.requires is None:
            return True
        # Imported here: this module stays standard-library only; only a row with a requirement
        # loads the adapter's class to read it.
        from apihub.adapters.registry import adapter_capability

        return adapter_class is not None and adapter_capability(adapter_class, self.requires)

    def restriction(self) -> str:
        """The row's restriction in words (for the 422 and the OpenAPI text); empty when none."""
        parts = []
        if self.supported_by is not None:
            parts.append(f"only with adapters {', '.join(sorted(self.supported_by))}")
        if self.requires is not None:
            parts.append(f"only with adapters whose `{self.requires}` is true")
        return "; ".join(parts)


_ROWS = (
    ModeSpec(
        DiscoveryMode.full_sellable,
        Listing.sellable,
        "every sellable product",
        sets_supplier_field="last_full_sync",
        discontinues_unlisted=True,
        schedule=Schedule("FullSellableSchedule", "cron(0 1 ? * SUN *)", "weekly, Sunday 01:00 UTC"),
    ),
    ModeSpec(
        DiscoveryMode.delta,
        Listing.changed,
        "the products changed since the supplier's last full or delta sync",
        since_from=("last_delta_sync", "last_full_sync"),
        sets_supplier_field="last_delta_sync",
        schedule=Schedule("DeltaSchedule", "cron(0 2 * * ? *)", "daily, 02:00 UTC"),
    ),
    ModeSpec(
        DiscoveryMode.first_n,
        Listing.sellable,
        "the first `limit` sellable products (a trial run)",
        limit=Param.optional,
    ),
    ModeSpec(
        DiscoveryMode.explicit_list,
        Listing.given,
        "exactly the SKUs in `explicit_list`",
        explicit_list=Param.required,
    ),
    ModeSpec(
        DiscoveryMode.closeouts,
        Listing.closeouts,
        "the products the supplier is closing out",
        schedule=Schedule("CloseoutsSchedule", "cron(0 3 1 * ? *)", "monthly, the 1st at 03:00 UTC"),
    ),
    ModeSpec(
        DiscoveryMode.inventory,
        Listing.stored,
        "the stock levels of every product stored for the supplier (or of `explicit_list`)",
        explicit_list=Param.optional,
        requires="serves_inventory",
        fetches=STOCK,
        # One tick every 15 minutes starts the suppliers whose own `every` is due (docs/inventory.md).
        schedule=Schedule(
            "InventorySchedule",
            "rate(15 minutes)",
            "every 15 minutes, each supplier at its own period",
            # docs/inventory.md, "Schedules"
            periods={"15m": 900, "30m": 1800, "1h": 3600, "4h": 14_400, "12h": 43_200, "24h": 86_400},
            slot_field="inventory_slot",
            counts_skips=True,
        ),
    ),
    ModeSpec(
        DiscoveryMode.prices,
        Listing.stored,
        "the Pricing and Configuration of every product stored for the supplier (or of `explicit_list`)",
        explicit_list=Param.optional,
        sets_supplier_field="last_prices_sync",
        requires="serves_pricing",
        fetches=PRICES,
        # One tick an hour starts the suppliers whose own `every` is due (docs/pricing.md, "The prices mode").
        schedule=Schedule(
            "PricesSchedule",
            "rate(1 hour)",
            "every hour, each supplier at its own period",
            periods={"1h": 3600, "4h": 14_400, "12h": 43_200, "1d": 86_400, "2d": 172_800, "7d": 604_800},
            slot_field="prices_slot",
        ),
    ),
)
# The one list of modes. Everything derived from it is a function reading it when called, so what a
# module builds at import (the request model, the supplier's fields) follows the rows it finds.
MODES: dict[DiscoveryMode, ModeSpec] = {row.mode: row for row in _ROWS}


def mode_spec(mode: DiscoveryMode | str) -> ModeSpec:
    """The row of ``mode`` (a ``DiscoveryMode`` or its value)."""
    return MODES[DiscoveryMode(mode)]


def modes_taking(param: str) -> list[DiscoveryMode]:
    """The modes that accept the import parameter ``param`` (``limit`` or ``explicit_list``)."""
    return [row.mode for row in MODES.values() if row.params()[param] is not Param.refused]


def scheduled_modes() -> tuple[DiscoveryMode, ...]:
    """The modes a schedule starts (their rows have a ``schedule``)."""
    return tuple(row.mode for row in MODES.values() if row.schedule is not None)


def sync_fields() -> tuple[str, ...]:
    """The supplier fields the rows move when a job ends (``sets_supplier_field``), in row order: the
    stored supplier and its API shape declare one attribute each from this (``SupplierItem``,
    ``Supplier``), so a new row's field is stored and shown with nothing else to add."""
    return tuple(dict.fromkeys(row.sets_supplier_field for row in MODES.values() if row.sets_supplier_field))


def slot_fields() -> tuple[str, ...]:
    """The supplier attributes holding the periodic schedules' slots (``Schedule.slot_field``)."""
    return tuple(
        row.schedule.slot_field for row in MODES.values() if row.schedule is not None and row.schedule.slot_field
    )


def schedule_period_s(mode: DiscoveryMode, schedules: Mapping[str, object] | None) -> int | None:
    """Seconds between a supplier's scheduled runs of ``mode`` when its row has ``periods`` and the
    supplier names one (``{"every": "1h"}``); None otherwise."""
    schedule = MODES[mode].schedule
    setting = (schedules or {}).get(mode.value)
    if schedule is None or schedule.periods is None or not isinstance(setting, dict):
        return None
    return schedule.periods.get(str(setting.get("every", "")))


def periodic_modes() -> tuple[DiscoveryMode, ...]:
    """The modes each supplier schedules at its own period (their rows' schedules have ``periods``)."""
    return tuple(row.mode for row in MODES.values() if row.schedule is not None and row.schedule.periods is not None)


def describe_modes() -> str:
    """The OpenAPI description of ``mode``: one line per row."""
    lines = ["What the import discovers:"]
    for row in MODES.values():
        notes = [
            f"{'requires' if use is Param.required else 'takes'} `{name}`"
            for name, use in row.params().items()
            if use is not Param.refused
        ]
        if row.schedule is not None:
            notes.append(f"can be scheduled ({row.schedule.cadence})")
        if row.sets_supplier_field:
            notes.append(f"sets the supplier's `{row.sets_supplier_field}`")
        if row.restriction():
            notes.append(row.restriction())
        lines.append(f"- `{row.mode.value}`: {row.summary}" + (f"; {'; '.join(notes)}" if notes else "") + ".")
    lines.append("`limit` and `explicit_list` are refused by the modes that do not take them.")
    return "\n".join(lines)


def describe_schedules() -> str:
    """The OpenAPI description of a supplier's ``schedules``: the modes it may name, and when they run."""
    rows = [row for row in MODES.values() if row.schedule is not None]
    runs = "; ".join(f"`{row.mode.value}` {row.schedule.cadence}" for row in rows if row.schedule is not None)
    periodic = [
        f'`{row.mode.value}` takes `{{"every": {_quoted(row.schedule.periods)}}}` instead of true'
        for row in rows
        if row.schedule is not None and row.schedule.periods is not None
    ]
    return (
        f"The scheduled imports this supplier takes part in, by mode (true: on): {runs}. "
        + "".join(f"{text} (false or null: off); " for text in periodic)
        + "a period shorter than one run of the mode at the supplier's rate limit (products x supplier calls "
        + "per product / rate_limit_per_s) is refused."
    )


def _quoted(periods: Mapping[str, int]) -> str:
    return "|".join(f'"{name}"' for name in periods)
