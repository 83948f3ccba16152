"""The job modes: one row per discovery mode, read by everything that treats modes differently.

The API's validation of an import request and its OpenAPI text, the start of an import, discovery
(what it asks the adapter for, from when), scheduling, and finalisation (which supplier field a
successful job moves) all read ``MODES``; none keeps its own list of modes. Adding a mode is one row
here, the adapters' support for its ``listing``, and tests (docs/architecture.md, "A job mode").

Only the standard library is imported: ``apihub.models`` builds on this module, and every function's
cold start imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class DiscoveryMode(str, Enum):
    """The public ``mode`` of an import (``discovery_mode`` of a job). Each has a row in ``MODES``."""

    full_sellable = "full_sellable"
    delta = "delta"
    first_n = "first_n"
    explicit_list = "explicit_list"
    closeouts = "closeouts"

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
    # adapter_class names that implement this mode; None: every adapter.
    supported_by: frozenset[str] | None = None

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
        return self.supported_by is None or adapter_class in self.supported_by


_ROWS = (
    ModeSpec(
        DiscoveryMode.full_sellable,
        Listing.sellable,
        "every sellable product",
        sets_supplier_field="last_full_sync",
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
)
MODES: dict[DiscoveryMode, ModeSpec] = {row.mode: row for row in _ROWS}
SCHEDULED_MODES: tuple[DiscoveryMode, ...] = tuple(row.mode for row in _ROWS if row.schedule is not None)


def mode_spec(mode: DiscoveryMode | str) -> ModeSpec:
    """The row of ``mode`` (a ``DiscoveryMode`` or its value)."""
    return MODES[DiscoveryMode(mode)]


def modes_taking(param: str) -> list[DiscoveryMode]:
    """The modes that accept the import parameter ``param`` (``limit`` or ``explicit_list``)."""
    return [row.mode for row in _ROWS if row.params()[param] is not Param.refused]


def describe_modes() -> str:
    """The OpenAPI description of ``mode``: one line per row."""
    lines = ["What the import discovers:"]
    for row in _ROWS:
        notes = [
            f"{'requires' if use is Param.required else 'takes'} `{name}`"
            for name, use in row.params().items()
            if use is not Param.refused
        ]
        if row.schedule is not None:
            notes.append(f"can be scheduled ({row.schedule.cadence})")
        if row.sets_supplier_field:
            notes.append(f"sets the supplier's `{row.sets_supplier_field}`")
        if row.supported_by is not None:
            notes.append(f"only with adapters {', '.join(sorted(row.supported_by))}")
        lines.append(f"- `{row.mode.value}`: {row.summary}" + (f"; {'; '.join(notes)}" if notes else "") + ".")
    lines.append("`limit` and `explicit_list` are refused by the modes that do not take them.")
    return "\n".join(lines)


def describe_schedules() -> str:
    """The OpenAPI description of a supplier's ``schedules``: the modes it may name, and when they run."""
    runs = "; ".join(f"`{row.mode.value}` {row.schedule.cadence}" for row in _ROWS if row.schedule is not None)
    return f"The scheduled imports this supplier takes part in, by mode (true: on): {runs}."
