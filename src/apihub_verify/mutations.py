"""A small mutation suite (``make verify``): each guard the invariants rest on, removed one at a
time, must make a named test fail. A guard whose removal no test notices is a guard nobody checks.

Each row names the file, the exact text of the guard, what it becomes without it, and the tests
that must then fail. ``tests/tooling/test_mutations_table.py`` (in ``make test``) checks that every
guard's text still occurs exactly once, so the table cannot rot when the code moves.

Why by hand rather than a mutation-testing library (mutmut, cosmic-ray): those mutate every
operator of every file and take hours here; this suite mutates only the guards docs/architecture.md (Invariants) names,
with the test that is meant to catch each, and runs in a few minutes.

Run: ``python -m apihub_verify.mutations`` from the repository root (needs the .venv).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from apihub_verify import record

ROOT = Path(__file__).resolve().parents[2]
LAYER = "layers/apihub/apihub"
FEED = "tests/integration/test_change_feed_guarantees.py"
FOLLOW = "tests/integration/test_change_feed_followers.py"
DELIV = "tests/integration/test_change_delivery_guarantees.py"
ORDER = "tests/integration/test_inventory_ordering.py"
STEPS = "tests/unit/inventory/test_stock_never_steps_back.py"
REPLIES = "tests/unit/adapters/test_supplier_replies_by_rule.py"
HOOKS = "tests/integration/test_webhook_throughput.py"


@dataclass(frozen=True)
class Mutation:
    name: str  # the guard, as docs/architecture.md (Invariants) or the issue says it
    path: str  # relative to the repository root
    find: str  # the guard's exact text (occurs once in the file)
    replace: str  # the code without the guard
    tests: tuple[str, ...]  # pytest node ids, one of which must fail
    # Further (find, replace) pairs in the same file, for a guard the code holds twice: the mutant
    # removes every copy (each find occurs once too).
    also: tuple[tuple[str, str], ...] = ()

    def apply(self, text: str) -> str:
        for find, replace in ((self.find, self.replace), *self.also):
            text = text.replace(find, replace, 1)
        return text


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "SKUs added to their outcome group only if none is there yet (exactly once, invariant 1)",
        f"{LAYER}/dal/jobs/outcomes.py",
        "tw.update(OutcomeGroupItem(job.pk, group_sk(number)), actions=actions, condition=none_recorded(members))",
        "tw.update(OutcomeGroupItem(job.pk, group_sk(number)), actions=actions)",
        (
            "tests/integration/test_concurrent_duplicates.py",
            "tests/integration/test_invariants.py::test_redelivered_batch_after_commit_changes_nothing",
            "tests/integration/test_outcome_groups.py::test_two_copies_committing_the_same_chunk_at_once_count_it_once",
            "tests/integration/test_outcome_groups.py::test_a_hand_on_and_its_original_count_each_sku_once",
        ),
    ),
    Mutation(
        "a cancelled group drops only the SKUs a consistent read shows it holds (invariant 1)",
        f"{LAYER}/dal/jobs/outcomes.py",
        "attempt.pending = [o for o in attempt.pending if group_member(o.sku) not in held]",
        "attempt.pending = []",
        ("tests/integration/test_outcome_groups.py::test_a_hand_on_and_its_original_count_each_sku_once",),
    ),
    Mutation(
        "outcome item written only if absent, on a job listed before groups (exactly once, invariant 1)",
        f"{LAYER}/dal/jobs/outcomes.py",
        "tw.save(outcome_item(job, o, batch.now), condition=OutcomeItem.sk.does_not_exist())",
        "tw.save(outcome_item(job, o, batch.now))",
        (
            "tests/integration/test_outcome_groups.py::"
            "test_a_job_listed_before_groups_keeps_one_conditional_outcome_item_per_product",
        ),
    ),
    Mutation(
        "import lock taken only if free (invariant 4)",
        f"{LAYER}/dal/jobs/locks.py",
        "tw.save(lock, condition=LockItem.pk.does_not_exist())",
        "tw.save(lock)",
        ("tests/integration/test_invariants.py::test_concurrent_import_requests_give_one_202",),
    ),
    Mutation(
        "a job ends only if not terminal yet (finalise once, invariant 5)",
        f"{LAYER}/dal/jobs/lifecycle.py",
        "        condition = JobItem.status.is_in(*ACTIVE)\n        if ending.condition",
        "        condition = JobItem.pk.exists()\n        if ending.condition",
        ("tests/integration/test_invariants.py::test_two_finishers_race_and_exactly_one_finalises",),
        # The ending's job.finished event has the job's id, so its put-if-absent is a second
        # once-guard (issue 15): without removing it too, the mutant ends a job once anyway.
        also=(("                condition=changes.put_condition(),\n", ""),),
    ),
    Mutation(
        "outcomes count only while the job runs (late messages change nothing, invariant 3)",
        f"{LAYER}/dal/jobs/outcomes.py",
        "                condition=JobItem.status == JobStatus.running.value,\n",
        "",
        (
            "tests/integration/test_invariants.py::test_a_job_failed_while_its_batch_fetches_counts_nothing_from_that_batch",
        ),
    ),
    Mutation(
        "a finished job never changes (PATCH answers 409)",
        f"{LAYER}/jobs/rules.py",
        "    if current.terminal:\n",
        "    if False:\n",
        ("tests/integration/test_job_patch_rules.py::test_a_finished_job_never_changes",),
    ),
    Mutation(
        "completed_at only with a terminal status",
        f"{LAYER}/jobs/rules.py",
        'if changes.get("completed_at") is not None and (new_status is None or not new_status.terminal):',
        "if False:",
        (
            "tests/integration/test_job_patch_rules.py::"
            "test_completed_at_without_a_terminal_status_is_422_and_changes_nothing",
        ),
    ),
    Mutation(
        "duplicate copies hand each leftover on once (hand-off marker)",
        f"{LAYER}/pipeline/hydrate.py",
        "already = self.jobs.handed_on(job_id, message_id)",
        "already: set[str] = set()",
        ("tests/integration/test_invariants.py::test_duplicate_copies_short_of_time_hand_each_leftover_on_once",),
    ),
    Mutation(
        "an adapter's config merge is conditional on the settings version (no lost PATCH)",
        f"{LAYER}/dal/suppliers.py",
        "condition=SupplierItem.id.exists() & unchanged,",
        "condition=SupplierItem.id.exists(),",
        ("tests/integration/test_api.py::test_an_adapter_config_merge_never_undoes_a_patch_that_came_in_between",),
    ),
    # The change feed's guarantees under AWS's conditions (issue 15, docs/changes.md).
    Mutation(
        "the change log writes an event id once (one event per change, never rewritten)",
        f"{LAYER}/dal/changes.py",
        "self.item(event).save(condition=self.put_condition())",
        "self.item(event).save()",
        (f"{FEED}::test_the_stream_lambda_logs_each_change_once_under_faults_retries_bisection_and_copies",),
    ),
    # Followers of the pull APIs miss nothing (issue 23, docs/changes.md "Nothing is skipped").
    Mutation(
        "a log write takes its position at the attempt that lands, not before its retries",
        f"{LAYER}/dal/changes.py",
        'call_with_retries(lambda: self._put(event), what="log a change")',
        'call_with_retries(lambda put=self.item(event): put.save(condition=self.put_condition()), what="log a change")',
        (f"{FOLLOW}::test_a_retried_log_write_takes_its_position_at_the_attempt_that_lands",),
    ),
    Mutation(
        "job.finished is written through the log's one-attempt client, positioned per attempt",
        f"{LAYER}/dal/jobs/lifecycle.py",
        "with TransactWrite(connection=changes.log_connection()) as tw:",
        "with TransactWrite(connection=self.conn) as tw:",
        (f"{FOLLOW}::test_a_slow_job_ending_is_not_passed_by_a_follower",),
    ),
    Mutation(
        "the change log holds back longer than a log write can take",
        f"{LAYER}/settings.py",
        "changes_settle_ms: int = Field(default=8000,",
        "changes_settle_ms: int = Field(default=2000,",
        (
            f"{FOLLOW}::test_the_settle_window_is_longer_than_a_log_write_can_take",
            f"{FOLLOW}::test_a_log_write_landing_late_is_not_passed_by_a_follower",
        ),
    ),
    Mutation(
        "a page of the change log read to a day's end resumes at that day's end",
        f"{LAYER}/dal/changes.py",
        'reached = min(settled, f"{day.isoformat()}T99")',
        "reached = settled",
        (f"{FOLLOW}::test_a_page_filled_at_the_end_of_a_day_resumes_on_the_next_day",),
    ),
    Mutation(
        "changed_since holds back longer than a stock write can take to commit",
        f"{LAYER}/settings.py",
        "inventory_changes_settle_s: int = Field(default=180,",
        "inventory_changes_settle_s: int = Field(default=0,",
        (f"{FOLLOW}::test_a_late_hydrate_commit_is_not_passed_by_a_changed_since_follower",),
    ),
    Mutation(
        "a stream record whose events were not logged is reported (the batch resumes there)",
        f"{LAYER}/changes/stream.py",
        '            return {"batchItemFailures": [{"itemIdentifier": _sequence(record)}]}\n',
        "            continue\n",
        (f"{FEED}::test_the_stream_lambda_logs_each_change_once_under_faults_retries_bisection_and_copies",),
    ),
    Mutation(
        "job.finished is an item of the ending transaction (it exists iff the ending committed)",
        f"{LAYER}/dal/jobs/lifecycle.py",
        "            tw.save(\n"
        "                changes.item(finished_event(item, ending.status.value, ending.counters, ending.completed_at)),\n"
        "                condition=changes.put_condition(),\n"
        "            )\n",
        "            changes.record([finished_event(item, ending.status.value, ending.counters, ending.completed_at)])\n",
        (f"{FEED}::test_job_finished_exists_only_once_the_ending_transaction_commits",),
    ),
    Mutation(
        "a change record whose event was not put on the bus is reported",
        f"{LAYER}/changes/dispatch.py",
        "if r.event.id in not_put or r.sequence in not_enqueued:",
        "if r.sequence in not_enqueued:",
        (f"{DELIV}::test_every_event_reaches_the_bus_and_every_matching_subscription_under_faults",),
    ),
    Mutation(
        "a change record whose webhook deliveries were not enqueued is reported",
        f"{LAYER}/changes/dispatch.py",
        "if r.event.id in not_put or r.sequence in not_enqueued:",
        "if r.event.id in not_put:",
        (f"{DELIV}::test_every_event_reaches_the_bus_and_every_matching_subscription_under_faults",),
    ),
    Mutation(
        "webhook retries end 24 h after the first attempt",
        f"{LAYER}/changes/schedule.py",
        "return min(now + delay, give_up_at)",
        "return now + delay",
        (f"{DELIV}::test_a_receiver_that_never_answers_2xx_is_tried_for_24_hours_then_dead_lettered",),
    ),
    Mutation(
        "a deleted subscription gets nothing more",
        f"{LAYER}/changes/webhooks.py",
        "    if target is None:\n",
        "    if False:\n",
        (f"{DELIV}::test_deleting_a_subscription_stops_its_pending_retries",),
    ),
    Mutation(
        "stock: a stock write only over an older read (invariant 11, the put's condition)",
        f"{LAYER}/dal/inventory.py",
        "both: Condition = (InventoryItem.content_hash == known.content_hash) & (InventoryItem.as_of < self.as_of)",
        "both: Condition = InventoryItem.content_hash == known.content_hash",
        (f"{STEPS}::test_a_job_write_over_a_newer_stored_read_fails_its_condition",),
    ),
    Mutation(
        "stock: an inventory job leaves out a write a newer stored read superseded",
        f"{LAYER}/dal/inventory.py",
        "        if known.as_of is not None and known.as_of >= self.as_of:\n            return False",
        "        if False:\n            return False",
        (
            f"{STEPS}::test_a_job_write_is_needed_only_over_other_content_read_earlier",
            f"{ORDER}::test_an_inventory_jobs_older_read_after_a_newer_live_read_is_dropped_with_no_event",
        ),
    ),
    Mutation(
        "stock: a live read is confirmed only when its answer is what is stored",
        f"{LAYER}/inventory/reading.py",
        "known=known) is not Stored.superseded:",
        "known=known) is not None:",
        (f"{ORDER}::test_a_live_read_that_loses_its_write_to_a_newer_read_is_not_confirmed_at_its_own_time",),
    ),
    Mutation(
        "stock: a live read that lost its race reads again (an older writer does not win)",
        f"{LAYER}/dal/inventory.py",
        "            known = self._state(supplier_id, inventory.product_id)\n",
        "            return Stored.superseded\n",
        (
            f"{STEPS}::test_a_live_read_that_lost_its_race_to_an_older_read_stores_its_newer_one_after_all",
            f"{ORDER}::test_a_live_read_that_loses_its_write_to_an_older_read_stores_its_own_and_says_so",
        ),
    ),
    Mutation(
        "stock: a live read finding the stored stock moves its as_of on",
        f"{LAYER}/dal/inventory.py",
        "                if self._confirm(supplier_id, inventory.product_id, known, read_at):\n",
        "                if True:\n",
        (f"{STEPS}::test_a_live_read_finding_the_stored_content_moves_its_as_of_on_and_nothing_else",),
    ),
    Mutation(
        "stock: an inventory job's stock names the job (inventory.changed's job_id)",
        f"{LAYER}/dal/inventory.py",
        "        job_id=job_id,\n",
        "        job_id=None,\n",
        (f"{ORDER}::test_an_inventory_jobs_older_read_after_a_newer_live_read_is_dropped_with_no_event",),
    ),
    Mutation(
        "stock: a quantity outside 0..10^9 is unknown (replies by rule)",
        f"{LAYER}/adapters/answers.py",
        "    if not 0 <= value <= QUANTITY_MAX:\n",
        "    if not value.is_finite():\n",
        (
            f"{REPLIES}::test_the_quantity_rule_reads_any_text_as_a_number_from_0_to_a_billion_or_unknown",
            f"{REPLIES}::test_the_issues_reply_two_locations_at_1e308_and_no_total_is_unknown_with_warnings_not_a_crash",
        ),
    ),
    Mutation(
        "stock: a reply for another product is a ProductError, not renamed",
        f"{LAYER}/adapters/answers.py",
        "    raise ProductError(f\"{what}: supplier answered productId '{shown}' for '{asked}'\", code=WRONG_PRODUCT)",
        "    return asked",
        (
            f"{REPLIES}::test_a_reply_for_another_product_is_a_product_error_naming_both_ids",
            f"{ORDER}::test_a_live_read_answered_with_another_products_stock_is_not_stored_nor_renamed",
        ),
    ),
    Mutation(
        "stock: a part listed twice keeps its first listing",
        f"{LAYER}/adapters/promostandards/inventory.py",
        "        elif part.part_id in parts:\n",
        "        elif False:\n",
        (f"{REPLIES}::test_a_part_or_location_listed_twice_keeps_the_first_listing_with_a_note",),
    ),
    Mutation(
        "stock: a time past year 9999 is no time (no OverflowError from a reply)",
        f"{LAYER}/adapters/promostandards/soap.py",
        "    except (ValueError, OverflowError):  # OverflowError: a zone that moves it past year 9999",
        "    except ValueError:",
        (f"{REPLIES}::test_times_past_year_9999_and_numbers_past_a_float_are_no_value_not_an_overflow",),
    ),
    Mutation(
        "stock: a 4Over run size and price are bounded (no Decimal rounding crash)",
        f"{LAYER}/adapters/fourover/mapping.py",
        "if not 0 < runsize <= QUANTITY_MAX or not total.is_finite() or not 0 <= total <= RUN_PRICE_MAX:",
        "if runsize <= 0 or not total.is_finite() or total < 0:",
        (
            "tests/unit/adapters/test_fourover_mapping.py::test_any_base_price_gives_a_unit_price_in_range_or_a_product_error",
        ),
    ),
    Mutation(
        "a batch's webhook deliveries run at once",
        f"{LAYER}/changes/webhooks.py",
        "max_workers=min(len(records), get_settings().webhook_in_flight)",
        "max_workers=1",
        (f"{HOOKS}::test_a_batch_s_deliveries_run_at_once_and_a_slow_receiver_holds_back_no_other",),
    ),
    Mutation(
        "a batch reads each subscription once",
        f"{LAYER}/changes/webhooks.py",
        "target = (targets or repo.target)(message.subscription_id)",
        "target = repo.target(message.subscription_id)",
        (f"{HOOKS}::test_a_batch_reads_each_subscription_once",),
    ),
    Mutation(
        "a first delivery message is in its subscription's group",
        f"{LAYER}/dal/queues.py",
        '{"Id": k, "MessageBody": v, "MessageGroupId": groups[k]}',
        '{"Id": k, "MessageBody": v}',
        (f"{HOOKS}::test_every_delivery_message_is_in_its_subscription_s_group",),
    ),
    Mutation(
        "a webhook retry is in its subscription's group",
        f"{LAYER}/dal/queues.py",
        "        MessageGroupId=webhook_group(body),\n",
        "",
        (f"{HOOKS}::test_a_failing_delivery_is_retried_in_its_group_and_the_others_of_its_batch_are_delivered",),
    ),
)


def problems(root: Path = ROOT) -> list[str]:
    """Rows whose guard text is not exactly once in its file, or whose tests do not exist."""
    found = []
    for m in MUTATIONS:
        path = root / m.path
        for find in (m.find, *(f for f, _ in m.also)):
            count = path.read_text().count(find) if path.exists() else 0
            if count != 1:
                found.append(f"{m.name}: {m.path} holds the guard text {count} times (expected once)")
        for test in m.tests:
            file, _, name = test.partition("::")
            if not (root / file).exists() or (name and f"def {name}(" not in (root / file).read_text()):
                found.append(f"{m.name}: no test {test}")
    return found


def _copy_tree(root: Path, dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],  # noqa: S607 - git from the PATH, as make does
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for rel in files:
        src = root / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def run_one(tree: Path, m: Mutation, python: str) -> tuple[bool, float, str]:
    """Apply ``m`` in ``tree``, run its tests, restore. (killed, seconds, last lines of output)."""
    path = tree / m.path
    original = path.read_text()
    path.write_text(m.apply(original))
    started = time.monotonic()
    try:
        proc = subprocess.run(  # noqa: S603 - our own interpreter and test ids
            [python, "-m", "pytest", "-q", "-x", "-p", "no:xdist", "-p", "no:cacheprovider", *m.tests],
            cwd=tree,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        path.write_text(original)
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
    return proc.returncode not in (0, 5), time.monotonic() - started, tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only mutations whose name contains this")
    args = parser.parse_args(argv)
    stale = problems()
    for line in stale:
        print(f"STALE {line}")
    survivors: list[str] = []
    chosen = [m for m in MUTATIONS if not args.only or args.only in m.name]
    with tempfile.TemporaryDirectory(prefix="apihub-mutants-") as tmp:
        tree = Path(tmp)
        _copy_tree(ROOT, tree)
        for m in chosen:
            killed, seconds, tail = run_one(tree, m, sys.executable)
            print(f"{'killed ' if killed else 'SURVIVED'} {seconds:5.1f}s  {m.name}")
            if not killed:
                survivors.append(m.name)
                print(f"    {tail}")
    notes = [f"survived: {name}" for name in survivors] + [f"stale row: {line}" for line in stale]
    record(
        "mutations",
        "guards",
        title="Mutation suite: each guard removed must fail a named test",
        examples=len(chosen),
        failures=len(survivors) + len(stale),
        command="python -m apihub_verify.mutations",
        notes=notes or [f"{len(chosen)} guards removed one at a time; each made its named test fail"],
    )
    return 1 if survivors or stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
