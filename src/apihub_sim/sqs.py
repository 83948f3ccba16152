"""Simulated SQS standard queues in virtual time, and the botocore stub that answers the layer's
SQS calls from them.

A message has an id, a body, ``visible_at`` (delay and visibility timeout), a receive count and the
receipt handle of its latest receive. Receiving takes visible messages in the order they were sent
(SQS standard queues keep a best-effort order), counts the receive, and hides the message for the
queue's ``VisibilityTimeout``; a message already received ``maxReceiveCount`` times is moved to the
dead-letter queue instead of being received again (the redrive policy). ``ChangeMessageVisibility``
moves ``visible_at`` to now + the new timeout; deleting needs the latest receipt handle.

The stub is a ``before-send`` handler on apihub's own SQS client (``apihub.dal.clients``): the
request is answered from these queues as AWS's JSON protocol answers it, so botocore parses it like
a real answer, and the AWS fault hook (``apihub_local.aws_faults``), registered ahead of it, still
fails whatever share of sends it is told to.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

from apihub_local.aws_faults import aws_json_response
from apihub_sim.kernel import Kernel

MAX_DELAY_S = 900
MAX_VISIBILITY_S = 43_200


@dataclass
class Message:
    id: str
    body: str
    seq: int
    sent_at: float
    visible_at: float
    receive_count: int = 0
    receipt: str | None = None
    first_received_at: float | None = None

    @property
    def job_id(self) -> str | None:
        try:
            value = json.loads(self.body).get("job_id")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None


@dataclass
class SimQueue:
    logical_id: str
    url: str
    arn: str
    kernel: Kernel
    visibility_timeout_s: int
    delay_s: int = 0
    max_receive_count: int | None = None
    dead_letter: SimQueue | None = None
    messages: dict[str, Message] = field(default_factory=dict)
    stats: Counter[str] = field(default_factory=Counter)
    on_change: list[Callable[[float], None]] = field(default_factory=list)
    _seq: Iterator[int] = field(default_factory=itertools.count)

    # ------------------------------------------------------------------ producers
    def send(self, body: str, delay_s: int | None = None) -> Message:
        now = self.kernel.now
        delay = self.delay_s if delay_s is None else delay_s
        if not 0 <= delay <= MAX_DELAY_S:
            raise ValueError(f"DelaySeconds: must be 0 to {MAX_DELAY_S} (got {delay})")
        message = Message(str(uuid.uuid4()), body, next(self._seq), now, now + delay)
        self.messages[message.id] = message
        self.stats["sent"] += 1
        self._changed(message.visible_at)
        return message

    def _move_in(self, message: Message) -> None:
        """A dead-lettered message arrives (it keeps its id and body; its receive count restarts)."""
        now = self.kernel.now
        moved = Message(message.id, message.body, next(self._seq), message.sent_at, now)
        self.messages[moved.id] = moved
        self.stats["dead_lettered"] += 1

    # ------------------------------------------------------------------ consumers
    def visible(self) -> list[Message]:
        now = self.kernel.now
        return sorted((m for m in self.messages.values() if m.visible_at <= now), key=lambda m: m.seq)

    def receive(self, max_messages: int) -> list[Message]:
        now = self.kernel.now
        out: list[Message] = []
        for message in self.visible():
            if len(out) >= max_messages:
                break
            if self.max_receive_count is not None and message.receive_count >= self.max_receive_count:
                del self.messages[message.id]
                self.stats["redriven"] += 1
                if self.dead_letter is not None:
                    self.dead_letter._move_in(message)
                continue
            message.receive_count += 1
            message.receipt = f"{message.id}#{message.receive_count}#{uuid.uuid4().hex[:8]}"
            message.visible_at = now + self.visibility_timeout_s
            if message.first_received_at is None:
                message.first_received_at = now
            self.stats["received"] += 1
            out.append(message)
            self._changed(message.visible_at)
        return out

    def _by_receipt(self, receipt: str) -> Message | None:
        message = self.messages.get(receipt.split("#", 1)[0])
        return message if message is not None and message.receipt == receipt else None

    def delete(self, receipt: str) -> bool:
        message = self._by_receipt(receipt)
        if message is None:
            self.stats["stale_deletes"] += 1
            return False
        del self.messages[message.id]
        self.stats["deleted"] += 1
        return True

    def change_visibility(self, receipt: str, seconds: int) -> None:
        message = self._by_receipt(receipt)
        if message is None:
            raise SqsError(400, "ReceiptHandleIsInvalid", f"The receipt handle {receipt!r} is not valid.")
        if message.visible_at <= self.kernel.now:
            raise SqsError(400, "MessageNotInflight", "The message referred to isn't in flight.")
        if not 0 <= seconds <= MAX_VISIBILITY_S:
            raise SqsError(400, "InvalidParameterValue", f"VisibilityTimeout: must be 0 to {MAX_VISIBILITY_S}")
        message.visible_at = self.kernel.now + seconds
        self.stats["visibility_changes"] += 1
        self._changed(message.visible_at)

    # ------------------------------------------------------------------ state
    def counts(self) -> dict[str, int]:
        """What ``GetQueueAttributes`` reports (exact here; approximate in AWS)."""
        now = self.kernel.now
        visible = in_flight = delayed = 0
        for m in self.messages.values():
            if m.visible_at <= now:
                visible += 1
            elif m.receive_count:
                in_flight += 1
            else:
                delayed += 1
        return {
            "ApproximateNumberOfMessages": visible,
            "ApproximateNumberOfMessagesNotVisible": in_flight,
            "ApproximateNumberOfMessagesDelayed": delayed,
        }

    def held_for(self, job_id: str) -> int:
        return sum(1 for m in self.messages.values() if m.job_id == job_id)

    def next_visible_at(self) -> float | None:
        now = self.kernel.now
        times = [m.visible_at for m in self.messages.values() if m.visible_at > now]
        return min(times) if times else None

    def _changed(self, when: float) -> None:
        for listener in self.on_change:
            listener(when)

    def __len__(self) -> int:
        return len(self.messages)


class SqsError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class SqsStub:
    """Answers SendMessage, SendMessageBatch, ChangeMessageVisibility, DeleteMessage and
    GetQueueAttributes for the simulated queues (by queue URL); anything else is refused loudly."""

    UNIQUE_ID = "apihub-sim-sqs"

    def __init__(self, queues: dict[str, SimQueue]) -> None:
        self.by_url = {q.url: q for q in queues.values()}
        self.calls: Counter[str] = Counter()
        self._clients: list[Any] = []

    def hook(self, client: Any) -> None:
        # Plain ``register`` on the SQS-specific event: after the fault hook (registered first) and
        # before moto's catch-all ``before-send`` stub.
        client.meta.events.register("before-send.sqs", self._before_send, unique_id=self.UNIQUE_ID)
        self._clients.append(client)

    def unhook(self) -> None:
        for client in self._clients:
            client.meta.events.unregister("before-send.sqs", unique_id=self.UNIQUE_ID)
        self._clients.clear()

    def _before_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]
        self.calls[operation] += 1
        params = json.loads(request.body or b"{}")
        try:
            queue = self.by_url.get(params.get("QueueUrl", ""))
            if queue is None:
                raise SqsError(400, "QueueDoesNotExist", "The specified queue does not exist.")
            payload = self._call(operation, queue, params)
        except SqsError as exc:
            fault = "Sender" if exc.status < 500 else "Receiver"
            return aws_json_response(
                request,
                exc.status,
                {"__type": f"com.amazonaws.sqs#{exc.code}", "message": exc.message},
                f"{exc.code};{fault}",
            )
        return aws_json_response(request, 200, payload)

    def _call(self, operation: str, queue: SimQueue, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "SendMessage":
            body = params["MessageBody"]
            message = queue.send(body, params.get("DelaySeconds"))
            return {"MessageId": message.id, "MD5OfMessageBody": _md5(body)}
        if operation == "SendMessageBatch":
            ok = []
            for entry in params.get("Entries", []):
                message = queue.send(entry["MessageBody"], entry.get("DelaySeconds"))
                ok.append({"Id": entry["Id"], "MessageId": message.id, "MD5OfMessageBody": _md5(entry["MessageBody"])})
            return {"Successful": ok, "Failed": []}
        if operation == "ChangeMessageVisibility":
            queue.change_visibility(params["ReceiptHandle"], int(params["VisibilityTimeout"]))
            return {}
        if operation == "DeleteMessage":
            if not queue.delete(params["ReceiptHandle"]):
                raise SqsError(400, "ReceiptHandleIsInvalid", "The receipt handle is not valid.")
            return {}
        if operation == "GetQueueAttributes":
            return {"Attributes": {k: str(v) for k, v in queue.counts().items()}}
        raise SqsError(400, "UnsupportedOperation", f"{operation} is not simulated")
