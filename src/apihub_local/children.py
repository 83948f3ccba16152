"""Child processes of the local stack (moto server, fake suppliers): started, read, stopped.

Every child dies with the stack. Ctrl-C in a terminal reaches the whole process group anyway;
for a parent that is killed outright, each child also asks the kernel for SIGTERM when its parent
dies (Linux ``PR_SET_PDEATHSIG``) and watches its parent id as a portable fallback.

``python -m apihub_local.children MODULE ARGS...`` runs ``python -m MODULE ARGS...`` with that
protection (used for the fake suppliers, whose own entry points know nothing about it).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

PARENT_ENV = "APIHUB_LOCAL_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def exit_with_parent() -> None:
    """In a child: terminate (SIGTERM to self, so signal handlers run) when the parent goes away."""
    expected = int(os.environ.get(PARENT_ENV) or os.getppid())
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    def watch() -> None:
        while os.getppid() == expected:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        os._exit(1)  # signal handlers did not finish in time

    if os.getppid() != expected:
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def exit_when_gone(pid: int, stop: threading.Event) -> None:
    """Set ``stop`` once process ``pid`` (not necessarily our parent) no longer exists: for a
    process whose starter may be killed outright while it runs in a session of its own."""

    def watch() -> None:
        while not stop.wait(0.5):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                stop.set()
            except PermissionError:
                pass  # it exists, as another user's

    threading.Thread(target=watch, name="starter-watch", daemon=True).start()


@dataclass
class Child:
    """A running child process that announced itself with one JSON line on stdout."""

    name: str
    process: subprocess.Popen[str]
    info: dict[str, Any] = field(default_factory=dict)

    def stop(self, grace_s: float = 5.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start_child(name: str, args: list[str], *, ready_timeout_s: float = 30.0) -> Child:
    """Start ``python args...`` and wait for its JSON announcement line; later stdout lines are
    forwarded to ours. Raises ``RuntimeError`` with what is known when it does not come up."""
    env = dict(os.environ)
    env[PARENT_ENV] = str(os.getpid())
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    first: list[str] = []
    announced = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if not announced.is_set():
                first.append(line)
                announced.set()
            else:
                sys.stdout.write(line)
        announced.set()

    threading.Thread(target=pump, name=f"{name}-stdout", daemon=True).start()
    if not announced.wait(ready_timeout_s) or not first:
        process.kill()
        raise RuntimeError(f"{name} did not start (exit code {process.poll()}); see its messages above")
    try:
        info = json.loads(first[0])
    except ValueError:
        process.kill()
        raise RuntimeError(f"{name} announced something unexpected: {first[0]!r}") from None
    return Child(name=name, process=process, info=info)


def run_module_as_child(argv: list[str]) -> None:
    """``python -m apihub_local.children MODULE ARGS...``"""
    if not argv:
        raise SystemExit("usage: python -m apihub_local.children MODULE [ARGS...]")
    exit_with_parent()
    sys.argv = [argv[0], *argv[1:]]
    runpy.run_module(argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    run_module_as_child(sys.argv[1:])
