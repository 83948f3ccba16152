"""moto's backends are plain in-memory structures without locking; real DynamoDB and SQS are
linearizable per request. Serialising moto's request handling gives tests and the local stack the
same guarantee, so concurrency tests exercise our conditional writes rather than moto's races."""

from __future__ import annotations

import threading
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

    BotocoreStubber.__call__ = locked  # type: ignore[method-assign]
    _patched = True


class SerializedWsgi:
    """WSGI middleware for the moto server: one request at a time, body read inside the lock."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with _LOCK:
            return list(self.app(environ, start_response))
