"""Counts the DynamoDB requests this process makes, with botocore event hooks.

The local stack runs every handler in this process, so one ``before-call.dynamodb`` handler on
every botocore session sees every request the API and pipeline make (PynamoDB opens one session
per thread; boto3 clients share the default session). ``install`` patches ``Session.__init__`` so
that sessions created later get the hook too. ``before-call`` fires once per API call, not per
retry attempt: the figures are requests as the code issues them.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import boto3
import botocore.session

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


class DynamoDBCalls:
    """``calls = DynamoDBCalls().install()``; ``calls.snapshot()`` before and after a phase."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._table_writes: Counter[str] = Counter()  # write requests per table (one per table a request touches)
        self._table_items: Counter[str] = Counter()  # items written per table (a transaction's one by one)
        self._lock = threading.Lock()
        self._original_init: Any = None

    def _on_call(self, model: Any = None, **_: Any) -> None:
        with self._lock:
            self._counts[model.name] += 1

    def _on_params(self, model: Any = None, params: Any = None, **_: Any) -> None:
        # before-parameter-build sees the request's API parameters (before-call sees them serialised)
        tables = written_tables(model.name, params or {})
        if tables:
            items = written_items(model.name, params or {})
            with self._lock:
                self._table_writes.update(tables)
                self._table_items.update(items)

    def _hook(self, session: botocore.session.Session) -> None:
        session.register("before-call.dynamodb", self._on_call, unique_id="apihub-bench-ddb-count")
        session.register("before-parameter-build.dynamodb", self._on_params, unique_id="apihub-bench-ddb-tables")

    def install(self) -> DynamoDBCalls:
        original = botocore.session.Session.__init__
        hook = self._hook

        def init(session: botocore.session.Session, *args: Any, **kwargs: Any) -> None:
            original(session, *args, **kwargs)
            hook(session)

        self._original_init = original
        botocore.session.Session.__init__ = init  # type: ignore[method-assign,assignment]  # a deliberate monkeypatch
        if boto3.DEFAULT_SESSION is not None:  # created before us: hook it too
            hook(boto3.DEFAULT_SESSION._session)
        return self

    def uninstall(self) -> None:
        if self._original_init is not None:
            botocore.session.Session.__init__ = self._original_init  # type: ignore[method-assign]  # undoes the patch
            self._original_init = None

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)

    def table_items(self) -> Counter[str]:
        """Items written per table so far (``written_items``)."""
        with self._lock:
            return Counter(self._table_items)

    def table_writes(self) -> Counter[str]:
        """Write requests per table so far (a transaction or batch counts once for each table it writes)."""
        with self._lock:
            return Counter(self._table_writes)


def written_items(operation: str, params: dict[str, Any]) -> Counter[str]:
    """Items a DynamoDB request writes, per table: a transaction's and a batch's one by one (what
    DynamoDB bills, before a transaction's doubling), a single write's one."""
    if operation not in WRITE_OPERATIONS:
        return Counter()
    if operation == "BatchWriteItem":
        return Counter({table: len(requests) for table, requests in params.get("RequestItems", {}).items()})
    if operation == "TransactWriteItems":
        return Counter(
            action["TableName"]
            for item in params.get("TransactItems", [])
            for kind, action in item.items()
            if kind != "ConditionCheck"
        )
    return Counter({params["TableName"]: 1}) if "TableName" in params else Counter()


def written_tables(operation: str, params: dict[str, Any]) -> set[str]:
    """The tables a DynamoDB request writes (none for a read)."""
    return set(written_items(operation, params))


def writes(counts: Counter[str]) -> int:
    """DynamoDB write requests among ``counts`` (one per request, whatever it holds)."""
    return sum(n for op, n in counts.items() if op in WRITE_OPERATIONS)
