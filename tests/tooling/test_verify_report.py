"""make verify's figures: suites record parts, the report sums them per suite."""

from __future__ import annotations

from datetime import UTC, datetime

from apihub_verify import record
from apihub_verify.report import load, main, render


def test_record_writes_nothing_without_the_output_directory(monkeypatch) -> None:
    monkeypatch.delenv("APIHUB_VERIFY_DIR", raising=False)
    assert record("property-based", "shard-0", examples=3) is None


def test_parts_of_a_suite_are_summed_and_rendered_with_the_command(tmp_path, monkeypatch) -> None:
    # Given two shards of one suite and one part of another
    monkeypatch.setenv("APIHUB_VERIFY_DIR", str(tmp_path))
    record("property-based", "shard-0", title="PBT", examples=250, faults={"crashes": 7}, failures=0)
    record("property-based", "shard-1", title="PBT", examples=251, faults={"crashes": 3, "poisoned": 2})
    record("fuzzing", "schemathesis", title="API fuzzing", requests=1200, failures=1)
    # When the report is rendered
    text = render(load(tmp_path), "make verify", datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    # Then each suite shows its totals, faults by kind, and the failures found overall
    assert "| PBT | 501 | 0 | 12 | 0 |" in text
    assert "| API fuzzing | 0 | 1,200 | 0 | 1 |" in text
    assert "| crashes | 10 |" in text and "| poisoned | 2 |" in text
    assert "- Failures found: **1**" in text and "- Command: `make verify`" in text
    # And the command line writes the file
    out = tmp_path / "reliability.md"
    assert main(["--dir", str(tmp_path), "--out", str(out)]) == 0
    assert out.read_text().startswith("# Reliability figures")
