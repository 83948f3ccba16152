"""API fuzzing: schemathesis against ``/api/openapi.json`` served by the local stack, with an admin
token, every operation. Passes only with zero 5xx and zero responses that contradict the schema
(status codes, content types, bodies and headers as declared), and no schema-violating request
accepted. ``make test`` runs a fixed-seed fuzzing pass (100+ requests); ``make verify`` runs every
phase (examples, coverage, fuzzing, stateful) with fresh randomness (1,000+ requests) and records
the figures for docs/reliability.md.

The run mutates the stack (it creates, patches and deletes suppliers and starts imports): the
stack is its own, and the test checks it still answers afterwards.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from apihub_verify import record

pytestmark = pytest.mark.e2e

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"

# Every check schemathesis has, but two, and why:
# - positive_data_acceptance: the API answers a documented 422 ({"detail": "<field>: <rule>"}) to
#   schema-valid input it refuses on rules a schema cannot state: a cursor it did not issue,
#   limit / explicit_list with a mode that does not take them (or explicit_list missing where it is
#   required), schedules naming an unscheduled mode, adapter names, unsafe URLs, a PATCH with no field.
# - unsupported_method: API Gateway answers a method no route declares with 404 {"message":"Not Found"},
#   not 405; that is the gateway's behaviour, not the functions'.
EXCLUDED_CHECKS = ("positive_data_acceptance", "unsupported_method")
# A request that violates the schema must be refused: schemathesis' list of refusals, plus 413 (a body
# over the API's 512 KB limit is refused before anything parses it) and 414 (a URL too long for the gateway).
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422", "428", "429", "5xx"]
"""


@dataclass
class FuzzRun:
    exit_code: int
    generated: int
    requests: int
    statuses: Counter[int]
    failures: list[str]
    output: str

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def run_schemathesis(stack, out: Path, *, max_examples: int, phases: str, seed: int | None) -> FuzzRun:
    out.mkdir(parents=True, exist_ok=True)
    har, report, config = out / "requests.har.json", out / "report.json", out / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        str(VENV_BIN / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{stack.url}/api/openapi.json",
        "--header",
        f"Authorization: Bearer {stack.token}",
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--max-examples",
        str(max_examples),
        "--phases",
        phases,
        "--request-timeout",
        "30",
        "--warnings",
        "off",
        "--report",
        "har,json",
        "--report-har-path",
        str(har),
        "--report-json-path",
        str(report),
        *(["--seed", str(seed)] if seed is not None else []),
    ]
    proc = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=1500, check=False)
    entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
    summary = json.loads(report.read_text()) if report.exists() else {}
    failures = [
        f"{', '.join(f.get('operations') or [])}: {f.get('code')} {f.get('title')}"
        for f in summary.get("failures") or []
    ]
    # The failure section (what was sent, what came back), bounded: a fuzzed body can be huge
    details = proc.stdout.partition("=== FAILURES ===")[2].partition("=== SUMMARY ===")[0]
    return FuzzRun(
        exit_code=proc.returncode,
        generated=int((summary.get("test_cases") or {}).get("generated") or 0),
        requests=len(entries),
        statuses=Counter(int(e["response"]["status"]) for e in entries),
        failures=failures,
        output="\n".join(line[:400] for line in details.splitlines())[:12000]
        + proc.stdout[-3000:]
        + proc.stderr[-2000:],
    )


def _fuzz(stack, out: Path, part: str, *, max_examples: int, phases: str, seed: int | None, least: int):
    run = run_schemathesis(stack, out, max_examples=max_examples, phases=phases, seed=seed)
    record(
        "api-fuzzing",
        part,
        title="API fuzzing: schemathesis against /api/openapi.json (local stack, admin token)",
        examples=run.generated,
        requests=run.requests,
        failures=len(run.failures) + run.server_errors,
        notes=[
            f"phases {phases}, {max_examples} examples per operation, every check but {', '.join(EXCLUDED_CHECKS)}",
            "statuses " + ", ".join(f"{code}: {n}" for code, n in sorted(run.statuses.items())),
            f"{run.server_errors} responses 5xx",
        ],
        statuses={str(k): v for k, v in run.statuses.items()},
    )
    # Then schemathesis found nothing: no 5xx, nothing that contradicts the schema
    assert run.exit_code == 0 and not run.failures, "\n".join(run.failures) + "\n" + run.output
    assert run.server_errors == 0, run.statuses
    assert run.requests >= least, (run.requests, run.output)
    # And every operation was reached with the admin token (authorized answers, not only 401s)
    assert sum(n for code, n in run.statuses.items() if code != 401) >= least // 2, run.statuses
    # And the stack still answers afterwards
    assert stack.api("GET", "/api/health", token=None).status_code == 200
    assert stack.api("GET", "/api/sync-jobs").status_code == 200
    return run


def test_fuzzing_every_operation_finds_no_5xx_and_no_schema_violation(stack_factory, tmp_path) -> None:
    # Given the local stack and its OpenAPI schema; When schemathesis fuzzes every operation (fixed seed)
    _fuzz(
        stack_factory(APIHUB_DEMO_PRODUCTS="20"),
        tmp_path,
        "make-test",
        max_examples=7,
        phases="fuzzing",
        seed=20261126,
        least=100,
    )


@pytest.mark.verify
def test_fuzzing_every_phase_with_1000_plus_requests(stack_factory, tmp_path) -> None:
    # Given the same, When every phase runs with fresh randomness and 100 examples per operation
    run = _fuzz(
        stack_factory(APIHUB_DEMO_PRODUCTS="20"),
        tmp_path,
        "make-verify",
        max_examples=100,
        phases="examples,coverage,fuzzing,stateful",
        seed=None,
        least=1000,
    )
    assert run.generated >= 1000
