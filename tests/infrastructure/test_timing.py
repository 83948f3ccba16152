"""The pipeline's time arithmetic, read from template.yaml and the code (DESIGN.md invariant 8):
one product's supplier calls fit inside the hydrate invocation. Each test fails when the
template's numbers and the code's stop agreeing (docs/architecture.md, "Time")."""

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
