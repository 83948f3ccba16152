"""Pydantic models: the public shapes (SyncJob, Supplier, Product) and the request bodies."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

# DiscoveryMode, the public enum, is declared beside its rows (the one list of modes) and used from here
# (`X as X`: an explicit re-export for strict mypy).
from apihub.modes.table import DiscoveryMode as DiscoveryMode
from apihub.modes.table import (
    Param,
    describe_modes,
    mode_spec,
    modes_taking,
)


class ApihubModel(BaseModel):
    """Base of every model here: pydantic builds a model's validator on its first use, not at import.

    A function uses a few of these models; building all of them at import would weigh on every cold
    start (docs/benchmarks.md, "Cold imports")."""

    model_config = ConfigDict(defer_build=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 UTC with a ``Z`` suffix, milliseconds kept (sortable as text)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    """The current time as every stored timestamp writes it (``iso``): text that sorts as time."""
    return iso(utcnow()) or ""


def iso_from_epoch(seconds: float) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC)) or ""


def parse_iso(value: str | None) -> datetime | None:
    """An ISO 8601 time (``Z`` or ``z`` for UTC; a time without a zone is UTC) as an aware
    datetime; None for an empty value; ValueError when it is not a real time."""
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class JobStatus(str, Enum):
    pending = "pending"
    running = "running"
    success = "success"
    partial_success = "partial_success"
    failed = "failed"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.success, JobStatus.partial_success, JobStatus.failed})


JOB_TYPES = tuple(m.job_type for m in DiscoveryMode)


class Protocol(str, Enum):
    promostandards = "promostandards"
    rest_hmac = "rest_hmac"


# --------------------------------------------------------------------------------------------------
# Products (canonical shape every adapter produces)
# --------------------------------------------------------------------------------------------------


class PriceBreak(ApihubModel):
    quantity_min: int = 1
    quantity_max: int | None = None
    price: float
    price_type: str = "List"


class PriceGroup(ApihubModel):
    group_name: str = ""
    currency: str = "USD"
    description: str = ""
    prices: list[PriceBreak] = Field(default_factory=list)


class ProductPart(ApihubModel):
    part_id: str
    color: str | None = None
    size: str | None = None
    gtin: str | None = None
    is_closeout: bool = False
    prices: list[PriceBreak] = Field(default_factory=list)


class ProductImage(ApihubModel):
    url: str
    part_id: str | None = None
    class_type: str | None = None
    description: str | None = None
    is_primary: bool = False


# --------------------------------------------------------------------------------------------------
# Size limits, in the unit DynamoDB counts (bytes of UTF-8); docs/decisions.md explains each figure
# --------------------------------------------------------------------------------------------------

MAX_SKU_BYTES = 256
"""A SKU (product id) in UTF-8. It is part of sort keys (``PRODUCT#<sku>`` in the jobs table and
``product_id`` in the products table, 1,024 bytes each) and 1,000 SKUs share one discovery ref-chunk
item (400 KB): 256 bytes leaves room in both, and is PromoStandards' 64-character productId at
4 bytes a character."""

MAX_LIST_SKUS = 10_000
FIRST_N_DEFAULT_LIMIT = 20  # a trial run's size when the import request names none
MAX_LIST_BYTES = 200_000
"""Every SKU list the API takes or builds (``explicit_list``, a ``failed_only`` retry) is kept on the
job item, as JSON: at most ``MAX_LIST_SKUS`` SKUs and ``MAX_LIST_BYTES`` bytes stored. The bytes are
what bound the item (400 KB with the job's error sample); a count alone could not, since a 256-byte
SKU stores as 258 to 1,538 bytes of JSON depending on its characters (escapes: 12 bytes an emoji)."""


def sku_problem(sku: str) -> str | None:
    """Why ``sku`` cannot be a product id (the rule, for a 422), or None when it can."""
    if not sku:
        return "must not be empty"
    try:
        size = len(sku.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    if size > MAX_SKU_BYTES:
        return f"at most {MAX_SKU_BYTES} bytes in UTF-8 (got {size})"
    return None


def stored_list_bytes(skus: list[str]) -> int:
    """The bytes a SKU list takes on the job item: ``params`` is a JSON attribute (``json.dumps``)."""
    return len(json.dumps(skus).encode("utf-8"))


def sku_list_problem(skus: list[str]) -> str | None:
    """Why ``skus`` (each already a valid SKU) cannot be one job's list, or None when it can."""
    if len(skus) > MAX_LIST_SKUS:
        return f"at most {MAX_LIST_SKUS} SKUs (got {len(skus)})"
    size = stored_list_bytes(skus)
    if size > MAX_LIST_BYTES:
        return f"at most {MAX_LIST_BYTES} bytes stored as JSON (got {size})"
    return None


def _valid_sku(value: str) -> str:
    problem = sku_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# pydantic counts characters: max_length states the schema's bound (never more bytes than characters),
# the validator the byte rule.
Sku = Annotated[str, Field(min_length=1, max_length=MAX_SKU_BYTES), AfterValidator(_valid_sku)]


class ProductRef(ApihubModel):
    """What discovery yields: enough to hydrate one product later."""

    model_config = ConfigDict(frozen=True)

    product_id: Sku


class Product(ApihubModel):
    """The canonical product every adapter's ``hydrate`` returns."""

    product_id: str
    name: str = ""
    brand: str | None = None
    description: str = ""
    categories: list[str] = Field(default_factory=list)
    parts: list[ProductPart] = Field(default_factory=list)
    images: list[ProductImage] = Field(default_factory=list)
    prices: list[PriceGroup] = Field(default_factory=list)
    is_closeout: bool = False
    last_change_date: datetime | None = None
    notes: list[str] = Field(default_factory=list, description="Non-fatal problems met while hydrating")

    @field_serializer("last_change_date")
    def _ser_dt(self, value: datetime | None) -> str | None:
        return iso(value)

    def compute_hash(self) -> str:
        """Stable hash of the content (not of when we fetched it): unchanged catalog -> no write."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()


class StoredProduct(Product):
    """A product as the API returns it: canonical fields plus storage metadata."""

    supplier_id: str
    content_hash: str
    updated_at: str
    # When a complete full_sellable import stopped listing it (docs/changes.md); null while sellable.
    discontinued_at: str | None = None


# --------------------------------------------------------------------------------------------------
# Sync jobs
# --------------------------------------------------------------------------------------------------


class JobError(ApihubModel):
    sku: str
    error: str


class DiscoveryParams(ApihubModel):
    """What a job needs to run discovery again (kept on the job so that retry can copy it)."""

    limit: int | None = None
    explicit_list: list[str] | None = None
    since: str | None = None


class SyncJob(ApihubModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    supplier_id: str
    supplier_name: str
    job_type: str
    status: JobStatus
    discovery_mode: DiscoveryMode
    total_products: int | None = None
    success_count: int = 0
    failed_count: int = 0
    records_processed: int = 0
    errors: list[JobError] = Field(default_factory=list)
    errors_truncated: bool = False
    error_log: str | None = None
    started_at: str
    completed_at: str | None = None
    updated_at: str
    retry_of: str | None = None
    params: DiscoveryParams = Field(default_factory=DiscoveryParams)
    throttled_until: str | None = None


# --------------------------------------------------------------------------------------------------
# Imports
# --------------------------------------------------------------------------------------------------


class ImportRequest(ApihubModel):
    """Body of ``POST /api/suppliers/{id}/import``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"mode": "first_n", "limit": 5}]})

    mode: DiscoveryMode = Field(default=DiscoveryMode.first_n, description=describe_modes())
    # first_n takes as many products as an explicit list may name. No default in the schema: a generated
    # client sends defaults, and a limit with any other mode is refused; first_n fills in its own below.
    limit: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_LIST_SKUS,
        description=f"How many products (mode first_n only; {FIRST_N_DEFAULT_LIMIT} when left out)",
    )
    explicit_list: list[Sku] | None = Field(default=None, min_length=1, max_length=MAX_LIST_SKUS)

    @field_validator("explicit_list")
    @classmethod
    def _explicit_list_fits(cls, value: list[str] | None) -> list[str] | None:
        problem = sku_list_problem(list(dict.fromkeys(value))) if value else None  # stored de-duplicated
        if problem:
            raise ValueError(f"{problem}; split the list into several imports")
        return value

    @field_validator("limit", "explicit_list")
    @classmethod
    def _taken_by_the_mode(cls, value: Any, info: ValidationInfo) -> Any:
        mode = info.data.get("mode")  # absent when mode itself was invalid
        field = str(info.field_name)  # always set in a field validator; None only in a model validator
        if mode is not None and value is not None and mode_spec(mode).params()[field] is Param.refused:
            takers = " or ".join(m.value for m in modes_taking(field))
            raise ValueError(f"only with mode {takers}; leave it out with mode {mode.value}")
        return value

    @model_validator(mode="after")
    def _required_by_the_mode(self) -> ImportRequest:
        for name, use in mode_spec(self.mode).params().items():
            if use is Param.required and not getattr(self, name):
                raise ValueError(f"{name} is required when mode is {self.mode.value}")
        if self.limit is None and mode_spec(self.mode).params()["limit"] is not Param.refused:
            self.limit = FIRST_N_DEFAULT_LIMIT
        return self


class ImportAccepted(ApihubModel):
    sync_job_id: str
    supplier_id: str
    mode: DiscoveryMode
    accepted_at: str


Role = Literal["viewer", "service", "admin"]
