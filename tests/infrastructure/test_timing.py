"""The pipeline's time arithmetic, read from template.yaml and the code (docs/architecture.md, Invariants 8):
one product's supplier calls fit inside the hydrate invocation, and the sweeper's stall limit
outlasts every path on which a job's work can still arrive. Each test fails when the template's
numbers and the code's stop agreeing (docs/architecture.md, "Time")."""

from __future__ import annotations

from typing import Any

from apihub.adapters.http import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
from apihub.adapters.registry import ADAPTERS, adapter_class
from apihub.settings import Settings

from apihub_local.template import Template

TPL = Template()
FUNCTIONS = TPL.functions()
DEFAULTS = TPL.parameter_defaults()
SQS_MAX_DELAY_S = 900  # SendMessage DelaySeconds


def _resolve(value: Any) -> Any:
    return DEFAULTS[value["Ref"]] if isinstance(value, dict) and "Ref" in value else value


def setting(name: str, function: str) -> Any:
    """A setting as ``function`` sees it when deployed: its own or the Globals' environment
    variable if the template sets one, else the code's default."""
    env = {**TPL.globals.get("Environment", {}).get("Variables", {}), **FUNCTIONS[function].environment}
    raw = env.get(f"APIHUB_{name.upper()}")
    values = {} if raw is None else {name: _resolve(raw)}
    return getattr(Settings.model_validate(values), name)


def queue_of(function: str) -> tuple[int, int]:
    """(VisibilityTimeout, maxReceiveCount) of the queue ``function`` consumes."""
    (source,) = FUNCTIONS[function].sqs
    props = TPL.resources[source.queue]["Properties"]
    return int(props["VisibilityTimeout"]), int(_resolve(props["RedrivePolicy"]["maxReceiveCount"]))


def worst_product_s() -> float:
    """One product with the configured timeouts: every call of the most demanding adapter answers
    just before its read timeout, after the longest wait our limiter allows before each."""
    calls = max(adapter_class(name).calls_per_product for name in ADAPTERS)
    call_s = DEFAULT_CONNECT_TIMEOUT + DEFAULT_READ_TIMEOUT
    return calls * (call_s + setting("limiter_max_wait_s", "HydrateFunction"))


def test_one_products_worst_case_fits_in_the_hydrate_timeout_minus_the_commit_reserve() -> None:
    # A product started with the whole invocation ahead of it can finish, so running out of time
    # is never a product's normal fate (the deadline hands the work on; only a supplier slower than
    # its own timeouts is retried as transient).
    reserve_s = setting("hydrate_time_reserve_ms", "HydrateFunction") / 1000
    budget = FUNCTIONS["HydrateFunction"].timeout - reserve_s
    assert worst_product_s() <= budget, (
        f"one product can take {worst_product_s():.0f} s but a hydrate invocation has {budget:.0f} s for calls"
    )
    assert setting("call_min_s", "HydrateFunction") < budget


def test_one_discovery_call_fits_in_the_discover_timeout_minus_its_reserve() -> None:
    # A listing call may run to its total deadline (connect + 2 x read: large catalogs stream slowly).
    worst = DEFAULT_CONNECT_TIMEOUT + 2 * DEFAULT_READ_TIMEOUT + setting("limiter_max_wait_s", "DiscoverFunction")
    budget = FUNCTIONS["DiscoverFunction"].timeout - setting("discovery_time_reserve_ms", "DiscoverFunction") / 1000
    assert worst <= budget


def test_retry_delays_stay_within_sqs_and_the_backoff_cap() -> None:
    fn = "HydrateFunction"
    assert setting("retry_backoff_max_s", fn) <= setting("retry_delay_max_s", fn) <= SQS_MAX_DELAY_S
    assert setting("retry_backoff_base_s", fn) <= setting("retry_backoff_max_s", fn)


def stall_paths() -> dict[str, float]:
    """Every path on which one message of a job can still arrive with nothing recorded on the job,
    in seconds from the job's last progress or due attempt. (A message waiting behind other work
    has no bound: the sweeper asks the queue for those.)"""
    hydrate_visibility, hydrate_receives = queue_of("HydrateFunction")
    discovery_visibility, discovery_receives = queue_of("DiscoverFunction")
    longest_delay = setting("retry_delay_max_s", "HydrateFunction")
    return {
        "a hydrate message whose every receive dies (visibility x maxReceiveCount)": hydrate_visibility
        * hydrate_receives,
        "a discovery message whose every receive dies (visibility x maxReceiveCount)": discovery_visibility
        * discovery_receives,
        "a hydrate message retried after the longest Retry-After honoured on every receive": max(
            hydrate_visibility, longest_delay
        )
        * hydrate_receives,
    }


def test_the_stall_limit_outlasts_every_retry_path_of_one_message() -> None:
    sweeper_env = FUNCTIONS["SweeperFunction"].environment
    assert sweeper_env["APIHUB_STALL_MINUTES"] == {"Ref": "StallMinutes"}
    param = TPL.data["Parameters"]["StallMinutes"]
    assert Settings().stall_minutes == param["Default"]  # the code's default is the template's
    for bound in ("Default", "MinValue"):  # a deployment cannot set a shorter limit
        limit_s = int(param[bound]) * 60
        too_short = {path: s for path, s in stall_paths().items() if s > limit_s}
        assert not too_short, f"StallMinutes {bound} ({limit_s} s) is shorter than: {too_short}"


def test_a_stall_limit_shorter_than_a_retry_path_is_caught() -> None:
    # The old values: 30 minutes against a 30-minute discovery visibility and 3 receives.
    assert any(seconds > 30 * 60 for seconds in stall_paths().values())


def test_the_sweeper_may_ask_both_queues_what_they_hold() -> None:
    statements = [
        s
        for policy in TPL.resources["SweeperFunction"]["Properties"]["Policies"]
        if isinstance(policy, dict)
        for s in policy.get("Statement", [])
    ]
    allowed = {
        arn["Fn::GetAtt"][0]
        for s in statements
        if "sqs:GetQueueAttributes" in s["Action"]
        for arn in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }
    assert allowed == {"DiscoveryQueue", "HydrateQueue"}
    env = TPL.globals["Environment"]["Variables"]
    assert env["APIHUB_DISCOVERY_QUEUE_URL"] == {"Ref": "DiscoveryQueue"}
    assert env["APIHUB_HYDRATE_QUEUE_URL"] == {"Ref": "HydrateQueue"}
