"""A virtual clock with cooperative processes: the simulation's notion of time.

Every piece of running code (a Lambda invocation, an API call, a sweeper run) is a :class:`Process`
on its own thread, but only one thread runs at a time: a process runs until it waits for virtual
time (``sleep``: a supplier's latency, a limiter's wait, a retry's backoff, an AWS call's latency),
then the kernel runs whatever is due next. So code between two waits takes no virtual time, and a
run is deterministic for a given seed and event order.

A process may have a **deadline** (a Lambda invocation's ``Timeout``). A wait that would end past
it ends at the deadline instead, with :class:`LambdaTimeout` raised in the process: the code after
the deadline does not run, as when Lambda stops a function (the exception unwinds the stack; any
AWS call it meets on the way raises again, see ``apihub_sim.aws``).
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from typing import Any


class LambdaTimeout(BaseException):
    """The invocation ran into its function's ``Timeout``. A ``BaseException`` so that no handler's
    ``except Exception`` can catch it: Lambda does not ask the code before stopping it."""


class SimulationStopped(BaseException):
    """The simulation ended while this process was waiting (its thread unwinds and exits)."""


_local = threading.local()


class Process:
    """Code running in virtual time on its own thread. ``result``/``error`` once ``done``."""

    def __init__(
        self,
        kernel: Kernel,
        name: str,
        target: Callable[[], Any],
        *,
        deadline: float | None = None,
        on_done: Callable[[Process], None] | None = None,
    ) -> None:
        self.kernel = kernel
        self.name = name
        self.target = target
        self.deadline = deadline
        self.on_done = on_done
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.killed = False  # ran into its deadline
        self.stopped = False  # the simulation ended under it
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        self._go = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"sim:{name}", daemon=True)

    def _main(self) -> None:
        self._go.wait()
        self._go.clear()
        _local.process = self
        try:
            if self.stopped:
                raise SimulationStopped(self.name)
            self.result = self.target()
        except BaseException as exc:  # recorded for the caller (``on_done``), never lost
            self.error = exc
        finally:
            self.done = True
            self.ended_at = self.kernel.now
            _local.process = None
            self.kernel._handback.set()

    def check(self) -> None:
        """Raise if this process may not go on (past its deadline, or the simulation ended)."""
        if self.stopped:
            raise SimulationStopped(self.name)
        if self.killed:
            raise LambdaTimeout(f"{self.name}: past its deadline")

    def remaining(self) -> float | None:
        """Virtual seconds before the deadline (None: no deadline)."""
        return None if self.deadline is None else max(0.0, self.deadline - self.kernel.now)


class Kernel:
    """Discrete-event scheduler over virtual seconds (``now``, from 0)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.running = False
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._handback = threading.Event()
        self._live: set[Process] = set()
        self.events = 0

    # ------------------------------------------------------------------ scheduling
    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run ``action`` (in the kernel, not a process: it must not wait) at virtual time ``when``."""
        heapq.heappush(self._heap, (max(when, self.now), next(self._seq), action))

    def spawn(
        self,
        name: str,
        target: Callable[[], Any],
        *,
        at: float | None = None,
        timeout: float | None = None,
        on_done: Callable[[Process], None] | None = None,
    ) -> Process:
        """Start ``target`` as a process at ``at`` (default now); ``timeout`` seconds later it is
        stopped with ``LambdaTimeout``. ``on_done(process)`` runs in the kernel when it ends."""
        start = self.now if at is None else max(at, self.now)
        process = Process(self, name, target, on_done=on_done)
        process._thread.start()
        self._live.add(process)

        def begin() -> None:
            process.started_at = self.now
            if timeout is not None:
                process.deadline = self.now + timeout
            self._resume(process)

        self.at(start, begin)
        return process

    def _resume(self, process: Process) -> None:
        self._handback.clear()
        process._go.set()
        self._handback.wait()
        if process.done:
            self._live.discard(process)
            if process.on_done is not None:
                process.on_done(process)

    # ------------------------------------------------------------------ what processes call
    def current(self) -> Process | None:
        process: Process | None = getattr(_local, "process", None)
        return process if process is not None and process.kernel is self else None

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of virtual time. In a process: yields to whatever is due meanwhile, and
        raises ``LambdaTimeout`` at the deadline if the wait would outlive it. Outside one (setting
        a scenario up, before ``run``): time simply moves on."""
        seconds = max(0.0, float(seconds))
        process = self.current()
        if process is None:
            if self.running:
                raise RuntimeError("virtual time can only pass inside a simulated process while the kernel runs")
            self.now += seconds
            return
        process.check()
        wake = self.now + seconds
        killed = process.deadline is not None and wake > process.deadline
        if killed:
            assert process.deadline is not None
            wake = process.deadline
        self.at(wake, lambda: self._resume(process))
        self._handback.set()
        process._go.wait()
        process._go.clear()
        if killed:
            process.killed = True
        process.check()

    # ------------------------------------------------------------------ running
    def next_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def run(self, until: float, stop: Callable[[], bool] | None = None) -> None:
        """Run events in time order up to virtual time ``until``, or until ``stop()`` (checked after
        every event) says so."""
        self.running = True
        try:
            while self._heap and self._heap[0][0] <= until:
                when, _, action = heapq.heappop(self._heap)
                self.now = when
                self.events += 1
                action()
                if stop is not None and stop():
                    return
        finally:
            self.running = False

    def shutdown(self) -> None:
        """End every process still waiting (its wait raises ``SimulationStopped``) and drop the
        events still due: nothing of this run outlives it."""
        self.running = True
        try:
            for process in list(self._live):
                process.stopped = True
                self._handback.clear()
                process._go.set()
                self._handback.wait()
                self._live.discard(process)
        finally:
            self.running = False
        self._heap.clear()

    @property
    def live(self) -> int:
        return len(self._live)
