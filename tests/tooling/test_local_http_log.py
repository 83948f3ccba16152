"""The local stack's HTTP server logs one short line per request at INFO (the whole request at DEBUG),
and a client that disconnects is one line, not a traceback (docs/local-stack.md)."""

from __future__ import annotations

import logging
import socket
import struct
import time
from typing import Any

import pytest
import requests

from apihub_local.gateway import GatewayResponse
from apihub_local.server import LocalApi, short_path

CURSOR = "eyJ" + "x" * 400  # a next_token is a few hundred characters


class _Gateway:
    """Answers every request after ``delay_s`` with ``size`` bytes."""

    def __init__(self, size: int, delay_s: float = 0.0) -> None:
        self.size, self.delay_s = size, delay_s

    def handle(self, method: str, path: str, **_: Any) -> GatewayResponse:
        time.sleep(self.delay_s)
        return GatewayResponse(200, {"content-type": "application/json"}, b"x" * self.size)


def _http_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "apihub.local.http"]


def _wait_for_lines(caplog: pytest.LogCaptureFixture, count: int, within_s: float = 10) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and len(_http_lines(caplog)) < count:
        time.sleep(0.02)


def _serve(gateway: _Gateway) -> LocalApi:
    api = LocalApi(gateway, 0)  # type: ignore[arg-type]  # the server only calls handle()
    api.start()
    return api


def test_a_request_is_one_short_line_at_info_and_the_whole_path_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    api = _serve(_Gateway(10))
    try:
        with caplog.at_level(logging.INFO, logger="apihub.local.http"):
            requests.get(f"{api.url}/api/changes", params={"next_token": CURSOR, "limit": "5"}, timeout=10)
            _wait_for_lines(caplog, 1)  # the server logs once the answer is written: after the client has it
        with caplog.at_level(logging.DEBUG, logger="apihub.local.http"):
            requests.get(f"{api.url}/api/changes", params={"next_token": CURSOR}, timeout=10)
            _wait_for_lines(caplog, 3)
    finally:
        api.stop()
    ours = [r for r in caplog.records if r.name == "apihub.local.http"]  # not another test's threads
    info = [r.getMessage() for r in ours if r.levelno == logging.INFO]
    debug = [r.getMessage() for r in ours if r.levelno == logging.DEBUG]
    # One INFO line per request, the cursor cut to its start: under 100 characters
    assert len(info) == 2 and all(len(line) < 100 for line in info), info
    assert info[0].startswith("GET /api/changes?next_token=eyJxxxxxxxxx…&limit=5 200 ")
    # And the whole request only at DEBUG
    assert len(debug) == 1 and CURSOR in debug[0] and "10 out" in debug[0]


def test_short_path_keeps_short_values_and_paths_without_a_query() -> None:
    assert short_path("/api/sync-jobs") == "/api/sync-jobs"
    assert (
        short_path("/api/changes?since=2026-12-08T03%3A24%3A43.458Z") == "/api/changes?since=2026-12-08T03:24:43.458Z"
    )


def test_a_client_that_disconnects_is_one_line_not_a_traceback(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given an answer of several MB that comes after the client has gone
    api = _serve(_Gateway(8 * 1024 * 1024, delay_s=0.3))
    host, port = api.url.removeprefix("http://").split(":")
    try:
        with caplog.at_level(logging.INFO, logger="apihub.local.http"):
            for _ in range(2):
                conn = socket.create_connection((host, int(port)))
                conn.sendall(b"GET /api/sync-jobs HTTP/1.1\r\nHost: x\r\n\r\n")
                # Closed at once with a reset (SO_LINGER 0), as a browser tab that closes does
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            _wait_for_lines(caplog, 2)
    finally:
        api.stop()
    # Then each disconnect is one line saying so
    lines = _http_lines(caplog)
    assert len(lines) == 2 and all("client disconnected" in line for line in lines), lines
    # And nothing else was printed: no BrokenPipeError traceback
    printed = capfd.readouterr()
    assert "Traceback" not in printed.err + printed.out and "BrokenPipe" not in printed.err + printed.out
