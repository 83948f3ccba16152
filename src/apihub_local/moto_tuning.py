"""A performance fix for moto's DynamoDB ``TransactWriteItems`` (dev/test only).

moto snapshots a table for rollback by deep-copying it once *per item* of the transaction, so a
50-item transaction on a table of N items costs 50 full copies: imports slow down quadratically as
the tables fill (a 400-product test spent 43 of 61 s in ``deepcopy``). We keep moto's semantics and
make the snapshot once per table per transaction. Written by hand because moto offers no switch.
"""

from __future__ import annotations

import copy as _copy
import threading
import types
from typing import Any

_patched = False
_local = threading.local()


def speed_up_transactions() -> None:
    global _patched
    if _patched:
        return
    from moto.dynamodb import models as ddb_models
    from moto.dynamodb.models.table import Table

    real_deepcopy = _copy.deepcopy

    def deepcopy_once(obj: Any, memo: dict[int, Any] | None = None) -> Any:
        cache = getattr(_local, "tables", None)
        if cache is not None and isinstance(obj, Table):
            if id(obj) not in cache:
                cache[id(obj)] = real_deepcopy(obj, memo)
            return cache[id(obj)]
        return real_deepcopy(obj, memo)

    # moto's module calls ``copy.deepcopy``: give it a ``copy`` whose deepcopy snapshots each table
    # once while a transaction runs, and behaves exactly like the real one otherwise.
    ddb_models.copy = types.SimpleNamespace(deepcopy=deepcopy_once, copy=_copy.copy)  # type: ignore[attr-defined]
    original = ddb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _local.tables = {}
        try:
            return original(self, transact_items)
        finally:
            _local.tables = None

    ddb_models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _patched = True
