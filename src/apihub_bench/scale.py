"""The scale model (issue 27): a first import of ``products`` products from ``suppliers`` suppliers
at once, each at ``concurrency`` supplier calls in flight, with every feature on.

What it derives, and from where:

* **Demand**: each supplier's products/s at its own limit, ``concurrency x 1000 / (latency_ms x
  calls_per_product)`` (the supplier-bound limit the throughput runs measure against), and the
  import's wall time at that rate.
* **Every shared key's load**: the writes and reads one product causes (``FLOWS``: which item of
  which table, how many bytes, how often, transactional or not, and how widely each key attribute's
  value is shared: one per product, per job, per supplier, or one for everything on a day), applied
  to the tables' real key schemas and indexes read from template.yaml. A flow's write lands on the
  table's partition key and on every index whose key attributes the item carries (a new item; an
  update that changes no index key writes no index copy). Units as DynamoDB bills them: 1 WCU per
  KB written, twice in a transaction; 1 RCU per 4 KB read strongly, half eventually.
  ``test_every_key_attribute_of_the_template_has_a_modelled_scope`` fails when a table gains a key
  attribute the model does not know, so the model follows the template.
* **The quotas that bind first**: each quota turned into the products/s it allows (template.yaml's
  ``HydrateMaxConcurrency`` default, the hydrate mapping's ``BatchSize``, the API throttle; AWS's
  documented defaults), the lowest below the suppliers' own limit binding first.

Figures a run measures (the item sizes, the change event's bytes) come in as arguments; the
defaults are the realistic catalog's (docs/benchmarks.md, "The realistic catalog").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from apihub.dal.tables.changes import CHANGE_SHARDS

KB = 1024

# Scope of a key attribute's value: how many distinct values share the load at once.
PER_ITEM = "item"  # one value per product, event or slot: never hot by itself
PER_JOB = "job"  # one per running import (one per supplier here)
PER_SUPPLIER = "supplier"
GLOBAL = "global"  # one value for every supplier (a day, a month, a constant)

# AWS's documented limits (docs/benchmarks.md cites the pages).
PARTITION_WCU = 1000  # per partition key value (adaptive capacity isolates a hot key to this)
PARTITION_RCU = 3000
TABLE_START_WCU = 4000  # a new on-demand table serves this much at once before it scales
TABLE_QUOTA_WCU = 40000  # per table, a Service Quotas default
LAMBDA_ACCOUNT_CONCURRENCY = 1000  # per region, the documented default
LAMBDA_NEW_ACCOUNT_CONCURRENCY = 10  # what new accounts are often given at first
SQS_POLLER_START = 5  # an SQS event source mapping starts with this many concurrent batches
SQS_POLLER_RAMP_PER_MIN = 300  # and adds up to this many a minute while the queue has messages
STREAM_SHARDS = 1  # a stream's shards while its table is small (DynamoDB adds shards as it grows)
HOT_WCU = 500  # issue 27's goal per key
HOT_RCU = 1500


@dataclass(frozen=True)
class Workload:
    products: int = 1_000_000
    suppliers: int = 20
    concurrency: int = 50  # supplier calls in flight, each supplier
    latency_ms: int = 200
    calls_per_product: int = 3  # Product Data, Pricing, Media
    product_item_bytes: int = 1585  # products-table item: the realistic catalog's mean (catalog_shape)
    change_item_bytes: int = 900  # a change log item (its event JSON and keys)
    delivery_item_bytes: int = 300  # a webhook delivery attempt
    stream_batch: int = 100  # records a stream trigger's invocation handles (template BatchSize)
    job_item_bytes: int = 700  # a job item without errors
    job_errors_kept: int = 100  # {sku, error} entries a job item may hold
    error_text_max: int = 1000
    outcome_group_bytes: int = 500  # keys.GROUP_TARGET_BYTES
    products_per_commit: int = 45  # keys.PRODUCTS_PER_TRANSACTION
    calls_in_flight: int = 5  # hydrate_calls_in_flight: supplier calls a hydrate invocation keeps
    products_per_invocation: int = 250  # BatchSize x refs per message (``products_per_invocation``)
    rate_limit_per_s: float | None = None  # each supplier's calls/s; None: only its concurrency binds

    @property
    def per_supplier(self) -> int:
        return math.ceil(self.products / self.suppliers)

    @property
    def supplier_calls_per_s(self) -> float:
        by_concurrency = self.concurrency * 1000 / self.latency_ms
        return by_concurrency if self.rate_limit_per_s is None else min(by_concurrency, self.rate_limit_per_s)

    @property
    def supplier_products_per_s(self) -> float:
        return self.supplier_calls_per_s / self.calls_per_product

    @property
    def products_per_s(self) -> float:
        return self.supplier_products_per_s * self.suppliers

    @property
    def job_item_worst_bytes(self) -> int:
        return self.job_item_bytes + self.job_errors_kept * (self.error_text_max + 40)


@dataclass(frozen=True)
class Flow:
    """One kind of item a product import reads or writes, and how often per product."""

    table: str  # template logical id
    item: str
    scopes: dict[str, str]  # key attribute -> its value's pattern (only the attributes the item has)
    per_product: float  # operations per product
    bytes: int
    transactional: bool = False
    new_item: bool = True  # False: an update that changes no index key (no index copy)
    read: bool = False
    consistent: bool = True


def flows(w: Workload) -> list[Flow]:
    """The items one product of a first import touches (feature on: change log, one subscription).
    ``scopes`` name each key attribute's value as the code writes it (``dal/jobs/keys.py``,
    ``dal/limits.py``, ``dal/changes.py``)."""
    commits = 1 / w.products_per_commit
    invocations = 1 / w.products_per_invocation
    return [
        Flow("JobsTable", "job item (counters, errors)", {"pk": "JOB#<job>", "sk": "META"}, commits,
             w.job_item_worst_bytes, transactional=True, new_item=False),
        Flow("JobsTable", "outcome group (ADD of the SKU)", {"pk": "JOB#<job>", "sk": "OUTCOMES#<n>"}, 1.0,
             w.outcome_group_bytes, transactional=True, new_item=False),
        Flow("JobsTable", "job item read (each invocation)", {"pk": "JOB#<job>", "sk": "META"}, invocations,
             w.job_item_worst_bytes, read=True),
        Flow("JobsTable", "limiter slot lease and release", {"pk": "RATE#<supplier>", "sk": "SLOT#<n>"},
             2 * w.calls_in_flight * invocations, 200, new_item=False),
        Flow("JobsTable", "limiter slots read (each lease)", {"pk": "RATE#<supplier>"}, invocations,
             w.concurrency * 120, read=True),
        Flow("SuppliersTable", "supplier item (last import)", {"id": "<supplier>"}, commits, 1500,
             transactional=True, new_item=False),
        Flow("ProductsTable", "product item", {"supplier_id": "<supplier>", "product_id": "<sku>"}, 1.0,
             w.product_item_bytes, transactional=True),
        Flow("ChangesTable", "change log item (product.created)",
             {"pk": "<job>#<shard>", "sk": "<type>#<event>", "feed": "<day>#<shard>", "log_sort": "<time>#<event>"},
             1.0, w.change_item_bytes),
        # One subscription to every product event of every supplier: each event's delivery attempt.
        Flow("SubscriptionsTable", "webhook delivery attempt",
             {"pk": "SUB#<subscription>", "sk": "DELIVERY#<at>#<event>#<n>"}, 1.0, w.delivery_item_bytes),
        Flow("SubscriptionsTable", "matching subscriptions (twice a stream batch)",
             {"pk": "MATCH#<type>#<supplier>"}, 2 / w.stream_batch, 200, read=True, consistent=False),
    ]  # fmt: skip


def scope_of(value: str) -> str:
    """How widely a key value pattern is shared: by one job, one supplier, or everything."""
    if "<job>" in value:
        return PER_JOB
    if "<supplier>" in value:
        return PER_SUPPLIER
    if any(unique in value for unique in ("<sku>", "<event>", "<n>")):
        return PER_ITEM
    return GLOBAL  # a constant, a day, a type: one value for every supplier


# Key attributes of items no product import writes (listed so the template test knows them).
NOT_ON_THE_IMPORT_PATH: dict[str, dict[str, str]] = {
    "JobsTable": {
        "gsi_sort": "<started_at>#<job>", "gsi_all": "<month>", "gsi_status": "<status>", "gsi_type": "<type>",
        "gsi_supplier": "<supplier>", "gsi_status_type": "<status>#<type>",
        "gsi_supplier_status": "<supplier>#<status>", "gsi_supplier_type": "<supplier>#<type>",
        "gsi_supplier_status_type": "<supplier>#<status>#<type>", "err_job": "<job>",
    },  # written when a job starts or ends, and per failed product (none in a clean import)
    "SuppliersTable": {"slug": "<supplier>", "kind": "SUPPLIER"},  # registration only
    "InventoryTable": {"supplier_id": "<supplier>", "product_id": "<sku>", "changed_at": "<time>"},
    "TokensTable": {"token_hash": "<token>"},
    "SubscriptionsTable": {"list_pk": "SUBSCRIPTIONS", "list_sk": "<created>#<subscription>"},
    "PricingTable": {"supplier_id": "<supplier>", "product_id": "<sku>"},  # the prices mode, not a catalog import
    "MarkupRulesTable": {"rule_id": "<rule>"},  # an admin's rules
}  # fmt: skip


@dataclass(frozen=True)
class Index:
    table: str
    name: str  # "" for the table itself
    keys: tuple[str, ...]  # hash key first
    projection: str


def table_indexes(template: Any) -> list[Index]:
    """Every table and global secondary index of ``template`` with its key attributes."""
    out = []
    for table, res in template.of_type("AWS::DynamoDB::Table").items():
        props = res["Properties"]
        keys = tuple(k["AttributeName"] for k in props["KeySchema"])
        out.append(Index(table, "", keys, "ALL"))
        for gsi in props.get("GlobalSecondaryIndexes") or []:
            gkeys = tuple(k["AttributeName"] for k in gsi["KeySchema"])
            out.append(Index(table, gsi["IndexName"], gkeys, gsi["Projection"]["ProjectionType"]))
    return out


def unmodelled_key_attributes(template: Any) -> dict[str, set[str]]:
    """Key attributes of the template's tables and indexes that neither a flow nor
    ``NOT_ON_THE_IMPORT_PATH`` gives a value pattern: the model would not see their load."""
    known: dict[str, set[str]] = {t: set(attrs) for t, attrs in NOT_ON_THE_IMPORT_PATH.items()}
    for flow in flows(Workload()):
        known.setdefault(flow.table, set()).update(flow.scopes)
    missing: dict[str, set[str]] = {}
    for index in table_indexes(template):
        unknown = set(index.keys) - known.get(index.table, set())
        if unknown:
            missing.setdefault(index.table, set()).update(unknown)
    return missing


def _share(scope: str, w: Workload) -> int:
    """How many key values a flow's total rate spreads over."""
    return {PER_JOB: w.suppliers, PER_SUPPLIER: w.suppliers, GLOBAL: 1}.get(scope, 0)


@dataclass
class KeyLoad:
    key: str
    wcu_per_s: float = 0.0
    rcu_per_s: float = 0.0
    sources: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "wcu_per_s": round(self.wcu_per_s, 1),
            "rcu_per_s": round(self.rcu_per_s, 1),
            "hot": self.wcu_per_s > HOT_WCU or self.rcu_per_s > HOT_RCU,
            "sources": self.sources,
        }


def _units(flow: Flow, size: int) -> float:
    if flow.read:
        units = max(1, math.ceil(size / (4 * KB)))
        return units * (1.0 if flow.consistent else 0.5)
    return max(1, math.ceil(size / KB)) * (2 if flow.transactional else 1)


def key_loads(template: Any, w: Workload) -> list[KeyLoad]:
    """Each shared partition key (table or index) with its WCU/s and RCU/s at the suppliers' own
    rate; a key one product or event owns is left out (it takes one write)."""
    loads: dict[str, KeyLoad] = {}
    indexes = table_indexes(template)
    for flow in flows(w):
        rate = w.products_per_s * flow.per_product
        for index in indexes:
            needed = index.keys[:1] if flow.read else index.keys  # a Query needs the hash key alone
            if index.table != flow.table or not all(k in flow.scopes for k in needed):
                continue
            if index.name and (flow.read or not flow.new_item):
                continue  # reads of the table, updates that move no index key: no index copy
            value = flow.scopes[index.keys[0]]
            hash_scope = scope_of(value)
            # A key written sharded ("<shard>": the change log's) spreads over its shards too.
            spread = _share(hash_scope, w) * (CHANGE_SHARDS if "<shard>" in value else 1)
            if not spread:
                continue
            size = flow.bytes if index.projection in ("ALL", "INCLUDE") or not index.name else 100
            units = _units(flow, size) if not index.name else max(1, math.ceil(size / KB))
            where = f"{index.table}{'.' + index.name if index.name else ''}"
            key = f"{where}: {index.keys[0]}={value}"
            load = loads.setdefault(key, KeyLoad(key))
            per_key = rate * units / spread
            if flow.read:
                load.rcu_per_s += per_key
            else:
                load.wcu_per_s += per_key
            load.sources.append(flow.item)
            # The item itself, when one item takes every write of its key (the job item).
            sort = flow.scopes.get(index.keys[1], "") if len(index.keys) > 1 else ""
            if not index.name and sort and scope_of(sort) == GLOBAL:  # one item takes every write of its key
                item_key = f"{where}: {index.keys[0]}={value}, {index.keys[1]}={sort}"
                item = loads.setdefault(item_key, KeyLoad(item_key))
                if flow.read:
                    item.rcu_per_s += per_key
                else:
                    item.wcu_per_s += per_key
                item.sources.append(flow.item)
    return sorted(loads.values(), key=lambda k: -max(k.wcu_per_s, k.rcu_per_s / 3))


def table_wcu(template: Any, w: Workload) -> dict[str, float]:
    """Each table's total WCU/s (its indexes included) at the suppliers' own rate."""
    total: dict[str, float] = {}
    indexes = table_indexes(template)
    for flow in flows(w):
        if flow.read:
            continue
        rate = w.products_per_s * flow.per_product
        for index in indexes:
            if index.table != flow.table or not all(k in flow.scopes for k in index.keys):
                continue
            if index.name and not flow.new_item:
                continue
            size = flow.bytes if index.projection in ("ALL", "INCLUDE") or not index.name else 100
            units = _units(flow, size) if not index.name else max(1, math.ceil(size / KB))
            total[flow.table] = total.get(flow.table, 0.0) + rate * units
    return total


def _param_default(template: Any, name: str) -> int:
    return int(template.data.get("Parameters", {}).get(name, {}).get("Default"))


def _hydrate_batch_size(template: Any) -> int:
    fn = template.resources["HydrateFunction"]["Properties"]
    (event,) = [e for e in fn["Events"].values() if e["Type"] == "SQS"]
    return int(event["Properties"].get("BatchSize", 10))


def _api_throttle(template: Any) -> tuple[int, int]:
    for res in template.of_type("AWS::Serverless::HttpApi").values():
        route = res["Properties"].get("DefaultRouteSettings") or {}
        if "ThrottlingRateLimit" in route:
            return int(route["ThrottlingRateLimit"]), int(route["ThrottlingBurstLimit"])
    return 10000, 5000  # API Gateway's account defaults


def quotas(template: Any, w: Workload) -> list[dict[str, Any]]:
    """Each quota with the demand the workload puts on it and the products/s it allows."""
    calls_in_flight_per_invocation = w.calls_in_flight
    per_call = 1000 / (w.latency_ms * w.calls_per_product)  # products/s one call in flight gives
    hydrate_needed = w.suppliers * math.ceil(w.concurrency / calls_in_flight_per_invocation)
    # Beside hydrate, with the feed on: one invocation per stream shard of the change detector
    # (products and inventory streams) and of the dispatcher (change log stream), and a delivery.
    others = STREAM_SHARDS * 3 + 1
    max_conc = _param_default(template, "HydrateMaxConcurrency")
    tables = table_wcu(template, w)
    busiest_table, busiest_wcu = max(tables.items(), key=lambda kv: kv[1])
    wcu_per_product = busiest_wcu / w.products_per_s
    loads = key_loads(template, w)
    hottest = max(loads, key=lambda k: k.wcu_per_s)
    rate, burst = _api_throttle(template)
    ramp_s = max(0.0, (hydrate_needed - SQS_POLLER_START) / SQS_POLLER_RAMP_PER_MIN * 60)
    rows: list[dict[str, Any]] = [
        {
            "quota": "hydrate MaximumConcurrency (template HydrateMaxConcurrency default)",
            "limit": max_conc,
            "demand": hydrate_needed,
            "allows_products_per_s": max_conc * calls_in_flight_per_invocation * per_call,
            "raise": "deploy with HydrateMaxConcurrency >= suppliers x ceil(max_concurrency / 5) (template parameter, up to 1000)",
        },
        {
            "quota": "Lambda account concurrency, new account",
            "limit": LAMBDA_NEW_ACCOUNT_CONCURRENCY,
            "demand": hydrate_needed + others,
            "allows_products_per_s": max(0, LAMBDA_NEW_ACCOUNT_CONCURRENCY - others)
            * calls_in_flight_per_invocation
            * per_call,
            "raise": "Service Quotas: Lambda 'Concurrent executions' (request 1,000; granted per account)",
        },
        {
            "quota": "Lambda account concurrency (default)",
            "limit": LAMBDA_ACCOUNT_CONCURRENCY,
            "demand": hydrate_needed + others,
            "allows_products_per_s": (LAMBDA_ACCOUNT_CONCURRENCY - others) * calls_in_flight_per_invocation * per_call,
            "raise": "Service Quotas: Lambda 'Concurrent executions' (tens of thousands on request)",
        },
        {
            "quota": f"DynamoDB on-demand new table start ({busiest_table})",
            "limit": TABLE_START_WCU,
            "demand": round(busiest_wcu),
            "allows_products_per_s": TABLE_START_WCU / wcu_per_product,
            "raise": "pre-warm: create the table with on-demand warm throughput (WarmThroughput) or ramp imports; it scales by itself within ~30 min",
        },
        {
            "quota": f"DynamoDB table quota ({busiest_table})",
            "limit": TABLE_QUOTA_WCU,
            "demand": round(busiest_wcu),
            "allows_products_per_s": TABLE_QUOTA_WCU / wcu_per_product,
            "raise": "Service Quotas: DynamoDB 'Table-level write throughput limit' (and MaxWriteRequestUnits on the table if set)",
        },
        {
            "quota": f"DynamoDB partition, hottest key ({hottest.key})",
            "limit": PARTITION_WCU,
            "demand": round(hottest.wcu_per_s),
            "allows_products_per_s": w.products_per_s * PARTITION_WCU / hottest.wcu_per_s
            if hottest.wcu_per_s
            else math.inf,
            "raise": "not raisable: spread the key (a write shard suffix, a smaller item, errors in items of their own)",
        },
        {
            "quota": "SQS poller ramp (hydrate mapping)",
            "limit": f"{SQS_POLLER_START} + {SQS_POLLER_RAMP_PER_MIN}/min",
            "demand": hydrate_needed,
            "allows_products_per_s": w.products_per_s,  # delays the start only
            "ramp_s": round(ramp_s, 1),
            "raise": "not raisable; costs ramp_s at the start of a burst (MaximumConcurrency bounds it)",
        },
        {
            "quota": "API Gateway stage throttle (template)",
            "limit": f"{rate}/s, burst {burst}",
            "demand": w.suppliers,  # the import requests; hydration does not pass the API
            "allows_products_per_s": math.inf,
            "raise": "template HttpApi DefaultRouteSettings (account default 10,000/s): binds the pull API's readers, not imports",
        },
    ]
    for row in rows:
        allows = float(row["allows_products_per_s"])
        row["allows_products_per_s"] = None if allows == math.inf else round(allows, 1)
        row["binds"] = allows < w.products_per_s
    return rows


def products_per_invocation(template: Any, w: Workload) -> int:
    """A hydrate invocation's products: the mapping's ``BatchSize`` messages of
    ``pipeline.discover.refs_per_message`` SKUs each (its rule, on the settings' defaults)."""
    from apihub.settings import Settings

    def default(name: str) -> int:
        return int(Settings.model_fields[name].default)

    wanted = math.ceil(w.per_supplier / (w.concurrency * default("hydrate_messages_per_slot")))
    refs = min(default("hydrate_refs_per_message_max"), max(default("hydrate_refs_per_message"), wanted))
    return _hydrate_batch_size(template) * refs


def model(template: Any, w: Workload | None = None) -> dict[str, Any]:
    """``scale_model`` of results.json."""
    w = w or Workload()
    w = replace(w, products_per_invocation=products_per_invocation(template, w))
    rows = quotas(template, w)
    binding = sorted((r for r in rows if r["binds"]), key=lambda r: r["allows_products_per_s"])
    rate = binding[0]["allows_products_per_s"] if binding else w.products_per_s
    return {
        "workload": {
            "products": w.products,
            "suppliers": w.suppliers,
            "concurrency": w.concurrency,
            "latency_ms": w.latency_ms,
            "calls_per_product": w.calls_per_product,
            "product_item_bytes": w.product_item_bytes,
            "job_item_worst_bytes": w.job_item_worst_bytes,
        },
        "supplier_bound_products_per_s": round(w.products_per_s, 1),
        "supplier_bound_wall_s": round(w.per_supplier / w.supplier_products_per_s),
        "products_per_s": round(rate, 1),
        "wall_s": round(w.products / rate),
        "hot_keys": [k.as_dict() for k in key_loads(template, w)],
        "table_wcu_per_s": {t: round(v) for t, v in table_wcu(template, w).items()},
        "quotas": rows,
        "first_binding_quota": (
            {k: binding[0][k] for k in ("quota", "limit", "demand", "allows_products_per_s", "raise")}
            if binding
            else {"quota": "none: the suppliers' own limits bind"}
        ),
        "binding_order": [row["quota"] for row in binding],
    }


def wall_s(w: Workload) -> float:
    """The supplier-bound wall time of ``w``: every supplier at its own limit, side by side."""
    return w.per_supplier / w.supplier_products_per_s
