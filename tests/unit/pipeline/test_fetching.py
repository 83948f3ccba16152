"""The fetches of one hydrate invocation (apihub.pipeline.fetching.Fetcher), without AWS: each SKU is
fetched once, its outcome goes to the commits as soon as it is judged, the row's fetch kind picks the
supplier call, and our own limiter's wait hands the rest on unspent."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest
from apihub.dal.tables import JobItem
from apihub.errors import Throttled
from apihub.pipeline import fetching
from apihub.pipeline.commits import JobState
from apihub.pipeline.fetching import Fetcher, HandOn
from apihub.settings import Settings


class Answer:
    def __init__(self, product_id: str) -> None:
        self.product_id = product_id

    def model_copy(self, update: dict[str, str]) -> Answer:
        return Answer(update["product_id"])


class FakeAdapter:
    def __init__(self, throttle_after: int | None = None, answers_for: str | None = None) -> None:
        self.context = SimpleNamespace(guard=SimpleNamespace(target=None))
        self.calls: list[tuple[str, str]] = []
        self.throttle_after = throttle_after
        self.answers_for = answers_for  # the product every reply names (None: the asked one)

    def _call(self, kind: str, ref: Any) -> Answer:
        if self.throttle_after is not None and len(self.calls) >= self.throttle_after:
            raise Throttled("our limiter: wait", retry_after=30)
        self.calls.append((kind, ref.product_id))
        return Answer(self.answers_for or ref.product_id)

    def hydrate(self, ref: Any) -> Answer:
        return self._call("hydrate", ref)

    def inventory(self, ref: Any) -> Answer:
        return self._call("inventory", ref)


class Commits:
    def __init__(self) -> None:
        self.added: list[str] = []

    def add(self, state: JobState, outcome: Any) -> None:
        self.added.append(outcome.sku)


def _fetcher(monkeypatch: pytest.MonkeyPatch, adapter: FakeAdapter, calls: int = 1) -> tuple[Fetcher, Commits]:
    monkeypatch.setattr(fetching, "adapter_for", lambda supplier_id: adapter)
    closed: list[bool] = []
    monkeypatch.setattr(fetching, "limit_calls", lambda a, **kw: SimpleNamespace(close=lambda: closed.append(True)))
    commits = Commits()
    settings = Settings(hydrate_calls_in_flight=calls)
    fetcher = Fetcher(settings, commits, threading.Lock(), lambda: 600_000, lambda job, until: None)  # type: ignore[arg-type]
    return fetcher, commits


def _state(mode: str = "full_sellable") -> JobState:
    return JobState(item=JobItem("JOB#j", "META", id="j", supplier_id="s", discovery_mode=mode))


@pytest.mark.parametrize(("mode", "call"), [("full_sellable", "hydrate"), ("inventory", "inventory")])
def test_each_sku_is_fetched_once_with_the_rows_call_and_its_outcome_goes_to_the_commits(
    monkeypatch: pytest.MonkeyPatch, mode: str, call: str
) -> None:
    adapter = FakeAdapter()
    fetcher, commits = _fetcher(monkeypatch, adapter)
    state = _state(mode)
    first, again = fetcher.submit(state, "A", 1, False), fetcher.submit(state, "A", 1, False)
    assert first is again  # two copies of a message: one fetch
    assert adapter.calls == []  # one call in flight: made when its result is asked for
    assert first.result().outcome is not None
    assert adapter.calls == [(call, "A")] and commits.added == ["A"] and fetcher.hydrated == 1


def test_after_our_limiter_says_wait_the_rest_is_handed_on_unspent(monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = FakeAdapter(throttle_after=1)
    fetcher, commits = _fetcher(monkeypatch, adapter)
    state = _state()
    fetches = [fetcher.submit(state, sku, 1, False) for sku in ("A", "B", "C")]
    assert fetches[0].result().outcome is not None
    with pytest.raises(Throttled):
        fetches[1].result()
    with pytest.raises(HandOn):
        fetches[2].result()  # never called: handed on at once
    assert adapter.calls == [("hydrate", "A")] and commits.added == ["A"] and fetcher.throttled_for == 30


def test_a_pool_fetches_in_parallel_and_release_hands_the_slots_back(monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = FakeAdapter()
    fetcher, commits = _fetcher(monkeypatch, adapter, calls=4)
    state = _state()
    fetches = [fetcher.submit(state, f"S{n}", 1, False) for n in range(10)]
    assert all(f.result().outcome is not None for f in fetches)
    fetcher.stop()
    fetcher.release([state])
    assert sorted(commits.added) == sorted(f"S{n}" for n in range(10))
    assert state.limiter is None and adapter.context.guard.target is None
    assert not any(t.name.startswith("fetch") for t in threading.enumerate())


def test_a_cancelled_jobs_fetches_not_started_never_call_the_supplier(monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = FakeAdapter()
    fetcher, _ = _fetcher(monkeypatch, adapter)
    fetch = fetcher.submit(_state(), "A", 1, False)
    fetcher.cancel("j")
    with pytest.raises(Exception, match=""):
        fetch.result()
    assert adapter.calls == []


@pytest.mark.parametrize("mode", ["full_sellable", "inventory"])
def test_a_reply_naming_another_product_fails_the_asked_one_and_is_not_renamed(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    adapter = FakeAdapter(answers_for="G500")
    fetcher, commits = _fetcher(monkeypatch, adapter)
    verdict = fetcher.submit(_state(mode), "PC61", 1, False).result()
    assert verdict.outcome is not None and not verdict.outcome.ok
    assert verdict.outcome.product is None
    assert "G500" in (verdict.outcome.error or "") and "ProductError" in (verdict.outcome.error or "")
    assert commits.added == ["PC61"]


def test_a_reply_naming_the_product_in_another_case_is_kept_under_the_asked_sku(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapter = FakeAdapter(answers_for="pc61")
    fetcher, _ = _fetcher(monkeypatch, adapter)
    verdict = fetcher.submit(_state(), "PC61", 1, False).result()
    assert verdict.outcome is not None and verdict.outcome.ok
    assert verdict.outcome.product.product_id == "PC61"
