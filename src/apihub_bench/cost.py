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
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
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
    # Execution environments started per function: the most invocations in flight at once (Lambda
    # keeps an environment for the next invocation, so an import starts as many as it ran together).
    lambda_inits: Counter[str] = field(default_factory=Counter)
    log_bytes: Counter[str] = field(default_factory=Counter)  # bytes the functions logged, by function
    metrics: frozenset[str] = frozenset()  # custom metrics (name and dimensions) the run emitted

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.lambda_requests - other.lambda_requests,
            self.lambda_ms - other.lambda_ms,
            self.wru - other.wru,
            self.rru - other.rru,
            self.requests - other.requests,
            self.wru_by_kind - other.wru_by_kind,
            self.lambda_inits - other.lambda_inits,
            self.log_bytes - other.log_bytes,
            self.metrics,
        )

    def copy(self) -> Usage:
        return Usage(
            Counter(self.lambda_requests),
            Counter(self.lambda_ms),
            self.wru,
            self.rru,
            Counter(self.requests),
            Counter(self.wru_by_kind),
            Counter(self.lambda_inits),
            Counter(self.log_bytes),
            self.metrics,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "lambda_requests": dict(self.lambda_requests),
            "lambda_ms": dict(self.lambda_ms),
            "ddb_wru": round(self.wru, 1),
            "ddb_rru": round(self.rru, 1),
            "ddb_wru_by_kind": dict(sorted(self.wru_by_kind.items())),
            "requests": dict(self.requests),
            "lambda_inits": dict(self.lambda_inits),
            "log_bytes": dict(self.log_bytes),
            "custom_metrics": sorted(self.metrics),
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

    def __init__(
        self,
        memory_mb: dict[str, int],
        key_names: dict[str, list[str]] | None = None,
        indexes: dict[str, list[IndexDef]] | None = None,
    ) -> None:
        self.memory_mb = memory_mb  # function logical id -> MemorySize
        self.key_names = key_names or {}  # table -> its key attribute names (for the size cache)
        self.indexes = indexes or {}  # table -> its global secondary indexes (``table_indexes``)
        self._usage = Usage()
        self._sizes: dict[tuple[str, str], int] = {}
        self._names: dict[tuple[str, str], frozenset[str]] = {}  # attribute names an item last had
        self._in_flight: Counter[str] = Counter()
        self._environments_from: Counter[str] = Counter()  # ``lambda_inits`` when the last ``cold_start`` began
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
            with meter._lock:
                meter._in_flight[logical_id] += 1
                inits = meter._usage.lambda_inits
                environments = meter._environments_from[logical_id] + meter._in_flight[logical_id]
                inits[logical_id] = max(inits[logical_id], environments)
            started = time.perf_counter()
            try:
                return original(logical_id, event)
            finally:
                ms = math.ceil((time.perf_counter() - started) * 1000)
                with meter._lock:
                    meter._in_flight[logical_id] -= 1
                    meter._usage.lambda_requests[logical_id] += 1
                    meter._usage.lambda_ms[logical_id] += ms

        functions.invoke = invoke
        self._undo.append(lambda: setattr(functions, "invoke", original))

    def cold_start(self) -> None:
        """From now on, count environments as if none were running (a fresh deployment, or the
        earlier runs' environments reclaimed after idling): the next phase pays every INIT it needs."""
        with self._lock:
            self._environments_from = Counter(self._usage.lambda_inits)

    def watch_logs(self, level: str) -> Callable[[], None]:
        """Count the bytes the functions log at ``level`` (the template's ``LogLevel``), as
        Powertools writes them to CloudWatch (its JSON, one line each), and the EMF lines of the
        custom metrics; the terminal keeps showing warnings only. Returns what stops it."""
        import logging
        import sys

        service = logging.getLogger("apihub")  # Powertools' logger of service "apihub"
        shown = [(h, h.level) for h in service.handlers]
        formatter = next((h.formatter for h in service.handlers if h.formatter), None)
        previous = service.level
        counter = _LogBytes(self, formatter)
        for handler, _ in shown:
            handler.setLevel(max(handler.level, logging.WARNING))
        service.addHandler(counter)
        service.setLevel(level)
        stdout = sys.stdout
        sys.stdout = _CountingStream(self, stdout)  # EMF lines are print()ed
        # The local stack switches EMF off (it buries the terminal); counted here, not shown.
        was_disabled = os.environ.get("POWERTOOLS_METRICS_DISABLED")
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"

        def undo() -> None:
            if was_disabled is None:
                os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
            else:
                os.environ["POWERTOOLS_METRICS_DISABLED"] = was_disabled
            sys.stdout = stdout
            service.removeHandler(counter)
            service.setLevel(previous)
            for handler, was in shown:
                handler.setLevel(was)

        self._undo.append(undo)
        return undo

    def _logged(self, text: str) -> None:
        function = _current_function()
        if function is None or function in NOT_THE_IMPORT:
            return
        with self._lock:
            self._usage.log_bytes[function] += len(text.encode()) + 1
            if text.startswith('{"_aws"'):
                self._usage.metrics = self._usage.metrics | emf_metrics(text)

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
            elif service == "events":
                self._usage.requests["events"] += _eventbridge_events(model.name, params)
            elif service in ("kms", "secretsmanager"):
                self._usage.requests[service] += 1

    def _remember(self, table: str, item: dict[str, Any], size: int | None = None) -> int:
        names = self.key_names.get(table)
        size = item_size(item) if size is None else size
        if names and all(n in item for n in names):
            key = _key_of(table, {n: item[n] for n in names})
            self._sizes[key] = size
            self._names[key] = frozenset(item)
        return size

    def _index_deletes(self, table: str, key: dict[str, Any]) -> None:
        """A delete removes the item's copy from every index it was in (as far as this run saw it)."""
        self._index_copies(table, None, key, set(self._names.get(_key_of(table, key), ())))

    def _index_copies(self, table: str, item: dict[str, Any] | None, key: dict[str, Any], changed: set[str]) -> None:
        """The index writes of one item write: every index whose key attributes the item carries
        and whose projected attributes the write changed (all of them for a put), at the size of
        what the index holds (keys only, the included attributes, or the whole item)."""
        names = set(item) if item is not None else set(self._names.get(_key_of(table, key), ())) | changed
        for index in self.indexes.get(table, []):
            if not set(index.keys) <= names:
                continue
            projected = set(index.keys) | set(self.key_names.get(table, ()))
            if index.projection == "INCLUDE":
                projected |= set(index.include)
            if index.projection != "ALL" and not (changed & projected):
                continue
            if item is not None and index.projection != "ALL":
                size = sum(len(n.encode()) + value_size(item[n]) for n in projected if n in item)
            elif index.projection == "ALL":
                size = item_size(item) if item is not None else self._known(table, key)
            else:  # an update: its keys, and the included attributes at most the item's size
                size = min(self._known(table, key), 100 if index.projection == "KEYS_ONLY" else KB)
            units = write_units(size)
            self._usage.wru += units
            self._usage.wru_by_kind[f"{table}.{index.name}"] += units

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
            self._index_copies(p["TableName"], p["Item"], p["Item"], set(p["Item"]))
        elif op == "UpdateItem":
            before = self._known(p["TableName"], p["Key"])
            after = self._remember(p["TableName"], r["Attributes"]) if r.get("Attributes") else before
            self._write(p["TableName"], p["Key"], write_units(max(before, after)))
            self._index_copies(p["TableName"], None, p["Key"], updated_names(p))
        elif op == "DeleteItem":
            self._write(p["TableName"], p["Key"], write_units(self._known(p["TableName"], p["Key"])))
            self._index_deletes(p["TableName"], p["Key"])
        elif op == "BatchWriteItem":
            for table, requests in p["RequestItems"].items():
                for req in requests:
                    if "PutRequest" in req:
                        item = req["PutRequest"]["Item"]
                        self._write(table, item, write_units(self._remember(table, item)))
                        self._index_copies(table, item, item, set(item))
                    else:
                        key = req["DeleteRequest"]["Key"]
                        self._write(table, key, write_units(self._known(table, key)))
                        self._index_deletes(table, key)
        elif op == "TransactWriteItems":
            for entry in p["TransactItems"]:
                (kind, body), *_ = entry.items()
                table = body["TableName"]
                if kind == "Put":
                    size = self._remember(table, body["Item"])
                    key = body["Item"]
                    self._index_copies(table, body["Item"], key, set(body["Item"]))
                else:  # Update, Delete, ConditionCheck: the item as it last was
                    size = self._known(table, body["Key"])
                    key = body["Key"]
                    if kind == "Update":
                        self._index_copies(table, None, key, updated_names(body))
                    elif kind == "Delete":
                        self._index_deletes(table, key)
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


@dataclass(frozen=True)
class IndexDef:
    name: str
    keys: tuple[str, ...]
    projection: str  # KEYS_ONLY, INCLUDE or ALL
    include: tuple[str, ...] = ()


def table_indexes(template: Any, table_names: dict[str, str]) -> dict[str, list[IndexDef]]:
    """Each table's global secondary indexes from template.yaml, by the table's name in this run
    (``table_names``: logical id -> name)."""
    out: dict[str, list[IndexDef]] = {}
    for logical, res in template.of_type("AWS::DynamoDB::Table").items():
        name = table_names.get(logical)
        if name is None:
            continue
        out[name] = [
            IndexDef(
                gsi["IndexName"],
                tuple(k["AttributeName"] for k in gsi["KeySchema"]),
                gsi["Projection"]["ProjectionType"],
                tuple(gsi["Projection"].get("NonKeyAttributes", ())),
            )
            for gsi in res["Properties"].get("GlobalSecondaryIndexes") or []
        ]
    return out


def updated_names(params: dict[str, Any]) -> set[str]:
    """The top-level attribute names an ``UpdateExpression`` sets, adds, removes or deletes
    (``#n`` placeholders resolved): what decides whether an index copy is written."""
    import re

    aliases = params.get("ExpressionAttributeNames") or {}
    names: set[str] = set()
    for clause in re.split(r"\b(?=(?:SET|ADD|REMOVE|DELETE)\b)", params.get("UpdateExpression") or "", flags=re.I):
        keyword, _, body = clause.strip().partition(" ")
        depth, actions, current = 0, [], ""
        for ch in body:  # split on the commas outside function calls
            depth += ch == "("
            depth -= ch == ")"
            if ch == "," and depth == 0:
                actions.append(current)
                current = ""
            else:
                current += ch
        actions.append(current)
        for action in actions:
            target = action.split("=", 1)[0] if keyword.upper() == "SET" else action
            path = target.strip().split()[0] if target.strip() else ""
            top = re.split(r"[.\[]", path, maxsplit=1)[0]
            if top:
                names.add(str(aliases.get(top, top)))
    return names


def emf_metrics(line: str) -> frozenset[str]:
    """``name{dimension=value,...}`` of each metric an EMF line carries (one custom metric each)."""
    try:
        doc = json.loads(line)
    except ValueError:
        return frozenset()
    out = set()
    for directive in doc.get("_aws", {}).get("CloudWatchMetrics", []):
        for dimensions in directive.get("Dimensions", [[]]):
            dims = ",".join(f"{d}={doc.get(d)}" for d in dimensions)
            for metric in directive.get("Metrics", []):
                out.add(f"{directive.get('Namespace')}/{metric['Name']}{{{dims}}}")
    return frozenset(out)


def _eventbridge_events(op: str, params: dict[str, Any]) -> int:
    """Billed EventBridge events: each entry of a PutEvents, per 64 KB chunk of it."""
    if op != "PutEvents":
        return 0
    return sum(max(1, math.ceil(len(json.dumps(e).encode()) / SQS_CHUNK)) for e in params.get("Entries", []))


class _LogBytes(logging.Handler):
    """Counts each record the functions log, formatted as Powertools formats it."""

    def __init__(self, meter: UsageMeter, formatter: logging.Formatter | None) -> None:
        super().__init__()
        if formatter is not None:
            self.setFormatter(formatter)
        self.meter = meter

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.meter._logged(self.format(record))
        except Exception:  # a count must never break the function that logs
            self.handleError(record)


class _CountingStream:
    """``sys.stdout`` that counts what the functions print (Powertools' EMF metric lines)."""

    def __init__(self, meter: UsageMeter, inner: Any) -> None:
        self.meter, self.inner = meter, inner

    def write(self, text: str) -> int:
        shown = []
        for line in text.splitlines(keepends=True):
            if line.strip():
                self.meter._logged(line.rstrip("\n"))
            if not line.startswith('{"_aws"'):
                shown.append(line)
        self.inner.write("".join(shown))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


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


# What Lambda itself writes to a function's log group per invocation: the START, END and REPORT
# lines (REPORT with its durations, memory, and the INIT and X-Ray fields when present).
PLATFORM_LOG_BYTES_PER_INVOCATION = 350
GB = 1024**3


def gb_s_total(usage: Usage, memory_mb: dict[str, int], init_ms: dict[str, float]) -> tuple[float, float]:
    """(invoke GB-s, INIT GB-s): each environment started pays its function's INIT once, billed
    like the invocation since August 2025."""
    invoke = sum(ms / 1000 * memory_mb.get(fn, 512) / 1024 for fn, ms in usage.lambda_ms.items())
    init = sum(n * init_ms.get(fn, 0.0) / 1000 * memory_mb.get(fn, 512) / 1024 for fn, n in usage.lambda_inits.items())
    return invoke, init


def bill(
    usage: Usage, memory_mb: dict[str, int], prices: dict[str, Any], init_ms: dict[str, float], *, traced: bool = True
) -> dict[str, float]:
    """Dollars per service for ``usage``, every billed item (``dollars`` plus INIT, X-Ray traces,
    CloudWatch Logs ingestion); ``lambda`` at the template's x86_64, ``lambda_arm64`` the same
    invocations on arm64 (not part of the total: an alternative)."""
    p = prices["prices"]
    out = dollars(usage, memory_mb, prices)
    invoke, init = gb_s_total(usage, memory_mb, init_ms)
    requests = sum(usage.lambda_requests.values())
    out["lambda"] = requests * p["lambda_request"] + (invoke + init) * p["lambda_gb_s"]
    out["xray"] = requests * p["xray_trace"] if traced else 0.0
    logged = sum(usage.log_bytes.values()) + requests * PLATFORM_LOG_BYTES_PER_INVOCATION
    out["logs"] = logged / GB * p["logs_ingested_gb"]
    return out


def lambda_arm64(usage: Usage, memory_mb: dict[str, int], prices: dict[str, Any], init_ms: dict[str, float]) -> float:
    p = prices["prices"]
    invoke, init = gb_s_total(usage, memory_mb, init_ms)
    return sum(usage.lambda_requests.values()) * p["lambda_request"] + (invoke + init) * p["lambda_gb_s_arm64"]


def fixed_per_month(template: Any, usage: Usage, prices: dict[str, Any]) -> dict[str, float]:
    """What the stack costs a month whatever it imports: KMS key-months, secrets, custom metrics."""
    p = prices["prices"]
    keys = len(template.of_type("AWS::KMS::Key"))
    secrets = len(template.of_type("AWS::SecretsManager::Secret"))
    return {
        "kms_keys": keys,
        "kms_usd": round(keys * p["kms_key_month"], 2),
        "secrets": secrets,
        "secretsmanager_usd": round(secrets * p["secretsmanager_secret_month"], 2),
        "custom_metrics": len(usage.metrics),
        "metrics_usd": round(len(usage.metrics) * p["cloudwatch_metric_month"], 2),
    }


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


def template_key_names(template: Any, table_names: dict[str, str]) -> dict[str, list[str]]:
    """Every table's key attribute names from template.yaml, by the table's name in this run."""
    return {
        table_names[logical]: [k["AttributeName"] for k in res["Properties"]["KeySchema"]]
        for logical, res in template.of_type("AWS::DynamoDB::Table").items()
        if logical in table_names
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
