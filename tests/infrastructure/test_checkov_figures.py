"""The judge of ``make checkov`` fails a run with a failed check, an unjustified skip or nothing scanned."""

from __future__ import annotations

from tests.infrastructure.checkov_figures import judge


def _run(failed: list | None = None, skipped: list | None = None, passed: int = 3) -> dict:
    return {
        "summary": {"passed": passed, "failed": len(failed or []), "skipped": len(skipped or []), "parsing_errors": 0},
        "results": {"failed_checks": failed or [], "skipped_checks": skipped or []},
    }


def _skip(comment: str) -> dict:
    return {"check_id": "CKV_AWS_1", "resource": "R", "check_result": {"suppress_comment": comment}}


def test_a_clean_run_with_justified_skips_passes() -> None:
    counts, problems = judge(_run(skipped=[_skip("Encrypted with the AWS managed key; nothing secret is stored")]))
    assert problems == [] and counts["passed"] == 3 and counts["skipped"] == 1


def test_a_failed_check_an_unjustified_skip_or_an_empty_scan_fails() -> None:
    failed = [{"check_id": "CKV_AWS_27", "resource": "Q", "check_name": "queue encrypted"}]
    assert judge(_run(failed=failed))[1] == ["FAILED CKV_AWS_27 Q: queue encrypted"]
    assert judge(_run(skipped=[_skip("")]))[1] == ["SKIPPED WITHOUT A REASON CKV_AWS_1 R"]
    assert judge(_run(passed=0))[1] == ["no check passed: did checkov scan the template?"]
