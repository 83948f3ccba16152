"""make run's knobs: APIHUB_LOCAL_AWS_FAULT_RATE is a share between 0 and 1, off by default."""

from __future__ import annotations

import pytest

from apihub_local.stack import KnobError, Knobs


def test_the_aws_fault_rate_is_off_by_default_and_read_as_a_share() -> None:
    assert Knobs.from_env({}).aws_fault_rate == 0.0
    assert Knobs.from_env({"APIHUB_LOCAL_AWS_FAULT_RATE": "0.25"}).aws_fault_rate == 0.25


@pytest.mark.parametrize("raw", ["1.5", "-0.1", "often"])
def test_a_bad_aws_fault_rate_names_the_variable_and_the_rule(raw: str) -> None:
    with pytest.raises(KnobError, match="APIHUB_LOCAL_AWS_FAULT_RATE"):
        Knobs.from_env({"APIHUB_LOCAL_AWS_FAULT_RATE": raw})
