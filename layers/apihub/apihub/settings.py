"""Configuration, parsed once from environment variables (set by ``template.yaml`` in AWS)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "APIHUB_"


class Settings(BaseModel):
    """``APIHUB_<FIELD>`` variables, converted and checked by pydantic.

    A plain model rather than pydantic-settings' ``BaseSettings``: only environment variables are read
    here, and importing pydantic-settings (it loads asyncio, argparse and its other sources) added
    40-80 ms to every function's cold start (docs/benchmarks.md)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    region: str = "us-east-1"
    # Endpoint override for the local stack (moto server). Empty in AWS.
    aws_endpoint_url: str | None = None

    jobs_table: str = "apihub-jobs"
    suppliers_table: str = "apihub-suppliers"
    products_table: str = "apihub-products"
    inventory_table: str = "apihub-inventory"  # its stream feeds inventory.changed (apihub.changes.stream)
    tokens_table: str = "apihub-tokens"
    # Each product's pricing (PPC configurations, docs/pricing.md) and the markup rules.
    pricing_table: str = "apihub-pricing"
    markup_rules_table: str = "apihub-markup-rules"
    # The change log (apihub.dal.changes): one item per change event, expired by TTL after
    # ``changes_retention_days``. Reads leave out the last ``changes_settle_ms`` of the log: at least
    # the longest time from an event taking its position to its index copy being readable
    # (apihub.dal.changes.SETTLE_BOUND_MS), so a cursor never passes an event still on its way
    # (docs/changes.md, "Nothing is skipped"). Lower only in tests that write no late event.
    changes_table: str = "apihub-changes"
    changes_retention_days: int = 30
    changes_settle_ms: int = Field(default=8000, ge=0, le=60_000)
    # The same for GET /api/suppliers/{id}/inventory?changed_since: a stock item's position
    # (``changed_at``, when the supplier answered) is taken inside the invocation that writes it,
    # so it is readable at most the longest timeout of a function writing InventoryTable later
    # (template.yaml; docs/inventory.md, "Following stock changes").
    inventory_changes_settle_s: int = Field(default=180, ge=0, le=900)
    discovery_queue_url: str = ""
    hydrate_queue_url: str = ""
    kms_key_id: str = ""
    # Secrets Manager secret whose value signs pagination cursors (apihub.dal.cursor_key).
    cursor_secret_arn: str = ""
    # S3 bucket for product bodies too big for a DynamoDB item (apihub.dal.bodies). Empty: none, so
    # such a product fails with "stored item too large".
    bodies_bucket: str = ""
    # Change delivery (docs/changes.md, "EventBridge" and "Webhooks"): the custom bus every change
    # event is put on, the webhook subscriptions table, the deliveries queue and its DLQ.
    event_bus_name: str = ""
    subscriptions_table: str = "apihub-subscriptions"
    webhook_queue_url: str = ""
    webhook_dlq_url: str = ""
    # Webhook delivery: a 2xx within the timeout is delivered; otherwise retried after
    # base x 2^(attempt - 1) until max_age_s after the first attempt (the last retry lands on it),
    # then dead-lettered. Attempts recorded per subscription are kept this many days (TTL).
    webhook_timeout_s: float = 10.0
    webhook_retry_base_s: int = 60
    webhook_max_age_s: int = 86_400
    webhook_deliveries_ttl_days: int = 7
    # Deliveries one DeliverWebhookFunction invocation makes at once: its SQS batch size too (the
    # template's WebhookInFlight sets both), so a batch is one wave that lasts one delivery at most.
    webhook_in_flight: int = Field(default=25, ge=1, le=100)

    # Hydrate queue: SKUs per message, and the receive count on which a transient failure is final.
    # A product job's message carries between these two (``pipeline.discover.refs_per_message``): as
    # many as keep every supplier slot fed with ``hydrate_messages_per_slot`` messages, so a big job's
    # invocations spread their fixed costs (slot leases, first reads, the last commit) over up to
    # BatchSize x 50 products, and a small one still reaches every slot. At most 100:
    # ``HydrateMessage.skus``'s bound.
    hydrate_refs_per_message: int = Field(default=10, ge=1, le=100)
    hydrate_refs_per_message_max: int = Field(default=50, ge=1, le=100)
    hydrate_messages_per_slot: int = Field(default=4, ge=1)
    # The same for a mode that reads stock (one small supplier call per SKU, ``StockFetch``):
    # an invocation then works through BatchSize x 100 SKUs, so its fixed costs (the supplier's
    # slots leased and handed back, its first reads, the last commit's wait) are spread over 500
    # SKUs instead of 50 (docs/inventory.md, "Throughput"). Leftovers past the deadline are handed
    # on as usual. At most 100: ``HydrateMessage.skus``'s bound (a message stays far below 256 KB).
    hydrate_stock_refs_per_message: int = Field(default=100, ge=1, le=100)
    hydrate_max_receive_count: int = 5
    discovery_max_receive_count: int = 3
    # Errors kept on the job item itself (the full list is behind /errors).
    job_errors_cap: int = 100
    # Timing (docs/architecture.md, "Time"; tests/infrastructure/test_timing.py checks these against
    # the template). An invocation keeps this much of its time for bookkeeping: its supplier calls
    # must end that long before it does (their deadline), and no page or product starts after it.
    discovery_time_reserve_ms: int = 30_000
    # Pages one job's listing may take (across invocations) before it fails: a supplier that pages
    # without end would otherwise keep the job, and its lock, alive forever.
    discovery_max_pages: int = 10_000
    hydrate_time_reserve_ms: int = 15_000
    # No supplier call (and no product) is started with less time than this before the deadline.
    call_min_s: float = 1.0
    # Supplier calls are clamped to the deadline. Off only in the time-scaled local stack, whose
    # functions' deadlines shrink while its suppliers' answers do not (docs/local-stack.md).
    call_deadlines: bool = True
    # Hydrate commits its outcomes as soon as a transaction's worth is ready or the oldest
    # uncommitted one is this old (by the invocation's clock): a crash loses at most that much work.
    hydrate_commit_every_s: float = 20.0
    # Supplier calls one hydrate invocation keeps in flight (a thread each), if the supplier has
    # that many free slots (apihub.ratelimit): an invocation's memory is billed while it waits on
    # the supplier, so waiting on several calls at once costs the same as waiting on one.
    hydrate_calls_in_flight: int = Field(default=5, ge=1, le=32)
    # Redelivery after a transient error: base x 2^(receive - 1), capped; a supplier's Retry-After
    # and our own limiter's delays are honoured up to retry_delay_max_s (SQS's DelaySeconds limit).
    retry_backoff_base_s: int = 10
    retry_backoff_max_s: int = 300
    retry_delay_max_s: int = Field(default=900, ge=1, le=900)
    # The sweeper fails a job only after this long without progress or a due attempt, and only if
    # nothing it depends on is still queued; at least the longest retry path of one message.
    stall_minutes: int = 90
    # How long a worker waits for a supplier slot or token before handing its work back.
    limiter_max_wait_s: float = 5.0
    # Contention on DynamoDB/SQS (apihub.dal.retries): full-jitter backoff from base to cap, at most
    # this many calls and no new call past the budget; then 503 with Retry-After. The budget stays
    # well inside an API function's 29 s (botocore's own retries run inside each call).
    aws_retry_base_ms: int = 25
    aws_retry_cap_ms: int = 1000
    aws_retry_max_attempts: int = 8
    aws_retry_budget_ms: int = 5000
    # Local stack only: allow http:// and loopback supplier URLs.
    allow_insecure_urls: bool = False

    @property
    def endpoint(self) -> str | None:
        return self.aws_endpoint_url or None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls.model_validate(
            {k[len(ENV_PREFIX) :].lower(): v for k, v in env.items() if k.upper().startswith(ENV_PREFIX)}
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget the parsed configuration (tests and the local stack change the environment)."""
    get_settings.cache_clear()
