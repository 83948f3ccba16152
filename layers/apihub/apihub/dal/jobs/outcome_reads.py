"""Reading a job's outcomes: which SKUs it recorded, and how each ended (its outcome groups, and the
outcome items of a job from before groups). The readers, apart from the exactly-once writer
(``outcomes.Outcomes``, which extends this), so that a read path (a product's stock ``as_of``,
health) loads these and not the transaction machinery."""

from __future__ import annotations

from collections.abc import Iterable

from apihub.dal.jobs.items import JobItems
from apihub.dal.jobs.keys import (
    GROUP_PREFIX,
    META,
    OUTCOME_PREFIX,
    group_member,
    group_sk,
    job_pk,
    outcome_group,
    outcome_groups_of,
    outcome_sk,
    sku_fits,
)
from apihub.dal.tables import JobItem, OutcomeGroupItem, OutcomeItem


class OutcomeReads(JobItems):
    def _group_members(self, job_id: str, numbers: Iterable[int], consistent: bool = False) -> set[str]:
        """Every SKU (as ``group_member``) these outcome groups of the job hold."""
        keys = [(job_pk(job_id), group_sk(n)) for n in dict.fromkeys(numbers)]
        if not keys:
            return set()
        held: set[str] = set()
        for group in OutcomeGroupItem.batch_get(
            keys, consistent_read=consistent, attributes_to_get=["pk", "sk", "skus"]
        ):
            held |= set(group.skus or ())
        return held

    def succeeded_in(self, job_ids: Iterable[str], sku: str) -> set[str]:
        """Which of these jobs recorded ``sku`` as a success (a BatchGetItem of the jobs' group
        counts, then one of the SKU's group in each; a job from before groups: its outcome item)."""
        by_pk = {job_pk(j): j for j in dict.fromkeys(job_ids)}
        if not by_pk or not sku_fits(sku):
            return set()
        jobs = JobItem.batch_get([(pk, META) for pk in by_pk], attributes_to_get=["pk", "sk", "outcome_groups"])
        groups = {job.pk: n for job in jobs if (n := outcome_groups_of(job))}
        member = group_member(sku)
        found: set[str] = set()
        keys = [(pk, group_sk(outcome_group(sku, n))) for pk, n in groups.items()]
        for group in OutcomeGroupItem.batch_get(keys, attributes_to_get=["pk", "sk", "skus", "failed"]) if keys else ():
            if member in (group.skus or ()) and member not in (group.failed or ()):
                found.add(by_pk[group.pk])
        legacy = [(pk, outcome_sk(sku)) for pk in by_pk if pk not in groups]
        for item in OutcomeItem.batch_get(legacy, attributes_to_get=["pk", "sk", "status"]) if legacy else ():
            if item.status == "success":
                found.add(by_pk[item.pk])
        return found

    def success_skus(self, job_id: str) -> set[str]:
        """Every SKU the job recorded as a success (a Query over its outcome groups; for a job from
        before groups, over its outcome items, keys and status only)."""
        return {sku for sku, status in self.outcome_statuses(job_id).items() if status == "success"}

    def outcome_statuses(self, job_id: str, consistent: bool = False) -> dict[str, str]:
        """Every SKU (as ``group_member``) the job recorded, and its status (``success`` |
        ``failed``): its outcome groups, and the outcome items of a job from before groups."""
        statuses: dict[str, str] = {}
        groups = OutcomeGroupItem.query(
            job_pk(job_id), OutcomeGroupItem.sk.startswith(GROUP_PREFIX), consistent_read=consistent
        )
        for group in groups:
            failed = group.failed or set()
            statuses.update({sku: "failed" if sku in failed else "success" for sku in group.skus or ()})
        if statuses:
            return statuses  # a grouped job's outcome items are the failures' details, already counted
        items = OutcomeItem.query(
            job_pk(job_id),
            OutcomeItem.sk.startswith(OUTCOME_PREFIX),
            consistent_read=consistent,
            attributes_to_get=["sk", "status"],
        )
        return {item.sk[len(OUTCOME_PREFIX) :]: item.status for item in items}

    def recorded_skus(self, job_id: str, skus: Iterable[str], groups: int | None = None) -> set[str]:
        """Which of ``skus`` already have an outcome for this job (duplicate deliveries skip them).
        ``groups``: the job's ``outcome_groups`` (None: a job from before groups)."""
        wanted = list(dict.fromkeys(skus))
        if not wanted:
            return set()
        if groups:
            held = self._group_members(job_id, (outcome_group(sku, groups) for sku in wanted))
            return {sku for sku in wanted if group_member(sku) in held}
        by_key = {outcome_sk(sku): sku for sku in wanted}
        found = OutcomeItem.batch_get([(job_pk(job_id), sk) for sk in by_key], attributes_to_get=["pk", "sk"])
        return {by_key[item.sk] for item in found}
