"""moto's backends are plain in-memory structures without locking; real DynamoDB and SQS are
linearizable per request. Serialising moto's request handling gives tests and the local stack the
same guarantee, so concurrency tests exercise our conditional writes rather than moto's races."""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any

_LOCK = threading.RLock()
_patched = False


def serialize_in_process_moto() -> None:
    """Patch moto's in-process botocore stubber so that one request runs at a time."""
    global _patched
    if _patched:
        return
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.__call__

    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return original(self, *args, **kwargs)

    BotocoreStubber.__call__ = locked  # type: ignore[method-assign]  # a deliberate monkeypatch
    _patched = True


_RECEIVE = "AmazonSQS.ReceiveMessage"
# Requests after which a waiting long poll may find a message (others only wake it by the recheck).
_MAY_DELIVER = frozenset(
    f"AmazonSQS.{action}"
    for action in ("SendMessage", "SendMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch")
)
# A waiting long poll retries at least this often (messages also become visible by time passing).
_LONG_POLL_RECHECK_S = 0.25


class SerializedWsgi:
    """WSGI middleware for the moto server: one request at a time, body read inside the lock.

    SQS long polls are the exception: moto waits for messages *inside* ReceiveMessage, which under
    the lock would stall every other request for up to 20 s. A long poll (JSON protocol,
    ``WaitTimeSeconds`` > 0) is therefore answered by short receives under the lock, waiting between
    them without it until another request changes something (or a short recheck interval passes), so
    the caller still gets real long-polling semantics: an answer as soon as a message is there, or an
    empty one after ``WaitTimeSeconds``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._changed = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target == _RECEIVE:
            return self._receive(environ, start_response)
        try:
            with _LOCK:
                return list(self.app(environ, start_response))
        finally:
            # Wake the waiting long polls only when this request may have made a message available
            # (or is not JSON-protocol, so we cannot tell): waking every poller after every DynamoDB
            # call made each API request cost one receive per idle poller.
            if target is None or target in _MAY_DELIVER:
                with self._changed:
                    self._changed.notify_all()

    def _receive(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            request = json.loads(raw or b"{}")
            wait = float(request.get("WaitTimeSeconds") or 0)
        except (ValueError, AttributeError):
            request, wait = None, 0.0
        if request is not None and wait > 0:
            request["WaitTimeSeconds"] = 0
            raw = json.dumps(request).encode()
        deadline = time.monotonic() + wait
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers, exc_info]
            return lambda _data: None

        while True:
            env = dict(environ)
            env["wsgi.input"] = io.BytesIO(raw)
            env["CONTENT_LENGTH"] = str(len(raw))
            with _LOCK:
                body = b"".join(self.app(env, capture))
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not captured[0].startswith("200") or _has_messages(body):
                start_response(*captured)
                return [body]
            with self._changed:
                self._changed.wait(min(remaining, _LONG_POLL_RECHECK_S))


def _has_messages(body: bytes) -> bool:
    try:
        return bool(json.loads(body or b"{}").get("Messages"))
    except (ValueError, AttributeError):
        return True  # not understood: hand it back as it is
