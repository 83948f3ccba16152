"""Runs the template's SQS event source mappings continuously, as Lambda's pollers do.

Each mapping (``apihub_local.sqs.EventSourceMapping``: BatchSize, ReportBatchItemFailures, the
crash/duplicate knobs) gets one worker thread per unit of ``ScalingConfig.MaximumConcurrency``, so
at most that many invocations of the function run at once for that queue. Workers long-poll
(``WaitTimeSeconds``); a message that is not deleted reappears after the queue's visibility timeout,
and the queue's redrive policy moves it to its DLQ after ``maxReceiveCount`` receives, as in SQS.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from apihub_local.sqs import EventSourceMapping

log = logging.getLogger("apihub.local.pollers")

# Lambda's default when a mapping sets no MaximumConcurrency is "scale up as needed"; locally a
# handful of workers is plenty.
DEFAULT_CONCURRENCY = 5
LONG_POLL_S = 2  # short enough that stopping never waits long for an idle poller


class PollingThreads:
    """Worker threads that each call a ``poll`` function until stopped: the loop that Lambda's
    pollers run, shared by the SQS mappings (``Pollers``) and the stream mappings
    (``apihub_local.streams.StreamPollers``). A poll that fails (moto restarting, the stack
    stopping) is logged once and retried with a capped backoff; a poll that delivered nothing
    waits ``idle_s`` (0 for a long poll, which waits by itself)."""

    def __init__(self, idle_s: float = 0.0) -> None:
        self.idle_s = idle_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def spawn(self, name: str, poll: Callable[[], int]) -> None:
        thread = threading.Thread(target=self._work, args=(name, poll), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _work(self, name: str, poll: Callable[[], int]) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                delivered = poll()
                failures = 0
            except Exception:  # moto restarting, stack stopping: back off and try again
                if self._stop.is_set():
                    return
                failures += 1
                if failures == 1:
                    log.warning("poller %s could not reach its source", name, exc_info=True)
                self._stop.wait(min(5.0, 0.2 * 2**failures))
                continue
            if not delivered and self.idle_s:
                self._stop.wait(self.idle_s)

    def stop_threads(self, timeout_s: float) -> None:
        """Stop polling; invocations in flight get ``timeout_s`` to finish."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class Pollers(PollingThreads):
    def __init__(self, mappings: list[EventSourceMapping], *, long_poll_s: int = LONG_POLL_S) -> None:
        super().__init__()
        self.mappings = mappings
        self.long_poll_s = long_poll_s

    def start(self) -> None:
        for mapping in self.mappings:
            workers = mapping.source.max_concurrency or DEFAULT_CONCURRENCY
            for n in range(workers):
                self.spawn(f"{mapping.fn.logical_id}-{n}", partial(mapping.poll_once, wait_seconds=self.long_poll_s))
            log.info(
                "event source mapping %s -> %s: batch size %d, max concurrency %d, report batch item failures %s",
                mapping.source.queue,
                mapping.fn.logical_id,
                mapping.source.batch_size,
                workers,
                mapping.source.report_failures,
            )

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop receiving; invocations in flight get ``timeout_s`` to finish."""
        self.stop_threads(timeout_s)
        for mapping in self.mappings:
            st = mapping.stats
            log.info(
                "%s: %d invocations, %d messages, %d partial failures, %d errors, %d simulated crashes",
                mapping.fn.logical_id,
                st.invocations,
                st.messages,
                st.failures,
                st.errors,
                st.crashes,
            )
