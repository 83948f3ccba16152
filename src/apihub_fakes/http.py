"""What every fake supplier's HTTP server shares, so each fake keeps only its protocol.

``FakeServer``: a threaded HTTP server on loopback (a free port unless one is given), started and
stopped with the fake (``with fake:``), whose ``pause`` wakes up at once when it stops (so replies
sleeping in latency or a "slow" fault never outlive it), and which stops by itself after
``lifetime_s``. ``FakeHandler``: the request handler base (keep-alive, one write per reply, quiet).
``FaultCountdown``: faults that fire a given number of times, then stop. ``serve_until_stopped``:
a fake as a process of the local stack (one JSON line once listening, then serve until a signal).
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

LOOPBACK = "127.0.0.1"


class FakeHandler(BaseHTTPRequestHandler):
    """Request handler base of the fakes; ``self.fake`` is the ``FakeServer`` it answers for."""

    server: Any
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write (flushed by the base class after each request); otherwise
    # Nagle and delayed ACKs add ~40 ms to every keep-alive call.
    wbufsize = -1
    disable_nagle_algorithm = True

    @property
    def fake(self) -> Any:
        return self.server.fake

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the fake's own call log, and the local stack wants no line per request
        (4Over's headers carry signatures)."""

    def read_body(self) -> bytes:
        """The request body (read even when unused, so the connection serves the next request)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its read timeout fired on a slow reply)


class FakeServer:
    """Base of the fake suppliers: the server's life cycle; a subclass answers the requests through
    its ``handler`` class (a ``FakeHandler``)."""

    handler: ClassVar[type[FakeHandler]]
    thread_name: ClassVar[str] = "fake-supplier"

    def __init__(
        self, *, host: str = LOOPBACK, port: int = 0, latency_ms: float = 0, lifetime_s: float | None = None
    ) -> None:
        self.latency_ms = latency_ms
        self.lifetime_s = lifetime_s
        self._requested = (host, port)
        self._address: tuple[str, int] | None = None
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # ---- life cycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        server = ThreadingHTTPServer(self._requested, self.handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.fake = self  # type: ignore[attr-defined]  # each request handler finds its fake on the server
        self._server = server
        self._address = (str(server.server_address[0]), int(server.server_address[1]))
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        if self.lifetime_s is not None:
            self._timer = threading.Timer(self.lifetime_s, self.stop)
            self._timer.daemon = True
            self._timer.start()
        return self

    def stop(self) -> None:
        """Stop serving; replies sleeping in latency or a slow fault are woken up and abandoned."""
        self._stopping.set()
        if self._timer is not None:
            self._timer.cancel()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            if self._thread is not None:
                self._thread.join(timeout=5)
            server.server_close()

    def wait(self) -> None:
        """Block until ``stop`` (the lifetime timer, a signal handler) ends the server."""
        self._stopping.wait()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- address and timing ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._address is None:
            raise RuntimeError(f"{type(self).__name__} was never started")
        return self._address[1]

    @property
    def origin(self) -> str:
        """``http://host:port`` of the running server."""
        if self._address is None:
            raise RuntimeError(f"{type(self).__name__} was never started")
        return f"http://{self._address[0]}:{self._address[1]}"

    def pause(self, seconds: float) -> None:
        """Wait, but wake up at once when the server stops (no stray sleeping threads)."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def pause_for_latency(self) -> None:
        """The ``latency_ms`` every call waits before it is answered."""
        self.pause(self.latency_ms / 1000)


class FaultCountdown:
    """For faults that fire ``times`` times and then let the call through (a supplier that recovers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fired: dict[str, int] = {}

    def fires(self, key: str, times: int | None) -> bool:
        """Whether ``key``'s fault fires on this call (always when ``times`` is None)."""
        if times is None:
            return True
        with self._lock:
            fired = self._fired.get(key, 0)
            if fired >= times:
                return False
            self._fired[key] = fired + 1
            return True

    def reset(self, key: str) -> None:
        with self._lock:
            self._fired.pop(key, None)


def serve_until_stopped(fake: FakeServer, announce: Callable[[], dict[str, Any]]) -> int:
    """Run ``fake`` as a process: print ``announce()`` as one JSON line once it listens (the local
    stack waits for that line), then serve until SIGTERM/SIGINT or its lifetime stops it."""

    def stop(signum: int, frame: Any) -> None:
        fake.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with fake:
        print(json.dumps(announce()), flush=True)
        fake.wait()
    return 0
