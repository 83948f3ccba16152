"""The local stack as a user starts it (``make run`` / ``python -m apihub_local``), in its own
process group on free loopback ports, with its CLI config and state in a temporary directory.
Every stack is stopped (process group killed) when its fixture ends."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
READY = re.compile(r"apihub is ready: (http://127\.0\.0\.1:\d+)")
START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningStack:
    process: subprocess.Popen[bytes]
    url: str
    port: int
    token: str
    log: Path
    env: dict[str, str]
    banner: list[str] = field(default_factory=list)

    def api(self, method: str, path: str, *, token: str | None = "admin", **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {self.token if token == 'admin' else token}"
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def all_pages(self, path: str) -> list[dict[str, Any]]:
        """Every item of a paginated list (``limit`` 1000, following ``X-Next-Token``), as admin."""
        items: list[dict[str, Any]] = []
        token = None
        while True:
            res = self.api("GET", path, params={"limit": 1000, **({"next_token": token} if token else {})})
            assert res.status_code == 200, res.text
            items += res.json()
            token = res.headers.get("X-Next-Token")
            if not token:
                return items

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """``apihub ARGS`` against this stack, configured the documented way (APIHUB_URL/APIHUB_TOKEN)."""
        env = {**self.env, "APIHUB_URL": self.url, "APIHUB_TOKEN": self.token, "COLUMNS": "200"}
        return subprocess.run(
            [str(VENV_BIN / "apihub"), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def group_gone(self, within_s: float) -> bool:
        """Whether every process of the stack's group (stack, moto server, fakes) has exited within
        ``within_s`` seconds."""
        deadline = time.monotonic() + within_s
        while True:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def stop(self) -> None:
        """Kill the whole process group (stack, moto server, fakes) and reap the leader."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            pass
        if self.group_gone(within_s=15):
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)


@contextmanager
def running_stack(tmp: Path, command: list[str] | None = None, **knobs: str) -> Iterator[RunningStack]:
    """The local stack, started by ``command`` (default ``python -m apihub_local``) with the
    environment ``knobs`` (``APIHUB_DEMO_PRODUCTS="20"``, ...) and its state in ``tmp``, for the
    ``with`` block; stopped (its whole process group) when the block ends."""
    stack = _start_stack(tmp, command or [str(VENV_BIN / "python"), "-m", "apihub_local"], knobs)
    try:
        yield stack
    finally:
        stack.stop()


def _start_stack(tmp: Path, command: list[str], knobs: dict[str, str]) -> RunningStack:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("APIHUB_", "AWS_"))},
        "APIHUB_PORT": str(port),
        "APIHUB_CONFIG": str(tmp / "config.json"),
        "APIHUB_LOCAL_STATE": str(tmp / "local-stack.json"),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "APIHUB_LOCAL_EXIT_WITH_PID": str(os.getpid()),  # a killed test run leaves no stack behind
        # The stack records its functions' AWS calls for the session's IAM check (docs/iam.md).
        **{k: v for k, v in os.environ.items() if k == "APIHUB_RECORD_AWS_CALLS"},
        **knobs,
    }
    env.pop("MAKEFLAGS", None)
    log = tmp / "stack.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    stack = RunningStack(process=process, url="", port=port, token="", log=log, env=env)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        text = log.read_text(errors="replace")
        match = READY.search(text)
        if match:
            break
        if process.poll() is not None or time.monotonic() > deadline:
            stack.stop()
            pytest.fail(f"local stack did not become ready (exit code {process.poll()}):\n{stack.log_tail()}")
        time.sleep(0.2)
    stack.url = match.group(1)
    stack.banner = text.splitlines()
    stack.token = json.loads((tmp / "config.json").read_text())["token"]
    return stack


@pytest.fixture
def stack_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RunningStack]]:
    """``stack_factory(command=None, **env)``: a running stack, stopped at the end of the test."""
    with ExitStack() as started:

        def factory(command: list[str] | None = None, **knobs: str) -> RunningStack:
            return started.enter_context(running_stack(tmp_path_factory.mktemp("stack"), command, **knobs))

        yield factory


@pytest.fixture(scope="module")
def demo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One stack for a module, started exactly as the README says: ``make run``."""
    with running_stack(
        tmp_path_factory.mktemp("stack"),
        ["make", "--no-print-directory", "run"],
        APIHUB_DEMO_PRODUCTS="60",
        APIHUB_DEMO_FAIL_RATE="0.1",
    ) as stack:
        yield stack
