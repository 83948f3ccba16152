"""Followers of both pull APIs miss nothing and receive nothing twice, however late a change becomes
readable after taking its position (issue 23; docs/changes.md, "Nothing is skipped"; docs/inventory.md,
"Following stock changes").

A change takes its position (the change log's ``logged_at``, a stock item's ``changed_at``) and becomes
readable later: a PutItem waiting on throttling retries, a stream batch slower than another, a hydrate
batch committing up to ``hydrate_commit_every_s`` after its reads, several invocations committing at
once. The property draws such writers (a position, then a delay up to the bound the docs prove) and
followers polling at any moment with the cursor of their last page; each follower's union must be the
whole log, in order, once. A virtual clock (``utcnow`` of the data layer) stands for time.

``APIHUB_FEED_PBT_EXAMPLES`` sets the examples, as for the change feed's other property (``make test``:
5, derandomized; ``make verify``: ``FEED_PBT_EXAMPLES``, with fresh randomness).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apihub.changes.events import ChangeEvent, EventType
from apihub.dal import changes as changes_module
from apihub.dal import inventory as inventory_module
from apihub.dal.changes import SETTLE_BOUND_MS, ChangesRepository
from apihub.dal.inventory import InventoryRepository, inventory_write
from apihub.dal.jobs import JobsRepository
from apihub.dal.tables import ChangeItem, InventoryItem
from apihub.inventory.models import Inventory
from apihub.models import iso
from apihub.settings import get_settings
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pynamodb.exceptions import PutError

from apihub_local.aws_faults import inject_aws_faults

EXAMPLES = int(os.environ.get("APIHUB_FEED_PBT_EXAMPLES", "5"))
DERANDOMIZE = os.environ.get("APIHUB_PBT_RANDOM", "") not in ("1", "true")
# Just before midnight: the log's day partitions change while the followers read.
T0 = datetime(2026, 12, 1, 23, 59, 50, tzinfo=UTC)
# How late a stock change can become readable: a hydrate invocation writes what it read before it
# ends (HydrateFunction's Timeout in template.yaml), a live read inside the API's 29 s.
INVENTORY_DELAY_MAX_MS = 150_000


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, ms: int) -> None:
        self.now = T0 + timedelta(milliseconds=ms)


@pytest.fixture
def clock(hub: Any, monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(changes_module, "utcnow", c)
    monkeypatch.setattr(inventory_module, "utcnow", c)
    return c


def change(n: int, supplier: str = "sup-1", job: str | None = "job-1") -> ChangeEvent:
    return ChangeEvent(
        id=f"evt_{n:032x}",
        type=EventType.product_created if n % 3 else EventType.product_updated,
        occurred_at=iso(T0) or "",
        supplier_id=supplier,
        product_id=f"P-{n}",
        job_id=job,
    )


def land_change(event: ChangeEvent, position_ms: int) -> None:
    """A log write that took its position at ``position_ms`` and lands now."""
    repo = ChangesRepository()
    repo.item(event, logged=T0 + timedelta(milliseconds=position_ms)).save(condition=repo.put_condition())


def land_stock(product: str, position_ms: int) -> None:
    """A stock write read from the supplier at ``position_ms`` that commits now."""
    read_at = iso(T0 + timedelta(milliseconds=position_ms)) or ""
    write = inventory_write("sup-1", Inventory(product_id=product), f"hash-{product}", read_at)
    assert not isinstance(write, str)
    write.item.save()


def the_log() -> list[str]:
    """Every event id in the log's order."""
    return [str(i.id) for i in sorted(ChangeItem.scan(), key=lambda i: str(i.log_sort))]


@dataclass
class ChangesFollower:
    limit: int
    filters: dict[str, str] = field(default_factory=dict)
    since: str = iso(T0 - timedelta(minutes=1)) or ""  # where it started following
    token: str | None = None
    seen: list[str] = field(default_factory=list)

    def poll(self) -> bool:
        """One request with the last cursor; True when it brought something."""
        since = None if self.token else self.since
        events, cursor = ChangesRepository().list(self.filters, self.limit, since=since, next_token=self.token)
        self.seen += [e.id for e in events]
        if cursor is not None:
            self.token = cursor.token()
        return bool(events)


@dataclass
class StockFollower:
    limit: int
    since: datetime = T0 - timedelta(hours=1)
    token: str | None = None
    seen: list[str] = field(default_factory=list)

    def poll(self) -> bool:
        stamps, cursor = InventoryRepository().changed_since("sup-1", self.since, self.limit, self.token)
        self.seen += [s.product_id for s in stamps]
        if cursor is not None:
            self.token = cursor.token()
        return bool(stamps)


def catch_up(clock: Clock, followers: list[Any], settle_ms: int) -> None:
    """Past every delay: each follower polls until a page brings nothing."""
    clock.now += timedelta(milliseconds=settle_ms + 1000)
    for follower in followers:
        for _ in range(200):
            if not follower.poll():
                break


# ------------------------------------------------------------------ the cases the review reproduced


def test_a_log_write_landing_late_is_not_passed_by_a_follower(clock: Clock) -> None:
    # Given P-1 takes its position at 0 s and its PutItem waits 4 s (throttled), while P-2 is
    # positioned at 1 s and lands at once
    follower = ChangesFollower(limit=100)
    clock.at(1000)
    land_change(change(2), 1000)
    # When a follower polls at 3.5 s, before P-1 has landed, and again once it has
    clock.at(3500)
    follower.poll()
    clock.at(4000)
    land_change(change(1), 0)
    catch_up(clock, [follower], get_settings().changes_settle_ms)
    # Then it has both, in the log's order, once
    assert follower.seen == the_log() == [change(1).id, change(2).id]


def test_a_slow_job_ending_is_not_passed_by_a_follower(hub: Any, clock: Clock) -> None:
    """The ending transaction logs ``job.finished``: its attempts are bounded like every log write.
    Each of its first three HTTP attempts is answered ``ThrottlingException`` after 4 s; botocore's
    own retries (the shared client's) would resend the first attempt's position and land it 12 s
    late, behind a follower that polled meanwhile."""
    # Given a pending import, and a change positioned 1 s after its ending starts
    hub.add_supplier("demo", protocol_config={"products": 3})
    res = hub.start_import("demo", mode="full_sellable")
    assert res.status == 202, res.json
    job_id = res.json["sync_job_id"]
    land_change(change(1), 1000)
    follower = ChangesFollower(limit=100)
    attempts: list[datetime] = []

    def slow_then_answered(service: str, operation: str) -> str | None:
        attempts.append(clock.now)
        if len(attempts) > 3:
            return None
        clock.now += timedelta(seconds=4)
        if len(attempts) == 3:
            follower.poll()  # 12 s after the first attempt: reads past its position
        return "throttling"

    # When the job is ended at 0 s and its transaction's attempts are slow
    clock.at(0)
    with inject_aws_faults(1.0, kinds={"throttling"}, operations={"TransactWriteItems"}, chooser=slow_then_answered):
        assert JobsRepository().fail(job_id, "stopped by a test")
    catch_up(clock, [follower], get_settings().changes_settle_ms)
    # Then the follower has job.finished, once, in the log's order
    finished = [str(i.id) for i in ChangeItem.scan(ChangeItem.type == "job.finished")]
    assert len(finished) == 1 and len(attempts) == 4
    assert follower.seen == the_log() == [change(1).id, finished[0]]


def test_a_page_filled_at_the_end_of_a_day_resumes_on_the_next_day(clock: Clock) -> None:
    # Given two events logged before midnight and one after, all settled
    for n, position_ms in ((1, 1000), (2, 2000), (3, 12_000)):
        clock.at(position_ms)
        land_change(change(n), position_ms)
    clock.at(30_000)
    # When a follower reads pages of 2: the first ends exactly with the first day
    follower = ChangesFollower(limit=2)
    follower.poll()
    assert follower.seen == [change(1).id, change(2).id]
    follower.poll()
    # Then the next page starts the next day
    assert follower.seen == the_log() == [change(1).id, change(2).id, change(3).id]


def test_a_retried_log_write_takes_its_position_at_the_attempt_that_lands(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the first PutItem of an event is throttled and the retry comes 4 s later
    real_save = ChangeItem.save
    calls: list[str] = []

    def throttled_once(item: ChangeItem, *args: Any, **kwargs: Any) -> Any:
        calls.append(str(item.logged_at))
        if len(calls) == 1:
            clock.now += timedelta(seconds=4)
            throttled = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
            raise PutError("throttled", cause=ClientError(throttled, "PutItem"))  # type: ignore[arg-type]
        return real_save(item, *args, **kwargs)

    monkeypatch.setattr(ChangeItem, "save", throttled_once)
    ChangesRepository().record([change(1)])
    # Then the event's position is the attempt that landed, not the first one
    (item,) = ChangeItem.scan()
    assert calls == [iso(T0), iso(T0 + timedelta(seconds=4))]
    assert item.logged_at == iso(T0 + timedelta(seconds=4))


def test_the_settle_window_is_longer_than_a_log_write_can_take() -> None:
    # The proof in docs/changes.md: one attempt of the log's client, plus the index's margin
    assert get_settings().changes_settle_ms >= SETTLE_BOUND_MS
    assert ChangeItem.Meta.max_retry_attempts == 0  # botocore's retries would reuse the position


def test_a_late_hydrate_commit_is_not_passed_by_a_changed_since_follower(clock: Clock) -> None:
    # Given X read at 35.49 s and committed at 50 s (its batch's commit interval), while another
    # invocation's Y, read at 40 s, commits at 41 s
    follower = StockFollower(limit=100)
    clock.at(41_000)
    land_stock("Y", 40_000)
    # When a follower polls at 45 s, and again after X committed
    clock.at(45_000)
    follower.poll()
    clock.at(50_000)
    land_stock("X", 35_490)
    catch_up(clock, [follower], get_settings().inventory_changes_settle_s * 1000)
    # Then it has both, oldest change first, once; and the last page gave a cursor to poll with
    assert follower.seen == ["X", "Y"]
    assert follower.token is not None


# ------------------------------------------------------------------ the property


# (position ms, delay ms) per write; (follower, time ms) per poll; the page size
Timeline = tuple[list[tuple[int, int]], list[tuple[int, int]], int]


def polls_until(last_ms: int) -> st.SearchStrategy[list[tuple[int, int]]]:
    """Polls: (which follower, when)."""
    return st.lists(st.tuples(st.integers(0, 2), st.integers(0, last_ms)), max_size=12)


@st.composite
def change_timelines(draw: st.DrawFn) -> Timeline:
    """Writes (position ms, delay ms up to the proven bound) and polls (follower, time ms)."""
    positions = draw(st.lists(st.integers(0, 20_000), min_size=1, max_size=8))
    # Delays up to the bound, the bound itself often (the late writes are the ones that matter)
    delays = st.integers(0, SETTLE_BOUND_MS) | st.just(SETTLE_BOUND_MS)
    writes = [(p, draw(delays)) for p in positions]
    polls = draw(polls_until(30_000))
    return writes, polls, draw(st.integers(1, 4))


@st.composite
def stock_timelines(draw: st.DrawFn) -> Timeline:
    positions = draw(st.lists(st.integers(0, 300_000), min_size=1, max_size=8, unique=True))
    delays = st.integers(0, INVENTORY_DELAY_MAX_MS) | st.just(INVENTORY_DELAY_MAX_MS)
    writes = [(p, draw(delays)) for p in positions]
    polls = draw(polls_until(500_000))
    return writes, polls, draw(st.integers(1, 4))


PROPERTY = settings(
    max_examples=EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def run_timeline(
    clock: Clock, writes: list[tuple[int, int]], polls: list[tuple[int, int]], followers: list[Any], land: Any
) -> None:
    """Play the writes (each landing at position + delay) and the polls in time order."""
    steps = [(p + d, 0, n) for n, (p, d) in enumerate(writes)] + [(t, 1, f) for f, t in polls]
    for at, kind, n in sorted(steps):
        clock.at(at)
        if kind == 0:
            land(n, writes[n][0])
        else:
            followers[n].poll()


def play(clock: Clock, timeline: Timeline, table: Any, followers: list[Any], land: Any, settle_ms: int) -> None:
    """From an empty table: the timeline's writes and polls, then every follower catching up."""
    writes, polls, _ = timeline
    for item in table.scan():
        item.delete()
    run_timeline(clock, writes, polls, followers, land)
    catch_up(clock, followers, settle_ms)


def test_followers_of_the_change_log_see_every_event_once_in_order(clock: Clock) -> None:
    @PROPERTY
    @given(timeline=change_timelines())
    # The review's case: P-1 positioned at 0 s lands 4 s later, P-2 (1 s) at once, a poll at 3.5 s
    @example(timeline=([(0, 4000), (1000, 0)], [(0, 3500), (2, 3500)], 100))
    def followed(timeline: Timeline) -> None:
        writes, polls, limit = timeline
        # Two followers of the whole log, one of a supplier's (the log holds two suppliers' events)
        followers = [
            ChangesFollower(limit),
            ChangesFollower(limit + 1),
            ChangesFollower(limit, {"supplier_id": "sup-1"}),
        ]
        land = lambda n, p: land_change(change(n, supplier=f"sup-{n % 2 + 1}"), p)  # noqa: E731
        play(clock, timeline, ChangeItem, followers, land, get_settings().changes_settle_ms)
        log = the_log()
        assert len(log) == len(writes)
        assert followers[0].seen == log, (writes, polls)
        assert followers[1].seen == log, (writes, polls)
        assert followers[2].seen == [e for e in log if int(e[4:], 16) % 2 == 0], (writes, polls)

    followed()


def test_followers_of_changed_since_see_every_stock_change_once_in_order(clock: Clock) -> None:
    @PROPERTY
    @given(timeline=stock_timelines())
    # The review's case: X read at 35.49 s commits at 50 s, Y read at 40 s commits at 41 s, a poll at 45 s
    @example(timeline=([(35_490, 14_510), (40_000, 1000)], [(0, 45_000)], 100))
    def followed(timeline: Timeline) -> None:
        writes, polls, limit = timeline
        followers = [StockFollower(limit), StockFollower(limit + 1), StockFollower(1)]
        land = lambda n, p: land_stock(f"P-{n:02d}", p)  # noqa: E731
        play(clock, timeline, InventoryItem, followers, land, get_settings().inventory_changes_settle_s * 1000)
        expected = [f"P-{n:02d}" for n, _ in sorted(enumerate(writes), key=lambda w: w[1][0])]
        for follower in followers:
            assert follower.seen == expected, (writes, polls)

    followed()
