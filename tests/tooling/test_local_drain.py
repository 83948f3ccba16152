"""``apihub_local.sqs.drain``: a queue is empty only when it reads empty in two rounds running."""

from __future__ import annotations

import pytest

from apihub_local import sqs


class _Mapping:
    """A mapping whose queue holds one message that a first round neither receives nor counts (as
    moto read a hand-on message at the moment its delay ended) and a second round receives."""

    sqs = None
    queue_url = "q"

    def __init__(self) -> None:
        self.rounds = 0

    def poll_once(self) -> int:
        self.rounds += 1
        return 1 if self.rounds == 2 else 0


def test_a_queue_reading_empty_once_is_polled_again_before_the_drain_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a queue whose depth reads 0 in the round where its message is not yet receivable
    mapping = _Mapping()
    monkeypatch.setattr(sqs, "queue_depth", lambda *_: 0)
    # When the queues are drained, Then the message is delivered, not left behind
    assert sqs.drain([mapping], max_rounds=10) == 1  # type: ignore[list-item]  # a stand-in mapping
    # And the drain stopped after two empty rounds past it
    assert mapping.rounds == 4


def test_a_queue_that_never_empties_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqs, "queue_depth", lambda *_: 1)
    with pytest.raises(RuntimeError, match="not drained after 5 rounds"):
        sqs.drain([_Mapping()], max_rounds=5)  # type: ignore[list-item]  # a stand-in mapping
