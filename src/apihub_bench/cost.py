"""What an import costs in AWS, from what the run actually did (issue 16, "Cost per import").

``UsageMeter`` records, while installed, every Lambda invocation of the local stack (function and
handler duration) and every AWS request the handlers make, with the units AWS bills:

* Lambda: one request per invocation; GB-s = duration (rounded up to 1 ms) x the function's
  ``MemorySize`` from template.yaml.
* DynamoDB on-demand: request units computed from item sizes, rounded as DynamoDB rounds them
  (moto's ``ConsumedCapacity`` is a constant, so it is not used): a write is 1 WRU per 1 KB of the
  item (the larger of before and after for an update), a strongly consistent read 1 RRU per 4 KB,
  an eventually consistent one half that, a Query the sum of the items it read rounded once, and
  anything inside a transaction twice. Item sizes follow DynamoDB's rule (attribute names plus
  values); an item whose size the run never saw (a key-only update, a projected read) counts at
  the size it last had in this run, else 1 KB.
* SQS: one request per 64 KB chunk of its payload (SendMessage/SendMessageBatch), one per other
  call (receives and deletes included: in AWS the event source mapping's polls are billed too).
* KMS, S3, Secrets Manager, EventBridge: one request each, priced by kind.

``dollars`` prices a usage with ``bench/prices.json``.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session

from apihub_local.botocore_hooks import on_every_session

ROOT = Path(__file__).resolve().parents[2]
PRICES = ROOT / "bench" / "prices.json"

KB = 1024
SQS_CHUNK = 64 * KB
TRANSACT_OPS = ("TransactWriteItems", "TransactGetItems")


# ------------------------------------------------------------------ DynamoDB item sizes
def value_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value in wire form (``{"S": ...}``, ``{"N": ...}``...)."""
    (kind, v), *_ = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = len(str(v).lstrip("-").replace(".", "").lstrip("0")) or 1
        return 1 + math.ceil(digits / 2)
    if kind == "B":
        return len(v) if isinstance(v, (bytes, bytearray)) else len(str(v)) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: x}) for x in v)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(x) for k, x in v.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of an item in wire form: each attribute's name plus its value."""
    return sum(len(name.encode()) + value_size(v) for name, v in (item or {}).items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / (4 * KB)))
    return float(units) if consistent else units / 2


@dataclass
class Usage:
    """Billed units of one phase of the run (``UsageMeter.snapshot() - before``)."""

    lambda_requests: Counter[str] = field(default_factory=Counter)  # by function
    lambda_ms: Counter[str] = field(default_factory=Counter)  # billed ms, by function
    wru: float = 0.0
    rru: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)  # "sqs", "kms", "s3_put", "s3_get", ...
    wru_by_kind: Counter[str] = field(default_factory=Counter)  # "<table>:<item kind>" (``item_kind``)

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.lambda_requests - other.lambda_requests,
            self.lambda_ms - other.lambda_ms,
            self.wru - other.wru,
            self.rru - other.rru,
            self.requests - other.requests,
            self.wru_by_kind - other.wru_by_kind,
        )

    def copy(self) -> Usage:
        return Usage(
            Counter(self.lambda_requests),
            Counter(self.lambda_ms),
            self.wru,
            self.rru,
            Counter(self.requests),
            Counter(self.wru_by_kind),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "lambda_requests": dict(self.lambda_requests),
            "lambda_ms": dict(self.lambda_ms),
            "ddb_wru": round(self.wru, 1),
            "ddb_rru": round(self.rru, 1),
            "ddb_wru_by_kind": dict(sorted(self.wru_by_kind.items())),
            "requests": dict(self.requests),
        }


def item_kind(table: str, key: dict[str, Any]) -> str:
    """``<table>:<kind>`` for the WRU breakdown: a single-table item's kind is its sort key up to
    the first ``#`` (``META``, ``PRODUCT``, ``OUTCOMES``...); other tables are one kind each."""
    sk = key.get("sk", {}).get("S") if isinstance(key.get("sk"), dict) else None
    return f"{table}:{sk.split('#', 1)[0]}" if sk else table


def _key_of(table: str, key: dict[str, Any]) -> tuple[str, str]:
    return table, json.dumps(key, sort_keys=True, default=str)


# Functions the bench itself calls while an import runs (registering suppliers, polling the job
# through the API, the authorizer of those requests): not part of what an import costs. The one
# API request that starts an import (and its authorizer) is left out with them: 1 per import.
NOT_THE_IMPORT = frozenset({"AuthorizerFunction", "GetSyncJobFunction", "UpsertSupplierFunction"})


def _current_function() -> str | None:
    from apihub_local.runtime import current_function

    return current_function()


class UsageMeter:
    """``meter = UsageMeter(memory_mb).install()``; ``meter.snapshot()`` before and after a phase.
    Requests made while a function of ``NOT_THE_IMPORT`` runs are not counted."""

    def __init__(self, memory_mb: dict[str, int], key_names: dict[str, list[str]] | None = None) -> None:
        self.memory_mb = memory_mb  # function logical id -> MemorySize
        self.key_names = key_names or {}  # table -> its key attribute names (for the size cache)
        self._usage = Usage()
        self._sizes: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._undo: list[Any] = []

    # ------------------------------------------------------------------ install
    def install(self, functions: Any = None) -> UsageMeter:
        self._undo.append(on_every_session(self._hook))
        return self

    def watch_functions(self, functions: Any) -> None:
        """Time every invocation of the local stack's ``Functions`` (its handlers' durations)."""
        original = functions.invoke
        meter = self

        def invoke(logical_id: str, event: dict[str, Any]) -> Any:
            if logical_id in NOT_THE_IMPORT:
                return original(logical_id, event)
            started = time.perf_counter()
            try:
                return original(logical_id, event)
            finally:
                ms = math.ceil((time.perf_counter() - started) * 1000)
                with meter._lock:
                    meter._usage.lambda_requests[logical_id] += 1
                    meter._usage.lambda_ms[logical_id] += ms

        functions.invoke = invoke
        self._undo.append(lambda: setattr(functions, "invoke", original))

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def snapshot(self) -> Usage:
        with self._lock:
            return self._usage.copy()

    def _hook(self, session: botocore.session.Session) -> None:
        session.register("before-parameter-build", self._keep_params, unique_id="apihub-bench-cost-params")
        session.register("after-call", self._on_call, unique_id="apihub-bench-cost-call")

    @staticmethod
    def _keep_params(params: dict[str, Any] | None = None, context: dict[str, Any] | None = None, **_: Any) -> None:
        if context is not None:
            context["apihub_bench_params"] = params

    # ------------------------------------------------------------------ per request
    def _on_call(
        self,
        model: Any = None,
        parsed: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        if model is None or parsed is None:
            return
        service = model.service_model.endpoint_prefix
        params = (context or {}).get("apihub_bench_params") or {}
        if parsed.get("Error"):
            return  # a failed request: DynamoDB still bills a failed condition, but rarely here
        if _current_function() in NOT_THE_IMPORT:
            return
        with self._lock:
            if service == "dynamodb":
                self._dynamodb(model.name, params, parsed)
            elif service == "sqs":
                self._usage.requests["sqs"] += _sqs_requests(model.name, params)
            elif service == "s3":
                self._usage.requests["s3_put" if model.name in ("PutObject", "DeleteObjects") else "s3_get"] += 1
            elif service in ("kms", "secretsmanager", "events"):
                self._usage.requests[service] += 1

    def _remember(self, table: str, item: dict[str, Any], size: int | None = None) -> int:
        names = self.key_names.get(table)
        size = item_size(item) if size is None else size
        if names and all(n in item for n in names):
            self._sizes[_key_of(table, {n: item[n] for n in names})] = size
        return size

    def _known(self, table: str, key: dict[str, Any]) -> int:
        return self._sizes.get(_key_of(table, key), KB)

    def _write(self, table: str, key: dict[str, Any], units: int) -> None:
        self._usage.wru += units
        self._usage.wru_by_kind[item_kind(table, key)] += units

    def _dynamodb(self, op: str, p: dict[str, Any], r: dict[str, Any]) -> None:
        u = self._usage
        consistent = bool(p.get("ConsistentRead"))
        if op == "PutItem":
            self._write(p["TableName"], p["Item"], write_units(max(self._remember(p["TableName"], p["Item"]), 0)))
        elif op == "UpdateItem":
            before = self._known(p["TableName"], p["Key"])
            after = self._remember(p["TableName"], r["Attributes"]) if r.get("Attributes") else before
            self._write(p["TableName"], p["Key"], write_units(max(before, after)))
        elif op == "DeleteItem":
            self._write(p["TableName"], p["Key"], write_units(self._known(p["TableName"], p["Key"])))
        elif op == "BatchWriteItem":
            for table, requests in p["RequestItems"].items():
                for req in requests:
                    if "PutRequest" in req:
                        item = req["PutRequest"]["Item"]
                        self._write(table, item, write_units(self._remember(table, item)))
                    else:
                        key = req["DeleteRequest"]["Key"]
                        self._write(table, key, write_units(self._known(table, key)))
        elif op == "TransactWriteItems":
            for entry in p["TransactItems"]:
                (kind, body), *_ = entry.items()
                table = body["TableName"]
                if kind == "Put":
                    size = self._remember(table, body["Item"])
                    key = body["Item"]
                else:  # Update, Delete, ConditionCheck: the item as it last was
                    size = self._known(table, body["Key"])
                    key = body["Key"]
                self._write(table, key, 2 * write_units(size))
        elif op == "GetItem":
            item = r.get("Item")
            size = self._known(p["TableName"], p["Key"]) if item is not None else 0
            if item is not None and "ProjectionExpression" not in p and "AttributesToGet" not in p:
                size = self._remember(p["TableName"], item)
            u.rru += read_units(size, consistent)
        elif op == "BatchGetItem":
            for table, request in p["RequestItems"].items():
                strong = bool(request.get("ConsistentRead"))
                for key in request["Keys"]:
                    u.rru += read_units(self._known(table, key), strong)
        elif op == "TransactGetItems":
            for entry in p["TransactItems"]:
                body = entry["Get"]
                u.rru += 2 * read_units(self._known(body["TableName"], body["Key"]), True)
        elif op in ("Query", "Scan"):
            items = r.get("Items", [])
            projected = "ProjectionExpression" in p or p.get("Select") == "SPECIFIC_ATTRIBUTES"
            total = 0
            for item in items:
                total += self._known(p["TableName"], item) if projected else self._remember(p["TableName"], item)
            # A keys-only index's items are their keys; an index read rounds like a table read.
            if "IndexName" in p and not projected:
                total = sum(item_size(item) for item in items)
            u.rru += read_units(total, consistent)


def _sqs_requests(op: str, params: dict[str, Any]) -> int:
    """Billed SQS requests: one per 64 KB chunk of what a send carries, one for anything else."""
    if op == "SendMessage":
        return max(1, math.ceil(len(params.get("MessageBody", "").encode()) / SQS_CHUNK))
    if op == "SendMessageBatch":
        size = sum(len(e.get("MessageBody", "").encode()) for e in params.get("Entries", []))
        return max(1, math.ceil(size / SQS_CHUNK))
    return 1


# ------------------------------------------------------------------ prices
def load_prices(path: Path = PRICES) -> dict[str, Any]:
    return json.loads(path.read_text())


def dollars(usage: Usage, memory_mb: dict[str, int], prices: dict[str, Any]) -> dict[str, float]:
    """Dollars per service for ``usage`` (Lambda = requests + GB-s)."""
    p = prices["prices"]
    gb_s = sum(ms / 1000 * memory_mb.get(fn, 512) / 1024 for fn, ms in usage.lambda_ms.items())
    lambda_usd = sum(usage.lambda_requests.values()) * p["lambda_request"] + gb_s * p["lambda_gb_s"]
    out = {
        "lambda": lambda_usd,
        "dynamodb": usage.wru * p["dynamodb_wru"] + usage.rru * p["dynamodb_rru"],
        "sqs": usage.requests["sqs"] * p["sqs_request"],
        "kms": usage.requests["kms"] * p["kms_request"],
        "s3": usage.requests["s3_put"] * p["s3_put"] + usage.requests["s3_get"] * p["s3_get"],
        "secretsmanager": usage.requests["secretsmanager"] * p["secretsmanager_request"],
        "eventbridge": usage.requests["events"] * p["eventbridge_event"],
    }
    return out


def per_100k(usd: dict[str, float], products: int) -> dict[str, float]:
    """Dollars per 100,000 products, per service and in total."""
    scaled = {k: v * 100_000 / products for k, v in usd.items()}
    scaled["total"] = sum(scaled.values())
    return {k: round(v, 4) for k, v in scaled.items()}


def gb_seconds(usage: Usage, memory_mb: dict[str, int]) -> dict[str, float]:
    return {fn: round(ms / 1000 * memory_mb.get(fn, 512) / 1024, 2) for fn, ms in usage.lambda_ms.items()}


def template_memory_mb(template: Any) -> dict[str, int]:
    """Each function's ``MemorySize`` (its own, else the template's Globals)."""
    default = int(template.globals.get("MemorySize", 128))
    return {
        name: int(res.get("Properties", {}).get("MemorySize", default))
        for name, res in template.of_type("AWS::Serverless::Function").items()
    }


def table_key_names() -> dict[str, list[str]]:
    """Each DynamoDB table's key attribute names, by the name this process's settings give it."""
    from apihub.dal.tables import JobItem, ProductItem, SupplierItem, TokenItem
    from apihub.settings import get_settings

    s = get_settings()
    out: dict[str, list[str]] = {}
    for table, model in (
        (s.jobs_table, JobItem),
        (s.suppliers_table, SupplierItem),
        (s.products_table, ProductItem),
        (s.tokens_table, TokenItem),
    ):
        out[table] = [n for n in (model._hash_keyname, model._range_keyname) if n]
    return out
