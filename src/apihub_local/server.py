"""The local HTTP API: a threaded HTTP server on loopback that hands every request to
``Gateway.handle`` (route match from template.yaml, Lambda authorizer, the route's function) and
writes the function's answer back, as API Gateway does in front of the Lambdas."""

from __future__ import annotations

import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from apihub_local.gateway import Gateway

log = logging.getLogger("apihub.local.http")

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like API Gateway
    server_version = "apihub-local"
    # The few answers http.server gives itself (a request line over 64 KB: 414, a body over 10 MB: 413)
    # are JSON like API Gateway's own ({"message": ...}), not an HTML page.
    error_message_format = '{"message": "%(message)s"}'
    error_content_type = "application/json"
    gateway: Gateway  # set on the subclass built by ``serve``
    invokers: ThreadPoolExecutor  # likewise

    def _dispatch(self) -> None:
        started = time.monotonic()
        parts = urlsplit(self.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            # Repeated headers reach the Lambda comma-joined (cookies: "; "-joined, split later).
            sep = "; " if key == "cookie" else ","
            headers[key] = f"{headers[key]}{sep}{value}" if key in headers else value
        body = self._read_body()
        if body is None:
            return
        response = self.invokers.submit(
            self.gateway.handle, self.command, parts.path or "/", query=query, headers=headers, body=body or None
        ).result()
        gone = ""
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                if name not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                    self.send_header(name, value)
            for cookie in response.cookies or []:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except ConnectionError:  # the client went away (a browser tab closed, Ctrl-C): nothing to answer
            gone, self.close_connection = " (client disconnected)", True
        took_ms = (time.monotonic() - started) * 1000
        log.info("%s %s %d %.0fms%s", self.command, short_path(self.path), response.status, took_ms, gone)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s %d: %d bytes in, %d out, user agent %s",
                self.command,
                self.path,
                response.status,
                len(body),
                len(response.body),
                headers.get("user-agent", "-"),
            )

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413, "Request Entity Too Large")
            return None
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) reaches the gateway too, which answers 404 for a method no
        # route declares, as API Gateway does (http.server's own answer would be a 501).
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request is logged by _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # http.server's default backlog of 5 resets connections when dozens of clients connect at once.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that disconnects mid-request is one line; anything else keeps socketserver's traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.info("client %s:%s disconnected", *client_address[:2])
            return
        super().handle_error(request, client_address)


LONG_VALUE = 40  # query values past this many characters (cursors) are cut in the INFO line


def short_path(path: str) -> str:
    """The request's path for the one INFO line: query values longer than LONG_VALUE characters (cursors
    of some hundred characters) cut to their start; the whole path is in the DEBUG line."""
    parts = urlsplit(path)
    if not parts.query:
        return path
    query = [
        (k, v if len(v) <= LONG_VALUE else v[:12] + "…") for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return parts.path + "?" + "&".join(f"{k}={v}" for k, v in query)


class LocalApi:
    """``LocalApi(gateway, port).start()`` serves until ``stop()``."""

    # The functions run on a fixed pool of threads, not on the connection's thread: a Lambda
    # execution environment serves one request after another on one thread, so its per-thread state
    # (PynamoDB's botocore session and client) is made once. On a thread per connection every new
    # connection built new DynamoDB clients (py-spy: half the CPU of a 50-client load test).
    INVOKER_THREADS = 32

    def __init__(self, gateway: Gateway, port: int, host: str = "127.0.0.1") -> None:
        self.invokers = ThreadPoolExecutor(max_workers=self.INVOKER_THREADS, thread_name_prefix="invoke")
        handler = type("Handler", (_Handler,), {"gateway": gateway, "invokers": self.invokers})
        self.httpd = _Server((host, port), handler)
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="http", daemon=True)

    @property
    def url(self) -> str:
        host, port = cast("tuple[str, int]", self.httpd.server_address[:2])  # AF_INET: (host, port)
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.invokers.shutdown(wait=False, cancel_futures=True)
