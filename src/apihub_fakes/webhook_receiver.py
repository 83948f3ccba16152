"""A webhook receiver (tests, ``make bench``): an HTTP server on 127.0.0.1 (a free port) that records
every POST with its receipt time and answers what its user says, for a ``with`` block (and never
longer than its lifetime)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 (a free port) recording every request; ``answers`` maps a path
    to (status, headers), 200 otherwise; ``delays`` makes a path answer late."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)  # path -> seconds to wait before answering
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events_of_job(self, job_id: str) -> dict[str, tuple[float, dict[str, Any]]]:
        """The first receipt (time, event) of each distinct event of ``job_id`` among the JSON
        bodies received (delivery is at least once)."""
        out: dict[str, tuple[float, dict[str, Any]]] = {}
        with self.lock:
            received = list(self.requests)
        for request in received:
            event = json.loads(request["body"])
            if event.get("job_id") == job_id and event["id"] not in out:
                out[event["id"]] = (request["at"], event)
        return out


@contextmanager
def receiver(lifetime_s: float = 120.0, path: str = "") -> Iterator[Receiver]:
    """A receiver for the ``with`` block; it also stops by itself after ``lifetime_s``. ``path`` is
    appended to its ``url``."""
    state = Receiver()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body, "at": time.time()}
                )
            stop.wait(state.delays.get(self.path, 0.0))  # a slow receiver (ends early when the server stops)
            status, headers = state.answers.get(self.path, (200, {}))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        # Room for every delivery of a batch connecting at once (the default, 5, makes the rest
        # wait for a SYN retransmission, a second).
        request_queue_size = 512

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    watchdog = threading.Timer(lifetime_s, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield state
    finally:
        watchdog.cancel()
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
