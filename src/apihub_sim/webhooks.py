"""A timing model of webhook delivery, driven by the template's settings: how long a backlog of
deliveries takes, and how long one subscription's deliveries wait while another's are slow.

What it reads from ``template.yaml`` (with ``apihub_sim.timing.with_parameters`` for other
parameter values): ``DeliverWebhookFunction``'s SQS batch size, batching window and
``MaximumConcurrency``, its timeout, and ``APIHUB_WEBHOOK_IN_FLIGHT`` (deliveries one invocation
makes at once, ``apihub.changes.webhooks.handle_batch``).

What it models:

* ``MaximumConcurrency`` pollers; each takes a batch of up to the batch size when messages are
  visible (waiting up to the batching window for a full one), runs it and deletes it when the
  invocation ends (a message stays in flight until then).
* An invocation costs ``invoke_s``, one target read (``target_read_s``: GetItem and KMS Decrypt,
  once per subscription and batch, in parallel) and, per delivery, the receiver's latency then the
  delivery record's write (``record_s``); ``in_flight`` deliveries run at once, each thread taking
  the next delivery of the batch when its last one ends. A delivery's lag is from its message
  becoming visible to the receiver's answer.
* The queue: ``fair=True`` is SQS fair queueing as the deliveries queue uses it (every message's
  group is its subscription, ``apihub.dal.queues.webhook_group``): a receive takes messages from
  the group with the fewest messages in flight first, each group's own in arrival order.
  ``fair=False`` is a plain standard queue: arrival order over all groups.

It is a model of Lambda's and SQS's scheduling, not of the code's correctness: the code's part
(a batch's deliveries at once, every message in its subscription's group) is tested on moto in
``tests/integration/test_webhook_throughput.py``. The per-call costs are assumptions of the model,
stated in docs/changes.md with its figures.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any

from apihub_local.template import Template
from apihub_sim.timing import TemplateTiming

INVOKE_S = 0.03  # Lambda's poll-to-invoke-to-delete cycle of one batch
TARGET_READ_S = 0.03  # one GetItem and one KMS Decrypt
RECORD_S = 0.01  # one PutItem (the delivery record)


@dataclass(frozen=True)
class DeliveryFleet:
    """The delivery side's settings, as deployed."""

    batch_size: int
    max_concurrency: int
    in_flight: int
    batching_window_s: float
    timeout_s: float
    invoke_s: float = INVOKE_S
    target_read_s: float = TARGET_READ_S
    record_s: float = RECORD_S

    @classmethod
    def from_template(cls, template: Template | None = None) -> DeliveryFleet:
        tpl = template or Template()
        timing = TemplateTiming.read(tpl)
        fn = timing.function_by_folder("deliver_webhook")
        source = timing.source_for(fn.logical_id)
        variables = (tpl.globals.get("Environment") or {}).get("Variables") or {}
        in_flight = tpl._int(variables.get("APIHUB_WEBHOOK_IN_FLIGHT"))
        if in_flight is None:
            raise ValueError("template: APIHUB_WEBHOOK_IN_FLIGHT is not set for the functions")
        if source.max_concurrency is None:
            raise ValueError("template: DeliverWebhookFunction's event source has no MaximumConcurrency")
        return cls(
            batch_size=source.batch_size,
            max_concurrency=source.max_concurrency,
            in_flight=in_flight,
            batching_window_s=float(source.batching_window_s),
            timeout_s=float(fn.timeout_s),
        )

    @property
    def most_in_flight(self) -> int:
        """Deliveries in flight at once, all invocations together (one subscription can have them all)."""
        return self.max_concurrency * min(self.batch_size, self.in_flight)

    def describe(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "max_concurrency": self.max_concurrency,
            "in_flight_per_invocation": self.in_flight,
            "most_in_flight": self.most_in_flight,
            "batching_window_s": self.batching_window_s,
            "function_timeout_s": self.timeout_s,
        }


@dataclass(frozen=True)
class Arrivals:
    """``count`` deliveries for ``subscription``, the first visible at ``start_s`` and one every
    ``every_s`` after it (0: all at once, a backlog); the receiver answers each after ``latency_s``."""

    subscription: str
    count: int
    latency_s: float
    start_s: float = 0.0
    every_s: float = 0.0


@dataclass
class Outcome:
    """Per subscription: every delivery's lag (visible -> answered), and when its last one ended."""

    lags: dict[str, list[float]] = field(default_factory=dict)
    finished_s: dict[str, float] = field(default_factory=dict)
    invocations: int = 0
    longest_invocation_s: float = 0.0

    def lag(self, subscription: str, pct: float) -> float:
        values = sorted(self.lags[subscription])
        return values[min(len(values) - 1, int(pct / 100 * len(values)))]


@dataclass
class _Run:
    """Deliveries of one ``Arrivals`` not taken yet: the ``taken``-th is the next."""

    arrivals: Arrivals
    taken: int = 0

    def visible_at(self, index: int) -> float:
        return self.arrivals.start_s + index * self.arrivals.every_s

    def visible(self, now: float) -> int:
        a = self.arrivals
        if now < a.start_s:
            return 0
        shown = a.count if a.every_s <= 0 else min(a.count, int((now - a.start_s) / a.every_s + 1e-9) + 1)
        return shown - self.taken


@dataclass(frozen=True)
class _Slice:
    """``count`` consecutive deliveries of one run, taken by one receive."""

    run: _Run
    first: int
    count: int


class _Queue:
    def __init__(self, arrivals: list[Arrivals], fair: bool) -> None:
        self.fair = fair
        self.runs: dict[str, list[_Run]] = {}
        for a in arrivals:
            self.runs.setdefault(a.subscription, []).append(_Run(a))
        self.in_flight = dict.fromkeys(self.runs, 0)

    def _head(self, group: str, now: float) -> tuple[_Run, int] | None:
        """The group's oldest visible run and how many of it are visible."""
        for run in self.runs[group]:
            n = run.visible(now)
            if n > 0:
                return run, n
        return None

    def visible(self, now: float) -> int:
        return sum(max(0, run.visible(now)) for runs in self.runs.values() for run in runs)

    def next_visible_at(self, now: float) -> float | None:
        """When the next message not visible at ``now`` becomes visible."""
        times = [
            run.visible_at(run.taken + max(0, run.visible(now)))
            for runs in self.runs.values()
            for run in runs
            if run.taken + max(0, run.visible(now)) < run.arrivals.count
        ]
        return min(times) if times else None

    def take(self, n: int, now: float) -> list[_Slice]:
        out: list[_Slice] = []
        while n > 0:
            heads = {g: h for g in self.runs if (h := self._head(g, now)) is not None}
            if not heads:
                break
            if self.fair:
                group = min(heads, key=lambda g: (self.in_flight[g], heads[g][0].visible_at(heads[g][0].taken)))
                others = [self.in_flight[g] for g in heads if g != group]
                # Take from this group until another has fewer in flight (all of it when alone).
                room = n if not others else max(1, min(others) - self.in_flight[group] + 1)
            else:
                group = min(heads, key=lambda g: heads[g][0].visible_at(heads[g][0].taken))
                later = [h[0].visible_at(h[0].taken) for g, h in heads.items() if g != group]
                run = heads[group][0]
                # Arrival order: up to the first message of another group that is older.
                room = (
                    n if not later else max(1, sum(1 for i in range(n) if run.visible_at(run.taken + i) <= min(later)))
                )
            run, visible = heads[group]
            k = min(n, visible, room)
            out.append(_Slice(run, run.taken, k))
            run.taken += k
            self.in_flight[group] += k
            n -= k
        return out

    def done(self, batch: list[_Slice]) -> None:
        for piece in batch:
            self.in_flight[piece.run.arrivals.subscription] -= piece.count


def _run_batch(fleet: DeliveryFleet, start: float, batch: list[_Slice], out: Outcome) -> float:
    """Run one invocation's batch from ``start``: records each delivery's lag; returns when it ends."""
    begin = start + fleet.invoke_s + fleet.target_read_s
    size = sum(piece.count for piece in batch)
    if fleet.in_flight >= size:  # one wave: every delivery starts at once
        ends = begin
        for piece in batch:
            a = piece.run.arrivals
            answer = begin + a.latency_s
            base, every = answer - a.start_s, a.every_s
            out.lags[a.subscription].extend([base - i * every for i in range(piece.first, piece.first + piece.count)])
            out.finished_s[a.subscription] = max(out.finished_s.get(a.subscription, 0.0), answer)
            ends = max(ends, answer + fleet.record_s)
        return ends
    threads = [begin] * fleet.in_flight  # each thread takes the batch's next delivery when free
    for piece in batch:
        a = piece.run.arrivals
        for i in range(piece.count):
            answer = heapq.heappop(threads) + a.latency_s
            out.lags[a.subscription].append(answer - piece.run.visible_at(piece.first + i))
            out.finished_s[a.subscription] = max(out.finished_s.get(a.subscription, 0.0), answer)
            heapq.heappush(threads, answer + fleet.record_s)
    return max(threads)


def simulate(fleet: DeliveryFleet, arrivals: list[Arrivals], *, fair: bool = True) -> Outcome:
    """Run the deliveries of ``arrivals`` through ``fleet`` in virtual time."""
    queue = _Queue(arrivals, fair)
    out = Outcome(lags={a.subscription: [] for a in arrivals})
    pollers: list[tuple[float, int, bool]] = [(0.0, n, False) for n in range(fleet.max_concurrency)]
    releases: list[tuple[float, int, list[_Slice]]] = []  # batches in flight, deleted when they end
    order = itertools.count()
    total = sum(a.count for a in arrivals)
    handled = 0
    while handled < total:
        now, poller, waited = heapq.heappop(pollers)
        while releases and releases[0][0] <= now:
            queue.done(heapq.heappop(releases)[2])
        visible = queue.visible(now)
        if not visible:  # idle until the next message is visible
            nxt = queue.next_visible_at(now)
            assert nxt is not None  # some delivery is neither taken nor visible
            heapq.heappush(pollers, (nxt, poller, False))
            continue
        if visible < fleet.batch_size and not waited and fleet.batching_window_s > 0:
            # The batching window: wait for a full batch, at most the window.
            heapq.heappush(pollers, (now + fleet.batching_window_s, poller, True))
            continue
        batch = queue.take(fleet.batch_size, now)
        ends = _run_batch(fleet, now, batch, out)
        out.invocations += 1
        out.longest_invocation_s = max(out.longest_invocation_s, ends - now)
        handled += sum(piece.count for piece in batch)
        heapq.heappush(releases, (ends, next(order), batch))
        heapq.heappush(pollers, (ends, poller, False))
    return out
