"""Performance fixes for moto (dev/test only): DynamoDB ``TransactWriteItems`` first, then SQS sends and
receives and the server's backend lookup (each function says what it fixes).

moto snapshots a table for rollback by deep-copying it once *per item* of the transaction, so a
50-item transaction on a table of N items costs 50 full copies: imports slow down quadratically as
the tables fill (a 400-product test spent 43 of 61 s in ``deepcopy``). Even one copy per table per
transaction grows with the table: on the moto server of ``make bench`` (thousands of products and
outcome items) each 50-product hydrate commit spent 1-2 s copying, holding moto's lock, so every
other worker waited. We keep moto's semantics (all or nothing) but snapshot only the items the
transaction names, before it runs, and put exactly those back when it fails. Written by hand
because moto offers no switch.
"""

from __future__ import annotations

import copy as _copy
import re
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

    def deepcopy_skipping_tables(obj: Any, memo: dict[int, Any] | None = None) -> Any:
        if getattr(_local, "in_transaction", False) and isinstance(obj, Table):
            return obj  # moto's whole-table "backup": our item snapshots below replace it
        return real_deepcopy(obj, memo)

    # moto's module calls ``copy.deepcopy``: give it a ``copy`` whose deepcopy skips tables while a
    # transaction runs, and behaves exactly like the real one otherwise.
    ddb_models.copy = types.SimpleNamespace(deepcopy=deepcopy_skipping_tables, copy=_copy.copy)  # type: ignore[attr-defined,assignment]  # a stand-in for the copy module moto imports
    original = ddb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots = _snapshot_items(self, transact_items, real_deepcopy)
        streams = _stream_lengths(snapshots)
        _local.in_transaction = True
        try:
            return original(self, transact_items)
        except BaseException:
            # Undo whatever moto applied before it gave up, newest first (so the state from before
            # the transaction wins if an item is named twice).
            for table, hash_key, range_key, before in reversed(snapshots):
                _restore(table, hash_key, range_key, before)
            # And the stream records of those writes: a cancelled transaction is in no stream.
            for shard, length in streams:
                del shard.items[length:]
            raise
        finally:
            _local.in_transaction = False

    ddb_models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]  # a deliberate monkeypatch
    _patched = True


def _snapshot_items(backend: Any, transact_items: list[dict[str, Any]], deepcopy: Any) -> list[tuple[Any, ...]]:
    """(table, hash key, range key, deep copy of the item or None) for every item named."""
    snapshots = []
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            if "Item" in op:
                keys = {name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name}
            else:
                keys = op["Key"]
            hash_key, range_key = backend.get_keys_value(table, keys)
            current = table.get_item(hash_key, range_key)
        except Exception:  # noqa: S112 - malformed: moto rejects it before changing anything
            continue
        snapshots.append((table, hash_key, range_key, deepcopy(current) if current is not None else None))
    return snapshots


def _stream_lengths(snapshots: list[tuple[Any, ...]]) -> list[tuple[Any, int]]:
    """(stream shard, its record count) of every table named that has a stream (requests are
    serialised, so no other write adds records while the transaction runs)."""
    shards = {id(t.stream_shard): t.stream_shard for t, *_ in snapshots if getattr(t, "stream_shard", None)}
    return [(shard, len(shard.items)) for shard in shards.values()]


def _restore(table: Any, hash_key: Any, range_key: Any, before: Any) -> None:
    if range_key is not None:
        if before is None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items[hash_key][range_key] = before
    elif before is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = before


_sqs_patched = False


def speed_up_sqs_sends() -> None:
    """moto's ``SendMessage`` reads ``queue.attributes`` for one flag (ContentBasedDeduplication),
    and that property counts every message of the queue (visible, in flight, delayed) with a clock
    read per message: sending N messages costs O(N^2). A 100,000-product discovery (10,000 hydrate
    messages) spent minutes there. While a message is sent, the property answers just that flag."""
    global _sqs_patched
    if _sqs_patched:
        return
    from moto.sqs import models as sqs_models

    full = sqs_models.Queue.attributes

    def attributes(self: Any) -> dict[str, Any]:
        if getattr(_local, "sending", False):
            if not self.fifo_queue:
                return {}
            return {"ContentBasedDeduplication": str(bool(self.content_based_deduplication)).lower()}
        return full.fget(self)  # type: ignore[attr-defined]  # read on the class, the property object; mypy sees its getter

    sqs_models.Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]  # a deliberate monkeypatch
    original = sqs_models.SQSBackend.send_message

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        _local.sending = True
        try:
            return original(self, *args, **kwargs)
        finally:
            _local.sending = False

    sqs_models.SQSBackend.send_message = send_message  # type: ignore[method-assign]  # a deliberate monkeypatch
    _sqs_patched = True


_receive_patched = False


def speed_up_sqs_receives() -> None:
    """moto's ``ReceiveMessage`` checks each candidate message's retention period through
    ``get_queue_attributes``, which builds ``queue.attributes``, which counts every message of the
    queue: receiving from a queue of N messages costs O(N^2). At C=10 in ``make bench`` this was the
    moto server's largest single cost. The check now reads the queue's retention period directly
    (same rule: a message older than the period is dropped)."""
    global _receive_patched
    if _receive_patched:
        return
    from moto.core.utils import unix_time
    from moto.sqs import models as sqs_models

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_period + message.sent_timestamp / 1000 > unix_time())

    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]  # a deliberate monkeypatch
    _receive_patched = True


def cache_moto_module_list() -> None:
    """The moto server finds the backend for every request's host by listing moto's package
    directory (``os.listdir`` plus an ``isdir`` per entry, about 150 of them). The list cannot
    change while the server runs, so it is read once."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "_apihub_cached", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    list_of_moto_modules._apihub_cached = True  # type: ignore[attr-defined]  # marks moto's list as cached
    backends.list_of_moto_modules = list_of_moto_modules


_index_patched = False
_READ_ONLY = re.compile(
    r"^(get_|describe_|list_|query$|scan$|batch_get_item$|transact_get_items$|check_unicity$|iter_|default_)"
)


def speed_up_index_queries() -> None:
    """moto answers a Query on a global secondary index by walking and sorting every item of the
    table, so listing 20 jobs by status costs as much as the jobs table is big (outcome items, ref
    chunks and all): at 20,000 jobs it was half of the moto server's time in ``make bench``'s list
    figure, which exists to show that a listing does not grow with the table (as in DynamoDB).

    Here moto's own query runs on just the items whose index hash key matches: a per-table map from
    hash key values to items, rebuilt when anything was written since (every DynamoDB backend
    method that is not a read bumps a generation counter, before and after it runs), each list
    sorted once in moto's own order. moto's filtering and paging are unchanged; only the walk and
    the per-query sort go.

    A Query on the table's own key walks and sorts the whole table too; it gets just its partition
    (moto holds the items by hash key: no cache needed)."""
    global _index_patched
    if _index_patched:
        return
    from moto.dynamodb import models as ddb_models
    from moto.dynamodb.models.table import Table

    backend_cls = ddb_models.DynamoDBBackend
    state = {"generation": 0}

    def bumping(method: Any) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            state["generation"] += 1
            try:
                return method(self, *args, **kwargs)
            finally:
                state["generation"] += 1

        wrapper.__wrapped__ = method  # type: ignore[attr-defined]  # as functools.wraps sets it, and nothing else of it
        return wrapper

    for name, member in list(vars(backend_cls).items()):
        if callable(member) and not name.startswith("_") and not _READ_ONLY.match(name):
            setattr(backend_cls, name, bumping(member))

    all_items = Table.all_items
    query = Table.query

    def candidates(table: Any, index_name: str, conditions: list[tuple[str, Any]]) -> list[Any] | None:
        index = next((i for i in table.all_indexes() if i.name == index_name), None)
        if index is None:
            return None  # moto's own query raises the right error
        attrs = tuple(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
        ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
        wanted = dict(conditions)
        if set(wanted) != set(attrs):
            return None
        cache = table.__dict__.setdefault("_apihub_index_cache", {})
        generation, by_key = cache.get(index_name, (None, None))
        if generation != state["generation"] or by_key is None:
            generation = state["generation"]
            by_key = {}
            for item in all_items(table):
                values = tuple(item.attrs.get(a) for a in attrs)
                # An index holds only the items that carry all its key attributes (moto checks the
                # same again); keeping just those lets each list be sorted once, in moto's order,
                # so moto's own sort per query meets sorted input.
                if all(v is not None for v in values) and all(item.attrs.get(r) is not None for r in ranges):
                    by_key.setdefault(values, []).append(item)
            order = table._generate_attr_to_sort_by([*attrs, table.hash_key_attr], [*ranges, table.range_key_attr])
            for items in by_key.values():
                items.sort(key=lambda x: tuple(x.attrs[k] for k in order if k is not None and k in x.attrs))
            cache[index_name] = (generation, by_key)
        return list(by_key.get(tuple(wanted[a] for a in attrs), []))

    def items_for_this_query(self: Any) -> list[Any]:
        override = getattr(_local, "index_candidates", None)
        if override is not None and override[0] is self:
            return override[1]
        return all_items(self)

    def patched_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
        if not index_name:
            # The table's own key: moto keeps the items by hash key already, then walks (and sorts)
            # every item of the table to find one partition's. Hand it that partition (moto still
            # filters it by hash key and sorts it by range key itself).
            hash_key = kwargs.get("hash_key", args[0] if args else None)
            if hash_key is None or not self.range_key_attr:
                return query(self, *args, **kwargs)
            _local.index_candidates = (self, list(self.items.get(hash_key, {}).values()))
            try:
                return query(self, *args, **kwargs)
            finally:
                _local.index_candidates = None
        conditions = kwargs.get("hash_key_conditions")
        found = candidates(self, index_name, conditions) if conditions else None
        if found is None:
            return query(self, *args, **kwargs)
        # A first page with no range condition is the first ``limit`` candidates in the query's
        # direction: hand moto one more than that (so that it still sets LastEvaluatedKey when more
        # remain) instead of all of them. Anything else (a range condition, a later page, legacy
        # filters) gets the full list.
        if len(args) == 10 and set(kwargs) <= {"hash_key_conditions", "range_key_conditions"}:
            range_comparison, limit, start, forward = args[1], args[3], args[4], args[5]
            if not range_comparison and not kwargs.get("range_key_conditions") and not start:
                if isinstance(limit, int) and 0 < limit < len(found):
                    found = found[: limit + 1] if forward is not False else found[-(limit + 1) :]
        _local.index_candidates = (self, found)
        try:
            return query(self, *args, **kwargs)
        finally:
            _local.index_candidates = None

    sorted_items = Table.sorted_items

    def sorted_unless_presorted(self: Any, hash_attrs: Any, range_attrs: Any, items: list[Any]) -> list[Any]:
        override = getattr(_local, "index_candidates", None)
        if override is not None and override[0] is self:
            return items  # moto filtered our pre-sorted candidates, keeping their order
        return sorted_items(self, hash_attrs, range_attrs, items)

    Table.sorted_items = sorted_unless_presorted  # type: ignore[method-assign,assignment]  # a deliberate monkeypatch
    Table.all_items = items_for_this_query  # type: ignore[method-assign]  # a deliberate monkeypatch
    Table.query = patched_query  # type: ignore[method-assign]  # a deliberate monkeypatch
    _index_patched = True


def speed_up_backends() -> None:
    """Every fix above to moto's DynamoDB and SQS backends (not the server's module list): what the
    moto server of the local stack and the timing simulation both run on."""
    speed_up_transactions()
    speed_up_sqs_sends()
    speed_up_sqs_receives()
    speed_up_index_queries()
