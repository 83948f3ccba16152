"""Fault knobs of the local stack beyond ``duplicate`` and ``crash_rate`` (``sqs.py``).

- ``crash_fanout_once_per_job``: the first fan-out of each job sends half of its first batch of
  hydrate messages, then its discovery invocation fails (``APIHUB_LOCAL_CRASH_FANOUT=1``). The
  discovery message comes back after its visibility timeout and the fan-out resumes from the last
  chunk it recorded, so some hydrate messages are sent twice: exactly-once outcomes must absorb it.
- ``scale_retry_backoff``: the backoff the hydrate function asks for on a transient supplier error
  (10 s, 20 s, ... via ``ChangeMessageVisibility``) is multiplied by this factor, rounded up to whole
  seconds (``APIHUB_LOCAL_BACKOFF_SCALE``), so a message reaches its last receive in seconds.

Both wrap ``apihub.dal.queues`` functions in this process (the handlers run here); production code
is unchanged. Dev-only, like the rest of ``apihub_local``.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from typing import Any

from apihub_local.runtime import current_function

log = logging.getLogger("apihub.local.faults")


class SimulatedFanoutCrash(RuntimeError):
    """Raised inside a discovery invocation half way through its fan-out."""


def crash_fanout_once_per_job() -> None:
    from apihub.dal import queues

    original = queues.send_hydrate_batch
    crashed: set[str] = set()
    lock = threading.Lock()

    def send_hydrate_batch(bodies: Sequence[dict[str, Any]], *args: Any, **kwargs: Any) -> int:
        job_id = str(bodies[0].get("job_id")) if bodies else ""
        if current_function() != "DiscoverFunction" or len(bodies) < 2:
            return original(bodies, *args, **kwargs)
        with lock:
            first = job_id not in crashed
            crashed.add(job_id)
        if not first:
            return original(bodies, *args, **kwargs)
        half = len(bodies) // 2
        original(bodies[:half], *args, **kwargs)
        log.warning(
            "simulated crash half way through fan-out: job %s, %d of %d hydrate messages sent",
            job_id,
            half,
            len(bodies),
        )
        raise SimulatedFanoutCrash(f"simulated crash half way through fan-out of job {job_id}")

    queues.send_hydrate_batch = send_hydrate_batch


def scale_retry_backoff(scale: float) -> None:
    from apihub.dal import queues

    original = queues.delay_retry

    def delay_retry(queue_url: str, receipt_handle: str, seconds: int) -> None:
        original(queue_url, receipt_handle, math.ceil(seconds * scale) if seconds > 0 else 0)

    queues.delay_retry = delay_retry
