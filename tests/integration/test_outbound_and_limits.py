"""Issue 8: safe outbound requests and per-supplier limits that hold across concurrent workers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from apihub.adapters.http import HttpClient
from apihub.errors import ProductError, Throttled, TransientError
from apihub.ratelimit import Limits, SupplierLimiter


class _Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.status_queue: list[tuple[int, dict[str, str]]] = []


@contextmanager
def loopback_server(routes: dict, recorder: _Recorder | None = None, hold_s: float = 0.0) -> Iterator[str]:
    """A tiny HTTP server on 127.0.0.1 (free port) answering ``routes[path]`` = (status, headers, body)."""
    rec = recorder or _Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with rec.lock:
                rec.times.append(time.monotonic())
                rec.in_flight += 1
                rec.max_in_flight = max(rec.max_in_flight, rec.in_flight)
                queued = rec.status_queue.pop(0) if rec.status_queue else None
            counted = True

            def answered() -> None:
                # The call ends here, before the client can read the answer: counting it after the
                # write let a descheduled handler thread overlap the next caller's request (a
                # phantom 4th call in flight on a loaded machine).
                nonlocal counted
                if counted:
                    counted = False
                    with rec.lock:
                        rec.in_flight -= 1

            try:
                if hold_s:
                    time.sleep(hold_s)  # the supplier's own latency
                status, headers, body = (*queued, b"") if queued else routes.get(self.path, (404, {}, b""))
                if callable(body):
                    body(self)
                    return
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                answered()
                self.end_headers()
                self.wfile.write(body)
            finally:
                answered()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------------------------------ outbound


def test_saving_a_supplier_with_an_unsafe_endpoint_is_422_naming_the_field(hub) -> None:
    cases = [
        (
            {"protocol_config": {"endpoints": {"product_data": "https://169.254.169.254/latest"}}},
            "protocol_config.endpoints.product_data",
            "link-local",
        ),
        (
            {"protocol_config": {"endpoints": {"media": "https://10.0.0.1/media"}}},
            "protocol_config.endpoints.media",
            "private-range",
        ),
        ({"base_url": "http://api.example.com"}, "base_url", "https://"),
        ({"protocol_config": {"rate_limit_per_s": 0}}, "protocol_config.rate_limit_per_s", "number"),
    ]
    for fields, field, rule in cases:
        res = hub.api("POST", "/api/suppliers", json_body={"name": "X", "slug": "x", **fields})
        assert res.status == 422, res.json
        assert res.json["detail"].startswith(f"{field}: ") and rule in res.json["detail"]
    ok = hub.api(
        "POST", "/api/suppliers", json_body={"name": "X", "slug": "x", "base_url": "https://93.184.216.34/api"}
    )
    assert ok.status == 201


def test_redirect_to_a_private_address_is_refused_at_call_time() -> None:
    routes = {"/start": (302, {"Location": "http://10.0.0.1/steal"}, b"")}
    with loopback_server(routes) as base:
        client = HttpClient(allow_insecure=True)
        with pytest.raises(ProductError, match=r"refused to call http://10\.0\.0\.1/steal: .*private-range"):
            client.request("GET", f"{base}/start")


def test_redirect_to_an_allowed_address_is_followed_and_checked() -> None:
    routes = {"/a": (307, {"Location": "/b"}, b""), "/b": (200, {}, b"ok")}
    with loopback_server(routes) as base:
        assert HttpClient(allow_insecure=True).request("GET", f"{base}/a").body == b"ok"


def test_loopback_and_http_are_refused_outside_local_mode() -> None:
    with loopback_server({"/": (200, {}, b"ok")}) as base, pytest.raises(ProductError, match="https://"):
        HttpClient(allow_insecure=False).request("GET", f"{base}/")


def test_an_oversized_response_fails_cleanly_as_transient() -> None:
    big = {"/big": (200, {}, b"x" * (2 * 1024 * 1024))}
    with loopback_server(big) as base, pytest.raises(TransientError, match="exceeded 1048576 bytes"):
        HttpClient(allow_insecure=True, max_bytes=1024 * 1024).request("GET", f"{base}/big")


def test_a_slow_drip_response_hits_the_total_deadline() -> None:
    def drip(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(40):
            handler.wfile.write(b"x" * 10)
            handler.wfile.flush()
            time.sleep(0.1)

    with loopback_server({"/drip": (200, {}, drip)}) as base:
        client = HttpClient(allow_insecure=True, read_timeout=1.0, total_timeout=1.5)
        started = time.monotonic()
        with pytest.raises(TransientError, match="took longer than"):
            client.request("GET", f"{base}/drip")
        assert time.monotonic() - started < 3.5


# ------------------------------------------------------------------------------------------ limits


def _max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_limits_hold_across_many_concurrent_workers(hub) -> None:
    # Given a supplier allowing 8 calls/s (burst 8) and 3 calls in flight, and 9 concurrent workers
    limits = Limits(rate=8, burst=8, max_concurrency=3)
    rec = _Recorder()
    with loopback_server({"/p": (200, {}, b"ok")}, rec, hold_s=0.05) as base:
        throttled = []

        def worker() -> None:
            done = 0
            while done < 4:
                limiter = SupplierLimiter("sup-1", limits, lease_s=30, max_wait_s=0.5)
                client = HttpClient(allow_insecure=True, guard=limiter)
                try:
                    while done < 4:
                        client.request("GET", f"{base}/p")
                        done += 1
                except Throttled as exc:  # the pipeline re-queues; a worker retries later
                    throttled.append(exc.retry_after)
                finally:
                    limiter.close()
                time.sleep(0.05)

        threads = [threading.Thread(target=worker) for _ in range(9)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    # Then the supplier saw every call, never more than 3 at once, and within rate + burst per second
    assert len(rec.times) == 36, len(rec.times)
    assert rec.max_in_flight <= 3, rec.max_in_flight
    assert _max_in_window(rec.times) <= limits.rate + limits.burst, _max_in_window(rec.times)
    assert throttled, "with 9 workers and 3 slots some workers must have been told to wait"


def test_a_429_lowers_the_rate_for_every_worker(hub) -> None:
    limits = Limits(rate=100, burst=100, max_concurrency=2)
    rec = _Recorder()
    rec.status_queue.append((429, {"Retry-After": "1"}))
    with loopback_server({"/p": (200, {}, b"ok")}, rec) as base:
        first = SupplierLimiter("sup-2", limits, lease_s=30)
        with pytest.raises(TransientError) as err:
            HttpClient(allow_insecure=True, guard=first).request("GET", f"{base}/p")
        assert err.value.retry_after == 1.0
        first.close()
        from apihub.dal.limits import LimitsRepository

        until_ms, factor = LimitsRepository().penalty("sup-2")
        assert factor == 0.5 and until_ms / 1000 > time.time() + 25  # at least 30 s, Retry-After or not
        # Another worker picks the penalty up before its first call
        second = SupplierLimiter("sup-2", limits, lease_s=30)
        HttpClient(allow_insecure=True, guard=second).request("GET", f"{base}/p")
        assert second.share_rate == pytest.approx(100 * 0.5 / 2)
        second.close()


def test_our_throttling_never_fails_a_product_and_shows_on_the_job(hub, monkeypatch) -> None:
    from apihub.dal.limits import LimitsRepository

    from apihub_fakes.fourover import running_fake_fourover
    from apihub_local.harness import reset_process_state

    monkeypatch.setenv("APIHUB_ALLOW_INSECURE_URLS", "true")
    monkeypatch.setenv("APIHUB_LIMITER_MAX_WAIT_S", "0.3")
    reset_process_state()
    with running_fake_fourover(products=6, seed=3) as fake:
        supplier = hub.add_supplier(
            "rest",
            adapter="FourOverAdapter",
            base_url=fake.base_url,
            auth_config=fake.credentials,
            protocol_config={"rate_limit_per_s": 50, "max_concurrency": 1},
        )
        job_id = hub.start_import("rest", mode="explicit_list", explicit_list=fake.catalog.ids()[:4]).json[
            "sync_job_id"
        ]
        next(m for m in hub.mappings if m.fn.logical_id == "DiscoverFunction").poll_once()
        # Given the supplier's only slot is held by another worker
        repo = LimitsRepository()
        assert repo.acquire_slot(supplier["id"], 1, "other-worker", 60_000, int(time.time() * 1000)) is not None
        hydrate = next(m for m in hub.mappings if m.fn.logical_id == "HydrateFunction")
        hydrate.poll_once()
        job = hub.job(job_id)
        # Then nothing failed, the job says it is throttled, and the work went back on the queue
        assert (job["status"], job["success_count"], job["failed_count"]) == ("running", 0, 0)
        assert job["throttled_until"]
        # When the other worker lets go, the import completes with exact counts
        repo.release_slot(supplier["id"], 0, "other-worker", 1.0, int(time.time() * 1000))
        hub.drain()
        job = hub.job(job_id)
        assert (job["status"], job["success_count"], job["failed_count"]) == ("success", 4, 0)
        assert job["throttled_until"] is None
        # And every worker handed its slot back (a leaked lease would block the supplier until it ends)
        from apihub.dal.tables import RateSlotItem

        slots = list(RateSlotItem.query(f"RATE#{supplier['id']}", RateSlotItem.sk.startswith("SLOT#")))
        assert slots and all(slot.holder is None for slot in slots)
