"""The supplier's shapes: the public ``Supplier`` and the bodies that create and change one
(``SupplierIn``, ``SupplierPatch``), with the schedules a supplier may carry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, field_validator
from pydantic.json_schema import SkipJsonSchema

from apihub.models import ApihubModel, Protocol
from apihub.modes.table import MODES, DiscoveryMode, describe_schedules, scheduled_modes, sync_fields

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


def _scheduled_modes_only(value: dict[str, Any] | None) -> dict[str, Any] | None:
    # A key no schedule reads (a typo, first_n) would be stored and quietly never run.
    scheduled = scheduled_modes()
    unknown = sorted(set(value or ()) - {m.value for m in scheduled})
    if unknown:
        names = ", ".join(m.value for m in scheduled)
        raise ValueError(f"{', '.join(unknown)}: not a scheduled mode (scheduled modes: {names})")
    for mode, setting in (value or {}).items():
        schedule = MODES[DiscoveryMode(mode)].schedule
        if schedule is not None and schedule.periods is not None:
            _cadence(mode, setting, schedule.periods)
        elif not isinstance(setting, bool):  # strict: 0/1 or "true" are refused, not converted
            raise ValueError(f"{mode}: must be true or false")
    return value


def _cadence(mode: str, setting: Any, periods: Mapping[str, int]) -> None:
    """A mode scheduled at each supplier's own period: ``{"every": <period>}``, or false / null for off."""
    if setting is None or setting is False:
        return
    if not isinstance(setting, dict) or set(setting) != {"every"} or setting["every"] not in periods:
        names = ", ".join(periods)
        raise ValueError(f'{mode}: must be {{"every": <period>}} with period one of {names}, or false')


Schedules = Annotated[dict[str, Any], AfterValidator(_scheduled_modes_only)]


class SupplierIn(ApihubModel):
    """Body of ``POST /api/suppliers``; an existing slug is updated and re-activated."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Acme Promotional",
                    "slug": "acme",
                    "protocol": "promostandards",
                    "promostandards_code": "ACME",
                    "adapter_class": "PromoStandardsAdapter",
                    "auth_config": {"id": "acme-user", "password": "secret"},
                    "protocol_config": {"rate_limit_per_s": 5},
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    slug: Annotated[str, Field(pattern=SLUG_PATTERN)]
    protocol: Protocol = Protocol.promostandards
    promostandards_code: str | None = Field(default=None, max_length=64)
    base_url: str | None = Field(default=None, max_length=2048)
    adapter_class: str | None = Field(default=None, max_length=64)
    auth_config: dict[str, str] | None = None
    protocol_config: dict[str, Any] = Field(default_factory=dict)
    # Strict: the schema says boolean, so 0/1 or "true" are refused rather than quietly converted.
    is_active: StrictBool = True
    schedules: Schedules = Field(default_factory=dict, description=describe_schedules())


class SupplierPatch(ApihubModel):
    """Body of ``PATCH /api/suppliers/{id}``: only the given fields change."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "Acme", "is_active": False}]})

    # Leave a field out to keep it; these three have no "empty" value, so null is refused (and the
    # schema does not offer it) rather than stored as a supplier that can no longer be read.
    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=200)
    protocol: Protocol | SkipJsonSchema[None] = None
    promostandards_code: str | None = Field(default=None, max_length=64)
    base_url: str | None = Field(default=None, max_length=2048)
    adapter_class: str | None = Field(default=None, max_length=64)
    auth_config: dict[str, str] | None = None
    protocol_config: dict[str, Any] | None = None
    is_active: StrictBool | SkipJsonSchema[None] = None
    schedules: Schedules | None = Field(default=None, description=describe_schedules())

    @field_validator("name", "protocol", "is_active", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null (leave the field out to keep its value)")
        return value


class Supplier(ApihubModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    name: str
    slug: str
    protocol: Protocol
    promostandards_code: str | None = None
    base_url: str | None = None
    adapter_class: str | None = None
    auth_config: dict[str, str] | None = None
    protocol_config: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True
    schedules: dict[str, Any] = Field(default_factory=dict)
    # One ``str | None`` field per supplier field a mode row moves (``last_full_sync``, ...).
    __annotations__.update(dict.fromkeys(sync_fields(), "str | None"))
    locals().update(dict.fromkeys(sync_fields()))
    created_at: str
    updated_at: str | None = None
    product_count: int = 0
    # The inventory schedule's runs skipped because the previous one was still going (and the last).
    inventory_runs_skipped: int = 0
    inventory_last_skipped_at: str | None = None
    # The stock summary health reads (apihub.inventory.freshness): not part of the supplier's API shape.
    inventory_stock: dict[str, Any] | None = Field(default=None, exclude=True)

    def public(self) -> dict[str, Any]:
        """The API shape: ``auth_config`` is write-only, so every read masks its values."""
        data = self.model_dump(mode="json")
        if self.auth_config is not None:
            data["auth_config"] = dict.fromkeys(self.auth_config, "********")
        return data
