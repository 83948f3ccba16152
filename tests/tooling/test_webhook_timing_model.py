"""The webhook delivery timing model (``apihub_sim.webhooks``) driven by the template's settings:
a backlog of 1,000,000 deliveries to one subscriber at 200 ms each ends within 30 minutes, and a
slow or failing subscriber's backlog does not hold back another subscription's deliveries."""

from __future__ import annotations

import pytest

from apihub_sim.timing import with_parameters
from apihub_sim.webhooks import Arrivals, DeliveryFleet, simulate


@pytest.fixture(scope="module")
def fleet() -> DeliveryFleet:
    return DeliveryFleet.from_template()


def test_the_model_reads_the_deployed_settings(fleet: DeliveryFleet) -> None:
    # One subscription may have every delivery of every invocation in flight: 50 or more.
    assert fleet.batch_size == fleet.in_flight
    assert fleet.most_in_flight >= 50
    # A batch is one wave: its slowest delivery (the 10 s timeout) and the record writes fit the timeout.
    assert fleet.timeout_s >= 10 + 5


def test_the_in_flight_figure_follows_the_template_parameters() -> None:
    fleet = DeliveryFleet.from_template(with_parameters(WebhookInFlight=5, WebhookMaxConcurrency=12))
    assert (fleet.batch_size, fleet.in_flight, fleet.max_concurrency, fleet.most_in_flight) == (5, 5, 12, 60)
    with pytest.raises(ValueError, match="WebhookInFlight: must be at most 100"):
        with_parameters(WebhookInFlight=101)


def test_a_million_deliveries_to_one_subscriber_at_200_ms_end_within_30_minutes(fleet: DeliveryFleet) -> None:
    out = simulate(fleet, [Arrivals("one", 1_000_000, latency_s=0.2)])
    assert len(out.lags["one"]) == 1_000_000
    assert out.finished_s["one"] <= 30 * 60
    # The same model with the delivery side as it was (5 messages one by one, 10 invocations) takes
    # the hours the issue measured: the model is not flattering the new settings.
    before = DeliveryFleet(batch_size=5, max_concurrency=10, in_flight=1, batching_window_s=1, timeout_s=90)
    old = simulate(before, [Arrivals("one", 100_000, latency_s=0.2)])
    assert old.finished_s["one"] * 10 >= 5.5 * 3600


@pytest.mark.parametrize("slow_s", [5.0, 10.0], ids=["slow-5s", "failing-by-timeout-10s"])
def test_a_slow_subscriber_s_backlog_does_not_delay_another_subscription(fleet: DeliveryFleet, slow_s: float) -> None:
    # Given a subscriber answering in slow_s (10 s: every attempt times out) with a backlog of
    # 50,000 deliveries, and another receiving one event every 0.5 s at 200 ms
    fast = Arrivals("fast", 200, latency_s=0.2, start_s=10.0, every_s=0.5)

    def run(backlog: int, *, fair: bool = True):
        return simulate(fleet, [Arrivals("slow", backlog, latency_s=slow_s), fast], fair=fair)

    shared = run(50_000)
    # Then the fast subscription's deliveries wait at most one of the slow one's deliveries (a
    # poller freeing up), never its backlog: the slow one is still busy long after
    assert max(shared.lags["fast"]) <= slow_s + 0.2 + 1.0
    assert shared.finished_s["slow"] > 5 * shared.finished_s["fast"]
    # And that wait does not grow with the slow subscriber's backlog (four times larger: same lags)
    assert max(run(200_000).lags["fast"]) == pytest.approx(max(shared.lags["fast"]), abs=0.5)
    # Without fair queueing (a plain queue in arrival order) it waits behind the whole backlog
    plain = run(50_000, fair=False)
    assert min(plain.lags["fast"]) > 100 * slow_s


def test_a_subscriber_alone_is_delivered_within_a_batch_turn(fleet: DeliveryFleet) -> None:
    out = simulate(fleet, [Arrivals("alone", 200, latency_s=0.2, start_s=0.0, every_s=0.5)])
    # The batching window (1 s) plus one invocation and the receiver's 200 ms
    assert max(out.lags["alone"]) <= fleet.batching_window_s + 0.2 + 0.2
