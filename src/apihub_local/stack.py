"""``make run``: the whole of apihub on loopback, driven by template.yaml.

    moto server (own process) <- tables, queues + DLQs, KMS key created from template.yaml
    HTTP server 127.0.0.1:$APIHUB_PORT -> Gateway (routes + authorizer from the template) -> handlers
    SQS pollers (event source mappings from the template) -> DiscoverFunction / HydrateFunction
    fake PromoStandards supplier (slug ``demo``), fake REST supplier (slug ``demo-rest``)

Settings are environment variables, read once here (see ``Knobs`` and docs/local-stack.md).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apihub_local.aws_calls import record_from_environment
from apihub_local.children import Child, exit_when_gone, start_child

if TYPE_CHECKING:
    from apihub_local.harness import Harness

log_name = "apihub.local"


class KnobError(ValueError):
    """A local stack setting has a value it cannot use."""


def _number(env: dict[str, str], name: str, default: float, lo: float, hi: float, integer: bool = False) -> Any:
    raw = env.get(name, "").strip()
    if not raw:
        return int(default) if integer else default
    try:
        value: float = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise KnobError(f"{name}={raw!r}: must be {kind} between {lo:g} and {hi:g}") from None
    if not lo <= value <= hi:
        raise KnobError(f"{name}={raw!r}: must be between {lo:g} and {hi:g}")
    return value


def _flag(env: dict[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise KnobError(f"{name}={raw!r}: use 1 or 0")


@dataclass(frozen=True)
class Knobs:
    port: int = 3000
    demo_products: int = 500
    demo_latency_ms: int = 0
    demo_fail_rate: float = 0.0
    duplicate_delivery: bool = False
    crash_rate: float = 0.0
    crash_fanout: bool = False
    backoff_scale: float = 1.0
    # Share of apihub's DynamoDB/SQS calls answered with an AWS fault (aws_faults.py).
    aws_fault_rate: float = 0.0
    # Local time runs at this fraction: function timeouts and queue visibility timeouts are
    # multiplied by it, so a crashed batch comes back in seconds (see docs/local-stack.md).
    time_scale: float = 0.01
    dev_token: str | None = None
    json_logs: bool = False
    # Stop when this process ends (tests: the pytest process that started the stack, however it
    # ends: a stack started in a session of its own outlives a killed test run otherwise).
    exit_with_pid: int | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Knobs:
        env = dict(os.environ if env is None else env)
        log_format = env.get("APIHUB_LOCAL_LOG_FORMAT", "compact").strip().lower() or "compact"
        if log_format not in ("compact", "json"):
            raise KnobError(f"APIHUB_LOCAL_LOG_FORMAT={log_format!r}: use compact or json")
        return cls(
            port=_number(env, "APIHUB_PORT", 3000, 1, 65535, integer=True),
            demo_products=_number(env, "APIHUB_DEMO_PRODUCTS", 500, 0, 100_000, integer=True),
            demo_latency_ms=_number(env, "APIHUB_DEMO_LATENCY_MS", 0, 0, 60_000, integer=True),
            demo_fail_rate=_number(env, "APIHUB_DEMO_FAIL_RATE", 0.0, 0.0, 1.0),
            duplicate_delivery=_flag(env, "APIHUB_LOCAL_DUPLICATE_DELIVERY"),
            crash_rate=_number(env, "APIHUB_LOCAL_CRASH_RATE", 0.0, 0.0, 0.9),
            crash_fanout=_flag(env, "APIHUB_LOCAL_CRASH_FANOUT"),
            backoff_scale=_number(env, "APIHUB_LOCAL_BACKOFF_SCALE", 1.0, 0.001, 1.0),
            aws_fault_rate=_number(env, "APIHUB_LOCAL_AWS_FAULT_RATE", 0.0, 0.0, 1.0),
            time_scale=_number(env, "APIHUB_LOCAL_TIME_SCALE", 0.01, 0.001, 1.0),
            dev_token=env.get("APIHUB_DEV_TOKEN") or None,
            json_logs=log_format == "json",
            exit_with_pid=_number(env, "APIHUB_LOCAL_EXIT_WITH_PID", 0, 0, 2**22, integer=True) or None,
        )


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise KnobError(
                f"127.0.0.1:{port} is not available ({exc.strerror}); set APIHUB_PORT to a free port"
            ) from None


def _local_process_environment() -> None:
    """This process talks to moto only: dummy credentials (never a real profile), no X-Ray."""
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(key, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "1",
        }
    )
    # EMF metrics are JSON documents printed for CloudWatch; locally they only bury the logs.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


def start_functions_on_moto(children: list[Child], **harness: Any) -> tuple[Harness, str]:
    """What every in-process stack (``make run``, ``make bench``) starts with: this process pointed
    at moto only, a moto server child process (appended to ``children``, so it stops with them), the
    template's resources and functions on it (a ``Harness`` built with ``harness``), every function
    imported up front so no first invocation pays for it. Returns the harness and moto's endpoint."""
    from apihub_local.harness import Harness

    _local_process_environment()
    moto = start_child("moto server", ["-m", "apihub_local.moto_server", "--port", "0"])
    children.append(moto)
    endpoint = str(moto.info["endpoint"])
    hub = Harness(endpoint=endpoint, **harness)
    hub.functions.preload()
    return hub, endpoint


def stop_in_order(api: Any, pollers: Any, children: list[Child]) -> None:
    """Stop an in-process stack in the reverse order of starting: no new requests, no new batches
    (in-flight ones finish or are abandoned after 5 s), then the child processes."""
    if api is not None:
        api.stop()
    if pollers is not None:
        pollers.stop(timeout_s=5.0)
    for child in reversed(children):
        child.stop()
    children.clear()


class LocalStack:
    """Starts everything (``start``), runs until stopped (``stop``, or a signal in ``run``)."""

    def __init__(self, knobs: Knobs) -> None:
        self.knobs = knobs
        self.children: list[Child] = []
        self.token: str | None = None
        self.url = f"http://127.0.0.1:{knobs.port}"
        self._stopped = threading.Event()
        self.api: Any = None
        self.pollers: Any = None
        self.stream_pollers: Any = None
        self.hub: Any = None
        self.aws_faults: Any = None
        self.demo_control: str | None = None

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        from apihub_cli import config
        from apihub_local import logs
        from apihub_local.demo import start_demo_suppliers
        from apihub_local.pollers import Pollers
        from apihub_local.server import LocalApi
        from apihub_local.streams import StreamPollers

        knobs = self.knobs
        _check_port_free(knobs.port)
        overrides = {"APIHUB_ALLOW_INSECURE_URLS": "true"}  # the fakes are http:// on loopback
        if os.environ.get("POWERTOOLS_LOG_LEVEL"):
            overrides["POWERTOOLS_LOG_LEVEL"] = os.environ["POWERTOOLS_LOG_LEVEL"]
        hub, endpoint = start_functions_on_moto(
            self.children,
            timeout_scale=knobs.time_scale,
            environment=overrides,
            duplicate=knobs.duplicate_delivery,
            crash_rate=knobs.crash_rate,
        )
        self.hub = hub
        from apihub_local import faults

        if knobs.crash_fanout:
            faults.crash_fanout_once_per_job()
        if knobs.backoff_scale != 1.0:
            faults.scale_retry_backoff(knobs.backoff_scale)
        logs.install(json_logs=knobs.json_logs)

        demo = start_demo_suppliers(knobs.demo_products, knobs.demo_latency_ms, knobs.demo_fail_rate)
        self.children += demo.children

        from apihub.dal.tokens import TokensRepository

        self.token = TokensRepository().create("admin", name="make run", token=knobs.dev_token)
        for body in demo.bodies():
            res = hub.api("POST", "/api/suppliers", json_body=body, token=self.token)
            if res.status not in (200, 201):
                raise RuntimeError(f"registering supplier {body['slug']!r} failed: HTTP {res.status} {res.json}")

        if knobs.aws_fault_rate:
            # After the stack's own set-up (token, suppliers), before any request or message: the
            # functions' calls are faulted, the local stack's machinery is not (aws_faults.py).
            from apihub_local.aws_faults import AwsFaults, install

            self.aws_faults = install(AwsFaults(knobs.aws_fault_rate, seed=None))
        self.pollers = Pollers(hub.mappings)
        self.pollers.start()
        self.stream_pollers = StreamPollers(hub.stream_mappings)
        self.stream_pollers.start()
        self.api = LocalApi(hub.gateway, knobs.port)
        self.api.start()

        # Where `apihub demo change` changes the fake supplier's catalog between imports.
        self.demo_control = f"{demo.promostandards.info['base_url']}/control/change"
        config.save_state(
            {
                "url": self.url,
                "pid": os.getpid(),
                "endpoint": endpoint,
                "environment": hub.stack.environment,
                "demo_control": self.demo_control,
            }
        )
        config_file = config.save_config(url=self.url, token=self.token)
        self._banner(demo.failing, str(config_file))

    def _banner(self, failing: list[str], config_file: str) -> None:
        k = self.knobs
        local = f"http://localhost:{k.port}"
        knobs = [f"products={k.demo_products}", f"time scale={k.time_scale:g}"]
        if k.demo_latency_ms:
            knobs.append(f"latency={k.demo_latency_ms}ms")
        if failing:
            knobs.append(f"failing SKUs={len(failing)} (APIHUB_DEMO_FAIL_RATE={k.demo_fail_rate:g})")
        if k.duplicate_delivery:
            knobs.append("duplicate delivery")
        if k.crash_rate:
            knobs.append(f"crash rate={k.crash_rate:g}")
        if k.crash_fanout:
            knobs.append("fan-out crash once per job")
        if k.backoff_scale != 1.0:
            knobs.append(f"retry backoff x{k.backoff_scale:g}")
        if k.aws_fault_rate:
            knobs.append(f"AWS fault rate={k.aws_fault_rate:g}")
        lines = [
            "",
            f"  apihub local stack   {', '.join(knobs)}",
            "  suppliers            demo (PromoStandardsAdapter), demo-rest (FourOverAdapter)",
            f"  admin token          {self.token}",
            f"  CLI config           {config_file}",
            "",
            "  Try:",
            f"    {local}/   (the jobs page; paste the token when it asks)",
            f'    curl -b "auth_token={self.token}" "{local}/api/sync-jobs?status=failed&limit=20"',
            "    .venv/bin/apihub import demo --mode full_sellable --watch",
            "    .venv/bin/apihub changes tail --supplier demo        (the change feed, like tail -f)",
            "    .venv/bin/apihub demo change --reprice 5 --drop 1    (then import again: updates, a discontinued product)",
            "",
            f"apihub is ready: {self.url} (Ctrl-C to stop)",
        ]
        print("\n".join(lines), flush=True)

    # ------------------------------------------------------------------ run / stop
    def run(self) -> int:
        """Start, then serve until SIGINT/SIGTERM or until a child process dies."""
        import logging

        log = logging.getLogger(log_name)

        def on_signal(signum: int, frame: Any) -> None:
            self._stopped.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        if self.knobs.exit_with_pid:
            exit_when_gone(self.knobs.exit_with_pid, self._stopped)
        code = 0
        try:
            self.start()
            while not self._stopped.wait(1.0):
                dead = [c for c in self.children if c.process.poll() is not None]
                if dead:
                    log.error("%s exited (code %s); stopping", dead[0].name, dead[0].process.returncode)
                    code = 1
                    break
        except KnobError as exc:
            print(f"apihub local stack: {exc}", file=sys.stderr)
            code = 2
        except Exception as exc:
            log.exception("local stack failed to start")
            print(f"apihub local stack failed: {exc}", file=sys.stderr)
            code = 1
        finally:
            self.stop()
        return code

    def stop(self) -> None:
        from apihub_cli import config

        self._stopped.set()
        if self.stream_pollers is not None:
            self.stream_pollers.stop(timeout_s=5.0)
        stop_in_order(self.api, self.pollers, self.children)
        if self.aws_faults is not None:
            from apihub_local.aws_faults import uninstall

            print(self.aws_faults.summary(), flush=True)
            uninstall()
            self.aws_faults = None
        state = config.load_state()
        if state.get("pid") == os.getpid():
            config.remove_state()
        print("apihub local stack stopped", flush=True)


def main() -> int:
    record_from_environment()  # for the test session's IAM check (docs/iam.md), when it asks
    try:
        knobs = Knobs.from_env()
    except KnobError as exc:
        print(f"apihub local stack: {exc}", file=sys.stderr)
        return 2
    return LocalStack(knobs).run()
