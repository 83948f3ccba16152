"""DynamoDB stream event source mappings, local edition: read a table's stream on moto (one shard,
in order), invoke the function with a Lambda DynamoDB-streams event, and move on as Lambda does.

Batch semantics, after Lambda's for streams (docs/local-stack.md, "Stream triggers"):

- success: the checkpoint moves past the batch;
- ``ReportBatchItemFailures``: the checkpoint moves to the lowest reported sequence number and the
  batch is read again from there (an identifier that is not in the batch fails the whole batch);
  an empty list is a success;
- an error (the function raised): the same batch again; with ``BisectBatchOnFunctionError`` it is
  split in two first, down to the one record at fault;
- after ``MaximumRetryAttempts`` failed attempts of a batch, a description of it (shard, first and
  last sequence numbers: Lambda sends no records) goes to the ``OnFailure`` queue and the records are
  skipped. ``-1`` (Lambda's default) retries until the record expires, here: forever.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apihub_local.events import ACCOUNT
from apihub_local.pollers import PollingThreads
from apihub_local.runtime import Functions
from apihub_local.template import FunctionDef, StreamSource

log = logging.getLogger("apihub.local.streams")


@dataclass
class StreamStats:
    invocations: int = 0
    records: int = 0
    partial_failures: int = 0
    errors: int = 0
    discarded: int = 0  # records handed to the on-failure destination


@dataclass
class StreamMapping:
    functions: Functions
    fn: FunctionDef
    source: StreamSource
    stream_arn: str
    streams: Any  # boto3 dynamodbstreams client
    sqs: Any
    on_failure_url: str | None = None
    position: int | None = None  # the next sequence number to read; None: the shard's start
    attempts: int = 0  # failed attempts of the batch at ``position``
    batch_limit: int | None = None  # set by bisection until the batch at ``position`` succeeds
    stats: StreamStats = field(default_factory=StreamStats)
    _shard: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def poll_once(self) -> int:
        """Read one batch and deliver it. Returns how many records were delivered."""
        with self._lock:  # one shard, one batch at a time, in order (as Lambda with ParallelizationFactor 1)
            records = self._read(self.batch_limit or self.source.batch_size)
            if not records:
                return 0
            event = {"Records": [lambda_record(r, self.stream_arn) for r in records]}
            self.stats.invocations += 1
            self.stats.records += len(records)
            try:
                result = self.functions.invoke(self.fn.logical_id, event)
            except Exception:
                log.exception("%s failed on a stream batch of %d", self.fn.logical_id, len(records))
                self.stats.errors += 1
                self._failed(records, error=True)
                return len(records)
            failed_from = self._failed_from(result, records)
            if failed_from is None:
                self._checkpoint(int(records[-1]["dynamodb"]["SequenceNumber"]) + 1)
            else:
                self.stats.partial_failures += 1
                self._failed([r for r in records if int(r["dynamodb"]["SequenceNumber"]) >= failed_from], error=False)
            return len(records)

    def _read(self, limit: int) -> list[dict[str, Any]]:
        if self._shard is None:
            shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
            if not shards:
                return []
            self._shard = shards[0]["ShardId"]
        if self.position is None:
            kwargs: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            kwargs = {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": str(self.position)}
        iterator = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=self._shard, **kwargs)
        records: list[dict[str, Any]] = self.streams.get_records(
            ShardIterator=iterator["ShardIterator"], Limit=max(1, min(limit, 1000))
        )["Records"]
        return records

    def _failed_from(self, result: Any, records: list[dict[str, Any]]) -> int | None:
        """The sequence number to retry from (None: the batch succeeded)."""
        if not self.source.report_failures:
            return None
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
        if not failures:
            return None
        known = {r["dynamodb"]["SequenceNumber"] for r in records}
        ids = [f.get("itemIdentifier") for f in failures]
        if any(i not in known for i in ids):  # Lambda: an unknown identifier fails the whole batch
            return int(records[0]["dynamodb"]["SequenceNumber"])
        return min(int(i) for i in ids)

    def _failed(self, records: list[dict[str, Any]], *, error: bool) -> None:
        """A failed attempt of ``records`` (from the batch's failing record on): retry them, split
        after an error when bisection is on, or hand them to the on-failure destination."""
        first = int(records[0]["dynamodb"]["SequenceNumber"])
        if self.position != first:
            self.attempts = 0
        self.position = first
        self.attempts += 1
        retries = self.source.max_retries
        if retries >= 0 and self.attempts > retries:
            self._discard(records)
            self._checkpoint(int(records[-1]["dynamodb"]["SequenceNumber"]) + 1)
            return
        if error and self.source.bisect_on_error and len(records) > 1:
            self.batch_limit = len(records) // 2
        elif not error:
            self.batch_limit = len(records)

    def _checkpoint(self, next_position: int) -> None:
        self.position = next_position
        self.attempts = 0
        self.batch_limit = None

    def _discard(self, records: list[dict[str, Any]]) -> None:
        self.stats.discarded += len(records)
        log.error(
            "%s: stream batch failed after %d attempts; described on the on-failure destination",
            self.fn.logical_id,
            self.attempts,
        )
        if self.on_failure_url is None:
            return
        info = {
            "shardId": self._shard,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "batchSize": len(records),
            "streamArn": self.stream_arn,
        }
        body = {
            "requestContext": {
                "functionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{self.fn.logical_id}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self.attempts,
            },
            "version": "1.0",
            "timestamp": datetime.now().astimezone().isoformat(),
            "DDBStreamBatchInfo": info,
        }
        self.sqs.send_message(QueueUrl=self.on_failure_url, MessageBody=json.dumps(body))


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A stream record as Lambda's event holds it: JSON (binary base64, times in epoch seconds)
    and the stream's ARN (the function routes records by it)."""
    out = _as_json(record)
    out["eventSourceARN"] = stream_arn
    return out


def _as_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_as_json(v) for v in value]
    return value


def build_stream_mappings(functions: Functions, stack: Any, streams: Any, sqs: Any) -> list[StreamMapping]:
    """One mapping per ``Type: DynamoDB`` event of the template whose table was created with a stream."""
    mappings = []
    for fn in functions.defs.values():
        for source in fn.streams:
            arn = stack.attrs.get((source.table, "StreamArn"))
            if arn is None:
                raise RuntimeError(f"{fn.logical_id}: {source.table} has no StreamSpecification in the template")
            mappings.append(
                StreamMapping(
                    functions=functions,
                    fn=fn,
                    source=source,
                    stream_arn=arn,
                    streams=streams,
                    sqs=sqs,
                    on_failure_url=stack.queue_urls.get(source.on_failure) if source.on_failure else None,
                )
            )
    return mappings


def drain_streams(mappings: list[StreamMapping], max_rounds: int = 1000) -> int:
    """Deliver every stream's records until none is left (tests: in-process, serial)."""
    total = 0
    for _ in range(max_rounds):
        delivered = sum(m.poll_once() for m in mappings)
        total += delivered
        if delivered == 0:
            return total
    raise RuntimeError(f"streams not drained after {max_rounds} rounds")


class StreamPollers(PollingThreads):
    """One thread per stream mapping (a shard is read in order by one poller, as in Lambda)."""

    def __init__(self, mappings: list[StreamMapping], idle_s: float = 0.2) -> None:
        super().__init__(idle_s=idle_s)
        self.mappings = mappings

    def start(self) -> None:
        for mapping in self.mappings:
            self.spawn(f"{mapping.fn.logical_id}-stream", mapping.poll_once)
            log.info(
                "stream mapping %s -> %s: batch size %d, report batch item failures %s, bisect %s, retries %d",
                mapping.source.table,
                mapping.fn.logical_id,
                mapping.source.batch_size,
                mapping.source.report_failures,
                mapping.source.bisect_on_error,
                mapping.source.max_retries,
            )

    def stop(self, timeout_s: float = 10.0) -> None:
        self.stop_threads(timeout_s)
