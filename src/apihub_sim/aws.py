"""AWS calls in virtual time: every HTTP attempt a simulated process makes to DynamoDB or SQS costs
``latency_s`` of virtual time (so concurrent invocations interleave at their AWS calls, as they do
in AWS), and a process past its deadline makes none (Lambda stopped it: ``LambdaTimeout`` again).

A ``before-send`` handler registered first on apihub's clients, ahead of the AWS fault hook
(``apihub_local.aws_faults``, registered after it) and of the simulated SQS (``apihub_sim.sqs``).
Calls made outside a process (setting a scenario up, auditing it) take no time.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from apihub_sim.kernel import Kernel


class AwsCalls:
    UNIQUE_ID = "apihub-sim-aws-latency"
    EVENTS = ("before-send.dynamodb", "before-send.sqs")

    def __init__(self, kernel: Kernel, latency_s: float = 0.005) -> None:
        self.kernel = kernel
        self.latency_s = latency_s
        self.attempts: Counter[str] = Counter()
        self._clients: list[Any] = []

    def hook(self, client: Any) -> None:
        for event in self.EVENTS:
            client.meta.events.register_first(event, self._before_send, unique_id=f"{self.UNIQUE_ID}:{event}")
        self._clients.append(client)

    def unhook(self) -> None:
        for client in self._clients:
            for event in self.EVENTS:
                client.meta.events.unregister(event, unique_id=f"{self.UNIQUE_ID}:{event}")
        self._clients.clear()

    def _before_send(self, event_name: str, **_: Any) -> None:
        process = self.kernel.current()
        if process is None:
            return
        process.check()  # stopped at its deadline: no more AWS calls
        self.attempts[event_name.rsplit(".", 1)[-1]] += 1
        if self.latency_s:
            self.kernel.sleep(self.latency_s)
