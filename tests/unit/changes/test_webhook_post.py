"""The webhook POST itself, against a receiver on 127.0.0.1: what counts as delivered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apihub.changes.delivery_message import DeliveryMessage
from apihub.changes.webhooks import post_event
from apihub.dal.subscriptions import DeliveryTarget
from apihub.settings import reset_settings

from apihub_fakes.webhook_receiver import receiver

MESSAGE = DeliveryMessage(subscription_id="s", event_id="evt_1", event_type="job.finished", body='{"id":"evt_1"}')


@pytest.fixture(autouse=True)
def local_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Loopback allowed (the local stack's rule) and a short timeout, so a slow receiver is quick to find."""
    monkeypatch.setenv("APIHUB_ALLOW_INSECURE_URLS", "true")
    monkeypatch.setenv("APIHUB_WEBHOOK_TIMEOUT_S", "0.5")
    reset_settings()
    yield
    reset_settings()


def test_a_2xx_in_time_is_delivered() -> None:
    with receiver() as rx:
        rx.answers["/ok"] = (204, {})
        attempt = post_event(DeliveryTarget("s", f"{rx.url}/ok", "whsec_x"), MESSAGE)
    assert attempt.delivered and attempt.status_code == 204


def test_an_answer_after_the_timeout_is_not_delivered() -> None:
    with receiver() as rx:
        rx.delays["/slow"] = 2.0
        attempt = post_event(DeliveryTarget("s", f"{rx.url}/slow", "whsec_x"), MESSAGE)
    assert not attempt.delivered
    assert attempt.status_code is None and attempt.error == "no answer within 0.5 s"


def test_a_closed_port_is_a_failed_attempt_not_an_error() -> None:
    with receiver() as rx:
        url = f"{rx.url}/gone"
    attempt = post_event(DeliveryTarget("s", url, "whsec_x"), MESSAGE)  # the receiver has stopped
    assert not attempt.delivered and attempt.error is not None and attempt.error.startswith("unreachable")
