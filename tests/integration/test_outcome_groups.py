"""Invariant 1's record since issue 16: a job's outcomes live in outcome groups (``OUTCOMES#<n>``,
string sets of SKUs ADDed under "none of them there yet"), not one item per product. Each guard of
that mechanism, with a test that fails without it."""

from __future__ import annotations

import threading
from typing import Any

from apihub.dal.jobs import JobsRepository, Outcome
from apihub.dal.jobs.keys import OUTCOME_ITEMS_PER_TRANSACTION, outcome_group
from apihub.dal.jobs.outcomes import Outcomes, none_recorded
from apihub.dal.tables import JobItem, OutcomeGroupItem, OutcomeItem
from apihub.models import Product
from apihub.modes.fetch import PRODUCT
from apihub.pipeline import discover


def _running_job(hub: Any, products: int) -> tuple[JobsRepository, str]:
    hub.add_supplier("demo", protocol_config={"products": products})
    res = hub.start_import("demo", mode="full_sellable")
    assert res.status == 202, res.json
    next(m for m in hub.mappings if m.fn.logical_id == "DiscoverFunction").poll_once()
    return JobsRepository(), res.json["sync_job_id"]


def _ok(sku: str) -> Outcome:
    return Outcome(sku, product=Product(product_id=sku, name=sku))


def _counts(repo: JobsRepository, job_id: str) -> tuple[int, int]:
    job = repo.get(job_id)
    return job.success_count, job.failed_count


def test_two_copies_committing_the_same_chunk_at_once_count_it_once(hub, monkeypatch) -> None:
    # Given a running job, and two copies of one message's outcomes (one with a failure) whose
    # transactions are both built before either is sent
    repo, job_id = _running_job(hub, 10)
    skus = [f"DEMO-{n:05d}" for n in range(1, 11)]
    barrier = threading.Barrier(2, timeout=60)
    real_commit = Outcomes._commit

    def commit_together(self: Outcomes, batch: Any, plan: Any) -> None:
        if len(plan.pending) == len(skus):  # the first attempt of each copy
            barrier.wait()
        real_commit(self, batch, plan)

    monkeypatch.setattr(Outcomes, "_commit", commit_together)
    results: list[Any] = []

    def record() -> None:
        outcomes = [_ok(s) for s in skus[:-1]] + [Outcome(skus[-1], error="ProductError: 130 x")]
        results.append(JobsRepository().record_outcomes(repo.get_item(job_id), outcomes, {}))

    # When both commit at once
    threads = [threading.Thread(target=record) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    # Then one recorded every SKU and the other none (its group condition failed, and the
    # consistent read of the group showed all of them there), and the counters moved once
    assert sorted(len(r.recorded) for r in results) == [0, 10]
    assert sorted(len(r.duplicates) for r in results) == [0, 10]
    assert _counts(repo, job_id) == (9, 1)
    statuses = repo.outcome_statuses(job_id, consistent=True)
    assert statuses == {**dict.fromkeys(skus[:-1], "success"), skus[-1]: "failed"}


def test_a_hand_on_and_its_original_count_each_sku_once(hub) -> None:
    # Given a message of 10 SKUs whose copy ran short of time and handed its last 4 on as a new
    # message, which committed first (one of them as a failure)
    repo, job_id = _running_job(hub, 10)
    item = repo.get_item(job_id)
    skus = [f"DEMO-{n:05d}" for n in range(1, 11)]
    assert len({outcome_group(s, int(item.outcome_groups)) for s in skus}) == 1  # one group: a partial overlap
    handed_on = repo.record_outcomes(
        item, [_ok(s) for s in skus[6:9]] + [Outcome(skus[9], error="ProductError: x")], {}
    )
    assert len(handed_on.recorded) == 4
    # When the original copy, which fetched all 10 before it ran out of time, commits them
    original = repo.record_outcomes(repo.get_item(job_id), [_ok(s) for s in skus], {})
    # Then it records the 6 nobody had, drops the 4 the hand-on did, and each SKU counts once,
    # with the status its first commit gave it
    assert sorted(original.recorded) == skus[:6] and sorted(original.duplicates) == skus[6:]
    assert _counts(repo, job_id) == (9, 1)
    assert repo.outcome_statuses(job_id, consistent=True)[skus[9]] == "failed"
    assert [e.sku for e in repo.get(job_id).errors] == [skus[9]]


def test_a_chunk_over_several_groups_drops_only_what_each_group_holds(hub) -> None:
    # Given a job of 300 products (several groups), 20 of whose SKUs (spread over the groups) are recorded
    repo, job_id = _running_job(hub, 300)
    item = repo.get_item(job_id)
    groups = int(item.outcome_groups)
    assert groups > 1
    skus = [f"DEMO-{n:05d}" for n in range(1, 46)]
    early = skus[::3][:15]
    assert len({outcome_group(s, groups) for s in skus}) > 1
    repo.record_outcomes(item, [_ok(s) for s in early], {})
    # When a chunk of 45 holding them commits
    result = repo.record_outcomes(repo.get_item(job_id), [_ok(s) for s in skus], {})
    # Then exactly the others are recorded, once
    assert sorted(result.duplicates) == sorted(early)
    assert sorted(result.recorded) == sorted(set(skus) - set(early))
    assert _counts(repo, job_id) == (45, 0)
    assert repo.recorded_skus(job_id, [*skus, "DEMO-00299"], groups) == set(skus)


def test_failures_keep_their_detail_item_for_errors_and_failed_only(hub) -> None:
    # Given a job whose chunk has two failures and a success
    repo, job_id = _running_job(hub, 3)
    repo.record_outcomes(
        repo.get_item(job_id),
        [_ok("DEMO-00001"), Outcome("DEMO-00002", error="ProductError: a"), Outcome("DEMO-00003", error="E: b")],
        {},
    )
    # Then the failures, and only they, have a detail item (the errors index and failed_only read them)
    details = {o.sk: o.error for o in OutcomeItem.query(f"JOB#{job_id}", OutcomeItem.sk.startswith("PRODUCT#"))}
    assert details == {"PRODUCT#DEMO-00002": "ProductError: a", "PRODUCT#DEMO-00003": "E: b"}
    assert sorted(repo.failed_skus(job_id)) == ["DEMO-00002", "DEMO-00003"]
    errors, _ = repo.list_errors(job_id, 10)
    assert sorted(e.sku for e in errors) == ["DEMO-00002", "DEMO-00003"]
    assert repo.success_skus(job_id) == {"DEMO-00001"}
    assert repo.succeeded_in([job_id], "DEMO-00001") == {job_id}
    assert repo.succeeded_in([job_id], "DEMO-00002") == set()


def test_a_job_listed_before_groups_keeps_one_conditional_outcome_item_per_product(hub) -> None:
    # Given a running job listed before outcome groups existed (no outcome_groups on its item)
    repo, job_id = _running_job(hub, 3)
    JobItem(f"JOB#{job_id}", "META").update(actions=[JobItem.outcome_groups.remove()])
    item = repo.get_item(job_id)
    assert item.outcome_groups is None
    outcomes = [_ok("DEMO-00001"), Outcome("DEMO-00002", error="ProductError: 130 x")]
    first = repo.record_outcomes(item, outcomes, {})
    # When the same outcomes arrive again
    again = repo.record_outcomes(repo.get_item(job_id), [_ok("DEMO-00001"), _ok("DEMO-00002")], {})
    # Then they count once, through per-product items, and its readers still find them
    assert len(first.recorded) == 2 and again.recorded == [] and len(again.duplicates) == 2
    assert _counts(repo, job_id) == (1, 1)
    assert not list(OutcomeGroupItem.query(f"JOB#{job_id}", OutcomeGroupItem.sk.startswith("OUTCOMES#")))
    assert repo.outcome_statuses(job_id) == {"DEMO-00001": "success", "DEMO-00002": "failed"}
    assert repo.recorded_skus(job_id, ["DEMO-00001", "DEMO-00003"]) == {"DEMO-00001"}
    assert repo.succeeded_in([job_id], "DEMO-00001") == {job_id}


def test_fan_out_sends_each_groups_skus_together_and_the_same_after_a_resume(hub, monkeypatch) -> None:
    # Given a job of 2,500 products (3 ref chunks), its fan-out's sends recorded
    sent: list[list[str]] = []
    monkeypatch.setattr(discover.queues, "send_hydrate_batch", lambda bodies, **_: sent.append(bodies) or len(bodies))
    repo, job_id = _running_job(hub, 2500)
    groups = int(repo.get_item(job_id).outcome_groups)
    # Then every SKU went out once, in group order: a message's SKUs share one or two groups
    skus = [sku for bodies in sent for body in bodies for sku in body["skus"]]
    assert len(skus) == len(set(skus)) == 2500
    order = [outcome_group(s, groups) for s in skus]
    assert order == sorted(order)
    # When the fan-out is resumed from its second chunk (an invocation that ran out of time)
    first_round = [list(bodies) for bodies in sent]
    sent.clear()
    item = repo.get_item(job_id)
    item.discovery = {**item.discovery, "phase": "fanout", "sent": 1}
    assert discover._fan_out(repo, item, lambda: 10**9)
    # Then it sends exactly the chunks it had not sent, as the first invocation cut them
    assert sent == first_round[1:]


def test_the_group_condition_of_a_full_transaction_fits_dynamodbs_expression_limit() -> None:
    # Given the most SKUs a product transaction can add to one group, each as long as a SKU can be

    members = {f"{n:03d}".ljust(1016, "x") for n in range(PRODUCT.outcomes_per_commit(OUTCOME_ITEMS_PER_TRANSACTION))}
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    # When its condition is serialized as PynamoDB sends it
    expression = none_recorded(members).serialize(names, values)
    # Then the expression (values go apart, as placeholders) is far under DynamoDB's 4 KB
    assert len(expression.encode()) < 4096 / 2, len(expression)
    assert len(values) == PRODUCT.outcomes_per_commit(OUTCOME_ITEMS_PER_TRANSACTION)
    # And a stock job's transaction, which may add up to 98 unchanged SKUs to one group (a small
    # job has one group), stays under the limit itself
    many = {f"SKU-{n}" for n in range(OUTCOME_ITEMS_PER_TRANSACTION)}
    names, values = {}, {}
    assert len(none_recorded(many).serialize(names, values).encode()) < 4096
    assert len(values) == OUTCOME_ITEMS_PER_TRANSACTION


def test_fan_out_after_a_listing_orders_the_listed_skus_without_reading_and_a_fresh_one_always_progresses(
    hub, monkeypatch
) -> None:
    # Given a job of 2,500 products (3 ref chunks) back in its fan-out phase, nothing sent yet
    sent: list[list[str]] = []
    monkeypatch.setattr(discover.queues, "send_hydrate_batch", lambda bodies, **_: sent.append(bodies) or len(bodies))
    repo, job_id = _running_job(hub, 2500)
    first_run = [sku for bodies in sent for body in bodies for sku in body["skus"]]
    sent.clear()
    item = repo.get_item(job_id)
    item.discovery = {**item.discovery, "phase": "fanout", "sent": 0}
    reads: list[int] = []
    real_read = repo.get_ref_chunk
    monkeypatch.setattr(repo, "get_ref_chunk", lambda job, number: reads.append(number) or real_read(job, number))
    listed = [real_read(job_id, n) for n in (1, 2, 3)]
    as_listed = [sku for chunk in listed for sku in chunk]
    # When an invocation that has just listed them is already past its reserve (30 s),
    # Then it reads nothing and sends nothing: a fresh invocation will
    assert not discover._fan_out(repo, item, lambda: 1_000, listed=as_listed)
    assert reads == [] and sent == []
    # And a fresh invocation past its reserve still reads them all and sends one chunk (progress)
    assert not discover._fan_out(repo, item, lambda: 1_000)
    assert reads == [1, 2, 3]
    assert [sku for bodies in sent for body in bodies for sku in body["skus"]] == first_run[:1000]
    # And one that has just listed them, with time, sends the rest without reading a chunk:
    # every SKU once, in the order a fresh invocation reads
    reads.clear()
    assert discover._fan_out(repo, repo.get_item(job_id), lambda: 10**9, listed=as_listed)
    assert reads == []
    assert [sku for bodies in sent for body in bodies for sku in body["skus"]] == first_run
