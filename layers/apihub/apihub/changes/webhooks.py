"""Webhook delivery: one ``DeliveryMessage`` -> one signed ``POST`` to the subscription's URL.

* The URL passes the suppliers' outbound rules again (``apihub.outbound.check_url``: https and
  public addresses in AWS; the local stack allows http and loopback) and the connection goes to the
  very address checked, so DNS cannot swap in a private one. Redirects are not followed: a 3xx is
  a failed attempt.
* Headers ``Apihub-Event-Id``, ``Apihub-Event-Type``, ``Apihub-Signature`` (``apihub.changes.signing``).
* A 2xx within ``webhook_timeout_s`` (10 s) is delivered. Anything else is recorded and tried again
  on the schedule of ``apihub.changes.schedule`` (exponential, 24 h), then the message goes to the
  webhook DLQ. Each attempt is recorded on the subscription (``GET /api/subscriptions/{id}/deliveries``).
* A subscription deleted meanwhile gets nothing more: the message is dropped.
* A batch's deliveries run at once (``webhook_in_flight`` threads, the batch size too), so an
  invocation lasts as long as its slowest delivery, not their sum, and a subscription's fast
  deliveries never wait behind another's slow ones in the same batch. The subscription (URL,
  secret) is read once per batch and subscription.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3

from apihub.changes.delivery_message import DeliveryMessage
from apihub.changes.schedule import hop_delay, next_attempt_at
from apihub.changes.signing import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signature_header
from apihub.changes.subscription_models import DeliveryOutcome
from apihub.dal import queues
from apihub.dal.subscriptions import DeliveryTarget, SubscriptionsRepository
from apihub.observability import logger
from apihub.outbound import UnsafeUrl, check_url
from apihub.settings import get_settings

# Enough of a receiver's answer to show in the deliveries list; the rest is not read.
MAX_RESPONSE_BYTES = 64 * 1024
# One connection per delivery in flight may go to the same host (a subscriber's URL).
_pool = urllib3.PoolManager(maxsize=get_settings().webhook_in_flight, retries=False)


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and self.error is None


def post_event(target: DeliveryTarget, message: DeliveryMessage, *, now: float | None = None) -> Attempt:
    """POST the event to the subscription's URL, signed; never follows a redirect."""
    settings = get_settings()
    body = message.body.encode()
    try:
        dest = check_url(target.url, allow_insecure=settings.allow_insecure_urls)
    except UnsafeUrl as exc:
        return Attempt(None, f"url refused: {exc}")
    assert dest is not None  # resolve_names=True never answers None
    parts = urlsplit(target.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if dest.scheme == "https" else 80
    host = dest.host if dest.port == default_port else f"{dest.host}:{dest.port}"
    tls = {"server_hostname": dest.host, "assert_hostname": dest.host} if dest.scheme == "https" else None
    pool = _pool.connection_from_host(dest.address, dest.port, scheme=dest.scheme, pool_kwargs=tls)
    headers = {
        "Host": host,
        "Content-Type": "application/json",
        "User-Agent": "apihub-webhooks",
        EVENT_ID_HEADER: message.event_id,
        EVENT_TYPE_HEADER: message.event_type,
        SIGNATURE_HEADER: signature_header(target.secret, body, None if now is None else int(now)),
    }
    timeout_s = settings.webhook_timeout_s
    started = time.monotonic()
    try:
        resp = pool.urlopen(
            "POST",
            path,
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
            timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s, total=timeout_s),
        )
        try:
            resp.read(MAX_RESPONSE_BYTES)
        finally:
            resp.release_conn()
    except urllib3.exceptions.NewConnectionError as exc:  # a subclass of TimeoutError in urllib3: first
        return Attempt(None, f"unreachable ({type(exc).__name__})")
    except urllib3.exceptions.TimeoutError:
        return Attempt(None, f"no answer within {timeout_s:g} s")
    except urllib3.exceptions.HTTPError as exc:
        return Attempt(None, f"unreachable ({type(exc).__name__})")
    if time.monotonic() - started > timeout_s:
        return Attempt(resp.status, f"answered after more than {timeout_s:g} s")
    if 300 <= resp.status < 400:
        return Attempt(resp.status, f"HTTP {resp.status}: redirects are not followed")
    if not 200 <= resp.status < 300:
        return Attempt(resp.status, f"HTTP {resp.status}")
    return Attempt(resp.status, None)


class Targets:
    """Each subscription's delivery target, read once (one GetItem and one KMS Decrypt) for the
    threads of a batch: the first thread to ask reads it, the others wait for that answer."""

    def __init__(self, repo: SubscriptionsRepository | None = None) -> None:
        self._repo = repo or SubscriptionsRepository()
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._read: dict[str, DeliveryTarget | None] = {}

    def __call__(self, subscription_id: str) -> DeliveryTarget | None:
        with self._lock:
            key_lock = self._locks.setdefault(subscription_id, threading.Lock())
        with key_lock:
            if subscription_id not in self._read:
                self._read[subscription_id] = self._repo.target(subscription_id)
            return self._read[subscription_id]


def deliver(
    message: DeliveryMessage,
    *,
    clock: Callable[[], float] = time.time,
    post: Callable[[DeliveryTarget, DeliveryMessage], Attempt] = post_event,
    targets: Callable[[str], DeliveryTarget | None] | None = None,
) -> str:
    """Make the attempt ``message`` stands for (or move it on towards its due time); returns what
    happened: ``hop``, ``dropped``, ``delivered``, ``failed`` or ``gave_up``. ``targets`` reads a
    subscription's target (default: read it now)."""
    now = clock()
    if message.not_before > now:
        queues.send_webhook(message.model_dump(), hop_delay(message.not_before, now))
        return "hop"
    repo = SubscriptionsRepository()
    target = (targets or repo.target)(message.subscription_id)
    if target is None:
        logger.info("subscription deleted; delivery dropped", extra={"subscription_id": message.subscription_id})
        return "dropped"
    first = message.first_attempt_at or now
    attempt = post(target, message)

    def record(outcome: DeliveryOutcome) -> None:
        repo.record_delivery(
            target.id,
            event_id=message.event_id,
            event_type=message.event_type,
            attempt=message.attempt,
            outcome=outcome,
            status_code=attempt.status_code,
            error=attempt.error,
        )

    if attempt.delivered:
        record("delivered")
        return "delivered"
    due = next_attempt_at(first, message.attempt, clock())
    if due is None:
        record("gave_up")
        queues.send_webhook_dead_letter({**message.model_dump(), "last_error": attempt.error})
        logger.warning(
            "webhook delivery given up",
            extra={"subscription_id": target.id, "event_id": message.event_id, "attempts": message.attempt},
        )
        return "gave_up"
    record("failed")
    retry = message.model_copy(update={"attempt": message.attempt + 1, "first_attempt_at": first, "not_before": due})
    queues.send_webhook(retry.model_dump(), hop_delay(due, clock()))
    return "failed"


def handle_message(body: str, targets: Callable[[str], DeliveryTarget | None] | None = None) -> str:
    """One SQS message body of the deliveries queue (a malformed one raises: it is retried, then
    dead-lettered by the queue's redrive policy)."""
    return deliver(DeliveryMessage.model_validate_json(body), targets=targets)


def handle_batch(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The deliveries queue's batch, every delivery at once (up to ``webhook_in_flight``), with
    partial failures: a record whose handling raised is reported by its message id and comes back.

    Hand-written rather than Powertools' ``BatchProcessor``, which handles records one by one (its
    ``AsyncBatchProcessor`` needs an asyncio client; the POST is blocking urllib3, for the
    address-pinned connection ``post_event`` makes)."""
    records: list[Mapping[str, Any]] = list(event.get("Records") or [])
    targets = Targets()

    def one(record: Mapping[str, Any]) -> str | None:
        try:
            handle_message(str(record["body"]), targets)
        except Exception:
            logger.exception("webhook delivery message failed", extra={"message_id": record.get("messageId")})
            return str(record["messageId"])
        return None

    if not records:
        return {"batchItemFailures": []}
    with ThreadPoolExecutor(
        max_workers=min(len(records), get_settings().webhook_in_flight), thread_name_prefix="webhook"
    ) as pool:
        failed = [message_id for message_id in pool.map(one, records) if message_id is not None]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
