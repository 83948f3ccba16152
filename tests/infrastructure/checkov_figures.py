"""``python tests/infrastructure/checkov_figures.py build/checkov.json``: judge and record a checkov run.

``make checkov`` scans template.yaml and hands the JSON report here. Passes only when no check
failed, nothing failed to parse, and every skipped check carries its justification (the
``Metadata: checkov: skip: [{id, comment}]`` in the template). Prints the counts and records them
for docs/reliability.md (``apihub_verify.record``, a no-op outside ``make verify``).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def judge(report: dict | list) -> tuple[dict[str, int], list[str]]:
    runs = report if isinstance(report, list) else [report]
    counts: Counter[str] = Counter()
    problems: list[str] = []
    for run in runs:
        summary = run.get("summary", {})
        for key in ("passed", "failed", "skipped", "parsing_errors", "resource_count"):
            counts[key] += int(summary.get(key) or 0)
        results = run.get("results", {})
        for check in results.get("failed_checks", []):
            problems.append(f"FAILED {check['check_id']} {check['resource']}: {check['check_name']}")
        for check in results.get("skipped_checks", []):
            comment = str((check.get("check_result") or {}).get("suppress_comment") or "").strip()
            if len(comment) < 20 or comment.lower().startswith("no comment"):
                problems.append(f"SKIPPED WITHOUT A REASON {check['check_id']} {check['resource']}")
    if counts["parsing_errors"]:
        problems.append(f"{counts['parsing_errors']} parsing error(s)")
    if not counts["passed"]:
        problems.append("no check passed: did checkov scan the template?")
    return dict(counts), problems


def main(path: str) -> int:
    counts, problems = judge(json.loads(Path(path).read_text()))
    print(
        f"checkov: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped "
        f"(justified inline) over {counts['resource_count']} resources"
    )
    for problem in problems:
        print(f"  {problem}")
    try:
        from apihub_verify import record
    except ImportError:  # the checkov step needs only this file
        record = None
    if record is not None:
        record(
            "security",
            "checkov",
            title="Security: auth on every route, secrets, IaC scan",
            examples=counts["passed"] + counts["failed"] + counts["skipped"],
            failures=len(problems),
            command="make checkov",
            notes=[
                f"checkov template.yaml: {counts['passed']} passed, {counts['failed']} failed, "
                f"{counts['skipped']} skipped with inline justification"
            ],
            checkov=counts,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/checkov.json"))
