"""Injected AWS faults (dev-only, never in the layer): on a chosen share of DynamoDB and SQS calls,
answer what AWS answers when it is contended or unwell, so tests and ``make run`` can show what the
service does then (issue 12).

Kinds (``KINDS``), each injected only where AWS could answer it:

| kind | calls | what the caller gets |
| --- | --- | --- |
| ``transaction_conflict`` | ``TransactWriteItems`` | 400 ``TransactionCanceledException``, one ``CancellationReasons`` entry per item: one ``TransactionConflict``, the rest ``None`` |
| ``write_conflict`` | ``PutItem``, ``UpdateItem``, ``DeleteItem`` | 400 ``TransactionConflictException`` (a plain write met a transaction) |
| ``throttling`` | DynamoDB data calls | 400 ``ThrottlingException`` |
| ``provisioned_throughput`` | DynamoDB data calls | 400 ``ProvisionedThroughputExceededException`` |
| ``internal_error`` | DynamoDB data calls | 500 ``InternalServerError`` |
| ``sqs_send_error`` | ``SendMessage``, ``SendMessageBatch`` | 500 ``InternalError`` |
| ``sqs_batch_entries`` | ``SendMessageBatch`` | 200, with some entries (each with probability 1/2, at least one) in ``Failed`` (``SenderFault: false``, ``InternalError``) and not sent |

How: handlers on botocore's event system of the clients apihub uses. The error answers come from
``before-send``, which is where an HTTP response would come from: botocore parses the fake response
like a real one (same exception class, code, message, ``CancellationReasons``), then runs its own
retry logic on it, so it retries ``ThrottlingException``, ``ProvisionedThroughputExceededException``
and 500s exactly as it would against AWS (each retry is a new HTTP attempt, which gets its own roll),
and never retries ``TransactionCanceledException`` or ``TransactionConflictException``. Raising a
``ClientError`` from ``before-call`` instead would skip botocore's retries altogether and overstate
the faults. A partly failed ``SendMessageBatch`` is a successful call, so it is made by taking the
chosen entries out of the request (``before-parameter-build``) and adding them to the parsed
answer's ``Failed`` (``after-call``): the other entries are really sent.

The share ``rate`` is rolled per HTTP attempt (``before-send``) and, for ``sqs_batch_entries``, per
call. A ``chooser`` replaces the roll: it is asked on every attempt a chosen kind applies to and
names the kind to inject (or ``None``), so a test can follow a fault schedule of its own (one per
thread, say, drawn by hypothesis) with the same answers. ``counts`` holds the faults injected by kind (for ``sqs_batch_entries``: the entries failed);
``attempts`` the HTTP attempts seen per operation.

Where: :func:`install` hooks apihub's own clients in this process (PynamoDB's connections for every
table model and for transactions, ``apihub.dal.clients``' SQS client), and any extra boto3/botocore
session or client given. The local stack's own machinery (pollers, resource creation) is left alone,
as AWS's would be. Install after the stack's clients exist (``Harness`` makes them);
``reset_process_state`` drops them, and with them the hook.
"""

from __future__ import annotations

import io
import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

KINDS = (
    "transaction_conflict",
    "write_conflict",
    "throttling",
    "provisioned_throughput",
    "internal_error",
    "sqs_send_error",
    "sqs_batch_entries",
)
DYNAMODB_DATA_CALLS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "TransactGetItems",
    }
)
_APPLIES: dict[str, tuple[str, frozenset[str]]] = {
    "transaction_conflict": ("dynamodb", frozenset({"TransactWriteItems"})),
    "write_conflict": ("dynamodb", frozenset({"PutItem", "UpdateItem", "DeleteItem"})),
    "throttling": ("dynamodb", DYNAMODB_DATA_CALLS),
    "provisioned_throughput": ("dynamodb", DYNAMODB_DATA_CALLS),
    "internal_error": ("dynamodb", DYNAMODB_DATA_CALLS),
    "sqs_send_error": ("sqs", frozenset({"SendMessage", "SendMessageBatch"})),
}
# (HTTP status, error code, message), as DynamoDB and SQS word them.
_ERRORS: dict[str, tuple[int, str, str]] = {
    "write_conflict": (400, "TransactionConflictException", "Transaction is ongoing for the item"),
    "throttling": (400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."),
    "provisioned_throughput": (
        400,
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    ),
    "internal_error": (500, "InternalServerError", "Internal server error"),
    "sqs_send_error": (500, "InternalError", "We encountered an internal error. Please try again."),
}
_DYNAMODB_TYPE = "com.amazonaws.dynamodb.v20120810#"
_UNIQUE_ID = "apihub-aws-faults"
_STASH = "apihub_aws_faults_failed_entries"
_NOWHERE = "https://aws-faults.invalid/"

SUMMARY_PREFIX = "AWS faults injected: "

_active: AwsFaults | None = None
_active_lock = threading.Lock()


class _Body(io.BytesIO):
    """The raw body botocore reads an ``AWSResponse`` from."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def aws_json_response(
    request: Any, status: int, payload: dict[str, Any], query_error: str | None = None
) -> AWSResponse:
    """An AWS JSON-protocol answer to ``request``, for a botocore ``before-send`` handler to return
    (this module's faults; the simulation's SQS, ``apihub_sim.sqs``)."""
    body = json.dumps(payload).encode()
    headers = {
        "x-amzn-RequestId": str(uuid.uuid4()),
        "Content-Type": "application/x-amz-json-1.0",
        "Content-Length": str(len(body)),
    }
    if query_error:  # SQS's JSON protocol also names the query-protocol code in this header
        headers["x-amzn-query-error"] = query_error
    return AWSResponse(request.url, status, headers, _Body(body))  # type: ignore[arg-type]  # botocore wraps any mapping in a HeadersDict; its stubs ask for HTTPHeaders


# (service, operation) -> the kind to inject on this attempt, or None.
Chooser = Callable[[str, str], "str | None"]


class AwsFaults:
    """Injects ``kinds`` on ``rate`` (0..1) of the calls they apply to, from a seeded generator.
    ``operations`` narrows them to those operation names (e.g. ``{"TransactWriteItems"}``).
    ``chooser``, when given, decides each attempt instead of the rate (module docstring)."""

    def __init__(
        self,
        rate: float,
        *,
        kinds: Iterable[str] = KINDS,
        seed: int | None = 0,
        operations: Iterable[str] | None = None,
        chooser: Chooser | None = None,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate: must be between 0 and 1 (got {rate})")
        chosen = set(kinds)
        unknown = chosen - set(KINDS)
        if unknown:
            raise ValueError(f"kinds: unknown {sorted(unknown)} (known: {', '.join(KINDS)})")
        self.kinds = tuple(k for k in KINDS if k in chosen)  # a fixed order: the seed decides alone
        self.rate = rate
        self.operations = frozenset(operations) if operations is not None else None
        self.chooser = chooser
        self.counts: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._emitters: list[Any] = []

    def reseed(self, seed: int) -> None:
        """Start the fault choices over from ``seed``: a property-based test reseeds at each step it
        draws, so replaying an example injects the same faults (hypothesis requires it)."""
        with self._lock:
            self._rng = random.Random(seed)

    # ------------------------------------------------------------------ choosing
    def _roll(self, service: str, operation: str) -> str | None:
        """The kind to inject on this attempt, or None."""
        if self.operations is not None and operation not in self.operations:
            return None
        candidates = [
            k for k in self.kinds if k in _APPLIES and _APPLIES[k][0] == service and operation in _APPLIES[k][1]
        ]
        if candidates and self.chooser is not None:
            kind = self.chooser(service, operation)
            if kind is None:
                return None
            if kind not in candidates:
                raise ValueError(f"chooser: {kind!r} is not one of {candidates} (for {service} {operation})")
            with self._lock:
                self.counts[kind] += 1
            return kind
        with self._lock:
            if not candidates or self.rate <= 0 or self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(candidates)
            self.counts[kind] += 1
            return kind

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """One line naming the faults injected by kind (``make run`` prints it when it stops;
        :func:`parse_summary` reads it back, e.g. for the e2e run's figures)."""
        counts = ", ".join(f"{kind} {n}" for kind, n in sorted(self.counts.items()) if n) or "none"
        return SUMMARY_PREFIX + counts

    # ------------------------------------------------------------------ botocore handlers
    def _before_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        _event, service, operation = event_name.split(".", 2)
        with self._lock:
            self.attempts[operation] += 1
        kind = self._roll(service, operation)
        if kind is None:
            return None
        if kind == "transaction_conflict":
            response = self._transaction_conflict(request)
        else:
            status, code, message = _ERRORS[kind]
            if service == "sqs":
                fault = "Receiver" if status >= 500 else "Sender"
                payload = {"__type": f"com.amazonaws.sqs#{code}", "message": message}
                response = aws_json_response(request, status, payload, f"{code};{fault}")
            else:
                response = aws_json_response(request, status, {"__type": _DYNAMODB_TYPE + code, "message": message})
        # botocore calls every ``before-send`` handler and uses the first answer, so moto's in-process
        # stub (``mock_aws``) would still carry the request out after ours: point it nowhere, so the
        # faulted request is never applied, as in AWS. (It is never sent: an answer exists.)
        request.url = _NOWHERE
        return response

    def _transaction_conflict(self, request: Any) -> AWSResponse:
        items = len(json.loads(request.body or b"{}").get("TransactItems") or [None])
        with self._lock:
            conflicting = self._rng.randrange(items)
        reasons = [
            {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            if i == conflicting
            else {"Code": "None"}
            for i in range(items)
        ]
        codes = ", ".join(r["Code"] for r in reasons)
        return aws_json_response(
            request,
            400,
            {
                "__type": _DYNAMODB_TYPE + "TransactionCanceledException",
                "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
                "CancellationReasons": reasons,
            },
        )

    def _choose_failed_entries(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """``SendMessageBatch``: take the entries chosen to fail out of the request."""
        entries = list(params.get("Entries") or [])
        if "sqs_batch_entries" not in self.kinds or not entries:
            return
        if self.operations is not None and "SendMessageBatch" not in self.operations:
            return
        with self._lock:
            if self.rate <= 0 or self._rng.random() >= self.rate:
                return
            failed = [e for e in entries if self._rng.random() < 0.5] or [self._rng.choice(entries)]
            self.counts["sqs_batch_entries"] += len(failed)
        failed_ids = {e["Id"] for e in failed}
        context[_STASH] = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "Internal error (injected)"}
            for e in failed
        ]
        kept = [e for e in entries if e["Id"] not in failed_ids]
        if kept:
            params["Entries"] = kept
        else:
            context[_STASH + "_all"] = True  # nothing left to send: before-call answers for AWS

    def _answer_all_failed(self, context: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if not context.pop(_STASH + "_all", False):
            return None
        failed = context.pop(_STASH)
        http = AWSResponse("", 200, {}, _Body(b"{}"))  # type: ignore[arg-type]  # botocore wraps any mapping in a HeadersDict; its stubs ask for HTTPHeaders
        return http, {"Successful": [], "Failed": failed, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def _add_failed_entries(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        failed = context.pop(_STASH, None)
        if failed:
            parsed.setdefault("Failed", []).extend(failed)

    # ------------------------------------------------------------------ installing
    def hook(self, target: Any) -> None:
        """Register on a botocore client or session, or a boto3 client or session (clients made from a
        session afterwards inherit the handlers; clients made before do not)."""
        events = _events_of(target)
        registrations = [
            ("before-send.dynamodb", self._before_send),
            ("before-send.sqs", self._before_send),
            ("before-parameter-build.sqs.SendMessageBatch", self._choose_failed_entries),
            ("before-call.sqs.SendMessageBatch", self._answer_all_failed),
            ("after-call.sqs.SendMessageBatch", self._add_failed_entries),
        ]
        for event, handler in registrations:
            # First: ahead of moto's in-process stub (which answers on ``before-send`` too).
            events.register_first(event, handler, unique_id=f"{_UNIQUE_ID}:{event}")
        self._emitters.append(events)

    def unhook(self) -> None:
        for events in self._emitters:
            for event in (
                "before-send.dynamodb",
                "before-send.sqs",
                "before-parameter-build.sqs.SendMessageBatch",
                "before-call.sqs.SendMessageBatch",
                "after-call.sqs.SendMessageBatch",
            ):
                events.unregister(event, unique_id=f"{_UNIQUE_ID}:{event}")
        self._emitters.clear()


def _events_of(target: Any) -> Any:
    if hasattr(target, "meta") and hasattr(target.meta, "events"):  # a client (boto3's are botocore's)
        return target.meta.events
    if hasattr(target, "_session"):  # a boto3 Session
        return target._session.get_component("event_emitter")
    if hasattr(target, "get_component"):  # a botocore Session
        return target.get_component("event_emitter")
    raise TypeError(f"cannot hook AWS faults on {type(target).__name__}")


def apihub_clients() -> list[Any]:
    """The botocore clients apihub's code uses in this process, made now if they are not yet:
    PynamoDB's (transactions' connection and every table model's) and the SQS client."""
    from apihub.dal.clients import client
    from apihub.dal.tables import ALL_MODELS, bind_tables
    from apihub.settings import get_settings

    clients: list[Any] = [bind_tables(get_settings()).client]
    clients += [model._get_connection().connection.client for model in ALL_MODELS]
    clients.append(client("sqs"))
    unique: dict[int, Any] = {id(c): c for c in clients}
    return list(unique.values())


def install(faults: AwsFaults, *targets: Any, apihub: bool = True) -> AwsFaults:
    """Hook ``faults`` on apihub's clients (unless ``apihub=False``) and on ``targets``. One at a time."""
    global _active
    with _active_lock:
        if _active is not None:
            raise RuntimeError("AWS faults are already installed; uninstall them first")
        _active = faults
    for target in [*(apihub_clients() if apihub else []), *targets]:
        faults.hook(target)
    return faults


def uninstall() -> None:
    global _active
    with _active_lock:
        if _active is not None:
            _active.unhook()
        _active = None


@contextmanager
def inject_aws_faults(
    rate: float,
    *,
    kinds: Iterable[str] = KINDS,
    seed: int | None = 0,
    operations: Iterable[str] | None = None,
    targets: Iterable[Any] = (),
    apihub: bool = True,
    chooser: Chooser | None = None,
) -> Iterator[AwsFaults]:
    """``with inject_aws_faults(0.3, kinds={"transaction_conflict"}) as faults:`` runs the block with
    faults injected; ``faults.counts`` holds what was injected."""
    faults = AwsFaults(rate, kinds=kinds, seed=seed, operations=operations, chooser=chooser)
    install(faults, *targets, apihub=apihub)
    try:
        yield faults
    finally:
        uninstall()


def parse_summary(text: str) -> dict[str, int] | None:
    """The counts of the last :meth:`AwsFaults.summary` line in ``text`` (a log), None if it has none."""
    lines = [line for line in text.splitlines() if line.startswith(SUMMARY_PREFIX)]
    if not lines:
        return None
    counts = lines[-1].removeprefix(SUMMARY_PREFIX).strip()
    if counts == "none":
        return {}
    return {kind: int(n) for kind, n in (item.rsplit(" ", 1) for item in counts.split(", "))}
