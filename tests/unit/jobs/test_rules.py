"""The job rules apart from storage (``apihub.jobs.rules``)."""

from __future__ import annotations

import pytest
from apihub.errors import InvalidInput, InvalidTransition
from apihub.jobs import rules
from apihub.models import DiscoveryMode, JobStatus


@pytest.mark.parametrize(
    ("success", "failed", "status"),
    [(0, 0, JobStatus.success), (5, 0, JobStatus.success), (0, 3, JobStatus.failed), (2, 1, JobStatus.partial_success)],
)
def test_final_status_follows_the_counters(success: int, failed: int, status: JobStatus) -> None:
    assert rules.final_status(success, failed) is status


def test_a_job_is_complete_only_when_discovery_is_and_every_product_has_an_outcome() -> None:
    assert rules.is_complete(3, 2, 1, True)
    assert not rules.is_complete(3, 2, 0, True)
    assert not rules.is_complete(3, 2, 1, False)


def test_only_successful_syncs_move_the_supplier_field_of_their_mode() -> None:
    started = "2026-01-01T00:00:00.000Z"
    assert rules.supplier_sync(DiscoveryMode.full_sellable, JobStatus.success, started) == ("last_full_sync", started)
    assert rules.supplier_sync(DiscoveryMode.delta, JobStatus.partial_success, started) == ("last_delta_sync", started)
    assert rules.supplier_sync(DiscoveryMode.delta, JobStatus.failed, started) is None
    assert rules.supplier_sync(DiscoveryMode.first_n, JobStatus.success, started) is None


def test_patch_rules() -> None:
    with pytest.raises(InvalidTransition, match="a finished job cannot change"):
        rules.check_patch("j", JobStatus.success, {"error_log": "x"})
    with pytest.raises(InvalidTransition, match="cannot go from running to pending"):
        rules.check_patch("j", JobStatus.running, {"status": JobStatus.pending})
    with pytest.raises(InvalidInput, match=r"^completed_at: "):
        rules.check_patch("j", JobStatus.running, {"completed_at": "2026-01-01T00:00:00Z"})
    assert rules.check_patch("j", JobStatus.pending, {"status": JobStatus.failed}) is JobStatus.failed
    assert rules.check_patch("j", JobStatus.running, {"records_processed": 3}) is None
