"""A stub of the HTTP API on loopback for CLI tests: ``answer(method, path_with_query, body)`` gives
``(status, json, headers)``; the CLI is pointed at it and prints to 100-column consoles."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rich.console import Console

from apihub_cli import main

Answer = Callable[[str, str, Any], tuple[int, Any, dict[str, str]]]


@contextmanager
def serving(answer: Answer, monkeypatch: pytest.MonkeyPatch, width: int = 100) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, data, headers = answer(self.command, self.path, body)
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("APIHUB_URL", url)
    monkeypatch.setenv("APIHUB_TOKEN", "test-token")
    monkeypatch.setattr(main, "out", Console(width=width, no_color=True))
    monkeypatch.setattr(main, "err", Console(stderr=True, width=400, no_color=True))
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
