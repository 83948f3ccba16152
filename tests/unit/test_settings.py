"""Configuration from APIHUB_* variables: converted, checked, unrelated variables ignored."""

import pytest
from apihub.settings import Settings
from pydantic import ValidationError


def test_reads_prefixed_variables_and_converts_types():
    s = Settings.from_env(
        {
            "APIHUB_JOBS_TABLE": "jobs-x",
            "apihub_stall_minutes": "7",
            "APIHUB_ALLOW_INSECURE_URLS": "true",
            "APIHUB_LIMITER_MAX_WAIT_S": "0.5",
            "APIHUB_UNKNOWN_KNOB": "ignored",
            "JOBS_TABLE": "not ours",
        }
    )
    assert (s.jobs_table, s.stall_minutes, s.allow_insecure_urls, s.limiter_max_wait_s) == ("jobs-x", 7, True, 0.5)
    assert s.suppliers_table == "apihub-suppliers"  # defaults stand
    assert s.endpoint is None


def test_bad_value_names_the_field():
    with pytest.raises(ValidationError, match="stall_minutes"):
        Settings.from_env({"APIHUB_STALL_MINUTES": "soon"})
