"""The commits of one hydrate invocation (apihub.pipeline.commits.CommitLane), without AWS: when a
commit falls due, one job's commits never overlap, a failed commit puts its outcomes back, and
``commit_rest`` and ``join`` commit the rest and join the thread."""

from __future__ import annotations

import threading

from apihub.dal.jobs import Outcome
from apihub.dal.tables import JobItem
from apihub.pipeline.commits import CommitLane, JobState


def _state(job_id: str = "j") -> JobState:
    return JobState(item=JobItem(f"JOB#{job_id}", "META", id=job_id, discovery_mode="full_sellable"))


class FakeCommitter:
    """Due at ``due`` pending outcomes; records what each commit took; fails while ``failing``."""

    def __init__(self, due: int = 2) -> None:
        self.due, self.failing = due, False
        self.commits: list[list[str]] = []
        self.in_progress = 0
        self.overlapped = False

    def ready(self, state: JobState) -> bool:
        return len(state.outcomes) >= self.due

    def try_commit(self, state: JobState) -> None:
        self.in_progress += 1
        self.overlapped |= self.in_progress > 1
        try:
            if self.failing:
                return  # try_commit swallows the error: the outcomes stay on ``state``
            self.commits.append([o.sku for o in state.outcomes])
            state.committed |= {o.sku for o in state.outcomes}
            state.outcomes = []
        finally:
            self.in_progress -= 1


def _lane(committer: FakeCommitter, threaded: bool) -> CommitLane:
    return CommitLane(committer, threading.Lock(), lambda: 60_000, threaded)  # type: ignore[arg-type]


def test_a_due_commit_runs_at_once_inline_and_takes_what_was_pending() -> None:
    committer = FakeCommitter(due=2)
    lane, state = _lane(committer, threaded=False), _state()
    lane.add(state, Outcome("a"))
    assert committer.commits == []  # not due yet
    lane.add(state, Outcome("b"))
    assert committer.commits == [["a", "b"]] and state.committed == {"a", "b"} and state.outcomes == []


def test_a_failed_commit_puts_its_outcomes_back_for_finish() -> None:
    committer = FakeCommitter(due=1)
    committer.failing = True
    lane, state = _lane(committer, threaded=True), _state()
    lane.add(state, Outcome("a"))
    lane.add(state, Outcome("b"))
    lane.commit_rest([state])
    lane.join()  # joins the thread: every commit queued so far has run
    assert committer.commits == [] and sorted(o.sku for o in state.outcomes) == ["a", "b"]


def test_the_rest_is_committed_on_the_thread_and_the_thread_joined() -> None:
    committer = FakeCommitter(due=100)
    lane, states = _lane(committer, threaded=True), [_state("j1"), _state("j2")]
    for state in states:
        lane.add(state, Outcome(f"{state.item.id}-a"))  # type: ignore[union-attr]
    lane.commit_rest(states)
    lane.join()
    assert sorted(map(tuple, committer.commits)) == [("j1-a",), ("j2-a",)]
    assert not any(t.name.startswith("commit") for t in threading.enumerate())


def test_one_jobs_commits_never_overlap() -> None:
    committer = FakeCommitter(due=1)
    lane, state = _lane(committer, threaded=True), _state()
    adders = [threading.Thread(target=lane.add, args=(state, Outcome(f"s{n}"))) for n in range(40)]
    for t in adders:
        t.start()
    for t in adders:
        t.join()
    lane.commit_rest([state])
    lane.join()
    assert not committer.overlapped
    assert sorted(sku for commit in committer.commits for sku in commit) == sorted(f"s{n}" for n in range(40))


def test_an_ended_jobs_outcome_is_dropped() -> None:
    committer = FakeCommitter(due=1)
    lane, state = _lane(committer, threaded=False), _state()
    state.ended = True
    lane.add(state, Outcome("a"))
    assert committer.commits == [] and state.outcomes == []
