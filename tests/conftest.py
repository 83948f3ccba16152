"""Shared fixtures: an apihub stack on moto, built from template.yaml, per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "apihub")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "apihub")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def hub(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A whole apihub (tables, queues, key, functions, gateway, pollers) on an in-process moto."""
    from apihub_local.harness import Harness, reset_process_state
    from apihub_local.moto_lock import serialize_in_process_moto
    from apihub_local.moto_tuning import speed_up_transactions

    serialize_in_process_moto()
    speed_up_transactions()
    saved = dict(os.environ)
    with mock_aws():
        # A test that set APIHUB_ALLOW_INSECURE_URLS (loopback fakes) keeps it over the template's value.
        overrides = {k: os.environ[k] for k in ("APIHUB_ALLOW_INSECURE_URLS",) if k in os.environ}
        harness = Harness(retry_visibility=0, environment=overrides)
        yield harness
    os.environ.clear()
    os.environ.update(saved)
    reset_process_state()


@pytest.fixture
def aws_faults(hub: object) -> Iterator[object]:
    """``with aws_faults(0.3, kinds={"transaction_conflict"}) as faults:`` runs a block with that share
    of the hub's DynamoDB/SQS calls answered with AWS faults (``apihub_local.aws_faults``);
    ``faults.counts`` holds what was injected. Always uninstalled at the end of the test."""
    from apihub_local.aws_faults import inject_aws_faults, uninstall

    yield inject_aws_faults
    uninstall()


@pytest.fixture(autouse=True)
def allow_loopback_suppliers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Adapter tests talk to the fake suppliers on http://127.0.0.1 directly (no hub): allow that,
    as the local stack does. Other tests keep the template's value unless they set it."""
    if "adapters" not in Path(str(request.node.path)).parts:
        yield
        return
    from apihub.settings import reset_settings

    monkeypatch.setenv("APIHUB_ALLOW_INSECURE_URLS", "true")
    reset_settings()
    yield
    reset_settings()


# The IAM check (docs/iam.md): every process records the AWS calls of the functions it runs; at the
# end of the session the controller checks them against the roles SAM makes of template.yaml.
def pytest_configure(config: pytest.Config) -> None:
    from apihub_local import iam_pytest

    iam_pytest.configure(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    from apihub_local import iam_pytest

    iam_pytest.sessionfinish(session)


def pytest_terminal_summary(terminalreporter: object) -> None:
    from apihub_local import iam_pytest

    iam_pytest.summary(terminalreporter)
