"""What a simulated run ended with, read straight from the tables (a plain boto3 client, not the
layer's models, and not hooked by the fault injection): per job its status, counters, discovered
SKUs and outcome items; per run the figures ``make verify`` reports.

* **lost**: a product the job should have imported (the supplier's catalog for a full import, else
  what discovery stored) with no outcome item, once the job is over or the run is;
* **double-counted**: counters above the outcome items they count (``success_count`` over the
  success outcomes, ``failed_count`` over the failed ones), or ``success + failed > total``;
* **swept while due**: a job the sweeper failed while a message for it was still in a queue
  (waiting, delayed, or in flight in an invocation): work was due, so it was not stalled;
* **dead-lettered**: messages the redrive policy moved to a dead-letter queue.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import boto3

TERMINAL = frozenset({"success", "partial_success", "failed"})


@dataclass
class JobAudit:
    job_id: str
    label: str
    status: str
    total: int | None
    success: int
    failed: int
    discovered: int
    outcomes_success: int
    outcomes_failed: int
    lost: int
    double_counted: int
    error_log: str | None = None
    started_s: float | None = None
    completed_at: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class Sweep:
    job_id: str
    at_s: float
    messages_held: int  # messages for the job still in its queues when it was swept


@dataclass
class SimFigures:
    """One run's figures (virtual seconds)."""

    scenario: str
    virtual_s: float
    jobs: list[JobAudit]
    sweeps: list[Sweep]
    dead_lettered: int
    invocations: dict[str, int]
    timeouts: dict[str, int]
    errors: dict[str, int]
    faults: dict[str, int] = field(default_factory=dict)
    api_statuses: dict[int, int] = field(default_factory=dict)
    api_busy: int = 0  # 503 with Retry-After, tried again by the client
    parameters: dict[str, Any] = field(default_factory=dict)
    supplier_calls: dict[str, int] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return sum(j.lost for j in self.jobs)

    @property
    def double_counted(self) -> int:
        return sum(j.double_counted for j in self.jobs)

    @property
    def swept(self) -> int:
        return len(self.sweeps)

    @property
    def swept_while_due(self) -> int:
        return sum(1 for s in self.sweeps if s.messages_held)

    @property
    def api_5xx(self) -> int:
        """5xx answers, but for the 503 with ``Retry-After`` that says AWS stayed busy (the
        documented answer, which the client tries again)."""
        return sum(n for status, n in self.api_statuses.items() if status >= 500) - self.api_busy

    def job(self, label: str) -> JobAudit:
        return next(j for j in self.jobs if j.label == label)

    def summary(self) -> str:
        """One line per job and one for the run: what a failing assertion should show."""
        lines = [
            f"{self.scenario}: {self.virtual_s / 60:.1f} virtual minutes, lost {self.lost}, double-counted "
            f"{self.double_counted}, swept {self.swept} ({self.swept_while_due} while work was due), dead-lettered "
            f"{self.dead_lettered}, invocations {self.invocations}, timeouts {self.timeouts}, errors {self.errors}, "
            f"API statuses {self.api_statuses}, supplier calls {self.supplier_calls}"
        ]
        for j in self.jobs:
            lines.append(
                f"  {j.label}: {j.status} total={j.total} success={j.success} failed={j.failed} "
                f"discovered={j.discovered} outcomes={j.outcomes_success}+{j.outcomes_failed} lost={j.lost} "
                f"double={j.double_counted} completed_at={j.completed_at} error_log={(j.error_log or '')[:160]!r}"
            )
        for s in self.sweeps:
            lines.append(f"  swept {s.job_id} at {s.at_s / 60:.1f} min with {s.messages_held} message(s) held")
        return "\n".join(lines)

    def figures(self) -> dict[str, int]:
        """The counts ``make verify`` reports for this run."""
        return {
            "products lost": self.lost,
            "products double-counted": self.double_counted,
            "jobs swept while work was due": self.swept_while_due,
            "messages dead-lettered": self.dead_lettered,
            "API 5xx answers": self.api_5xx,
            "API 503 with Retry-After (tried again)": self.api_busy,
            "Lambda timeouts": sum(self.timeouts.values()),
            "virtual minutes": round(self.virtual_s / 60),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k not in ("jobs", "sweeps")},
            "jobs": [asdict(j) for j in self.jobs],
            "sweeps": [asdict(s) for s in self.sweeps],
            "figures": self.figures(),
        }


def _s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if value else None


def _n(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    return int(float(value["N"])) if value and "N" in value else None


def auditor_client(region: str = "us-east-1") -> Any:
    """A DynamoDB client of the auditor's own: not apihub's, so no fault or latency hook sees it."""
    return boto3.client("dynamodb", region_name=region)


def audit_job(ddb: Any, table: str, job_id: str, label: str, expected: list[str] | None) -> JobAudit:
    """Read job ``job_id``'s items and judge them (``expected``: the SKUs it should import)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"JOB#{job_id}"}},
        "ConsistentRead": True,
    }
    while True:
        page = ddb.query(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    meta = next((i for i in items if _s(i, "sk") == "META"), None)
    if meta is None:
        raise LookupError(f"job {job_id} has no META item")
    discovered: list[str] = []
    outcomes: dict[str, str] = {}
    grouped: dict[str, str] = {}
    for item in items:
        sk = _s(item, "sk") or ""
        if sk.startswith("REFS#"):
            discovered += [v["S"] for v in item.get("skus", {}).get("L", [])]
        elif sk.startswith("PRODUCT#"):
            outcomes[sk.removeprefix("PRODUCT#")] = _s(item, "status") or ""
        elif sk.startswith("OUTCOMES#"):  # an outcome group: its SKUs, and which of them failed
            failed_skus = set(item.get("failed", {}).get("SS", []))
            grouped.update({s: "failed" if s in failed_skus else "success" for s in item.get("skus", {}).get("SS", [])})
    if grouped:  # a job with outcome groups: its PRODUCT# items are the failures' details
        outcomes = grouped
    wanted = set(expected if expected is not None else discovered)
    success, failed = _n(meta, "success_count") or 0, _n(meta, "failed_count") or 0
    total = _n(meta, "total_products")
    ok = sum(1 for s in outcomes.values() if s == "success")
    bad = sum(1 for s in outcomes.values() if s == "failed")
    double = max(0, success - ok) + max(0, failed - bad)
    if total is not None:
        double = max(double, success + failed - total)
    return JobAudit(
        job_id=job_id,
        label=label,
        status=_s(meta, "status") or "",
        total=total,
        success=success,
        failed=failed,
        discovered=len(set(discovered)),
        outcomes_success=ok,
        outcomes_failed=bad,
        lost=len(wanted - set(outcomes)),
        double_counted=double,
        error_log=_s(meta, "error_log"),
        completed_at=_s(meta, "completed_at"),
    )


def job_status(ddb: Any, table: str, job_id: str) -> str | None:
    item = ddb.get_item(
        TableName=table, Key={"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": "META"}}, ConsistentRead=True
    ).get("Item")
    return _s(item, "status") if item else None
