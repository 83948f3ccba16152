"""Sizes the way DynamoDB counts them (apihub.dal.sizes), and transactions cut to its limits
(apihub.dal.jobs.writes.chunked)."""

from __future__ import annotations

from apihub.dal.jobs import Outcome
from apihub.dal.jobs.keys import (
    ITEMS_PER_TRANSACTION,
    OUTCOME_ITEMS_PER_TRANSACTION,
    SKU_MAX_BYTES,
    outcome_sk,
    sku_fits,
    sku_label,
)
from apihub.dal.jobs.writes import PRODUCT_BYTES_PER_TRANSACTION, ProductWrite, chunked, outcome_item
from apihub.dal.sizes import ITEM_MAX, SORT_KEY_MAX, item_bytes, kb, truncate_utf8, utf8_len
from apihub.dal.tables import JobItem, ProductItem
from apihub.modes.fetch import STOCK

NOW = "2026-01-01T00:00:00.000000Z"


def test_strings_and_names_count_utf8_bytes_not_characters() -> None:
    # "é" is 2 bytes, the emoji 4: a limit counted in characters lets them through
    assert item_bytes({"sk": {"S": "é"}}) == 2 + 2
    assert item_bytes({"名前": {"S": "\U0001f642" * 3}}) == 6 + 12


def test_binary_numbers_booleans_lists_and_maps_follow_dynamodbs_rules() -> None:
    assert item_bytes({"d": {"B": b"\x00" * 10}}) == 1 + 10  # raw bytes, not base64
    assert item_bytes({"n": {"N": "12345"}}) == 1 + 4  # 5 significant digits: 3 + 1
    assert item_bytes({"n": {"N": "-0.00100"}}) == 1 + 2  # leading and trailing zeros trimmed
    assert item_bytes({"b": {"BOOL": True}, "z": {"NULL": True}}) == 2 + 2
    assert item_bytes({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert item_bytes({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_bytes({"s": {"SS": ["a", "bc"]}}) == 1 + 3


def test_truncation_never_splits_a_character_and_kb_rounds_up() -> None:
    assert truncate_utf8("\U0001f642\U0001f642", 5) == "\U0001f642"
    assert truncate_utf8("abc", 5) == "abc"
    assert kb(ITEM_MAX) == "400 KB" and kb(ITEM_MAX + 1) == "401 KB"


def test_the_longest_sku_that_fits_makes_a_1024_byte_outcome_key() -> None:
    longest, too_long = "a" * SKU_MAX_BYTES, "a" * (SKU_MAX_BYTES + 1)
    assert sku_fits(longest) and utf8_len(outcome_sk(longest)) == SORT_KEY_MAX
    assert not sku_fits(too_long) and not sku_fits("")
    # a SKU too long for a key is recorded under a stable substitute, which fits
    label = sku_label("\U0001f642" * 300)
    assert label.startswith("sha256:") and label == sku_label("\U0001f642" * 300)
    assert utf8_len(outcome_sk("\U0001f642" * 300)) <= SORT_KEY_MAX


def _job() -> JobItem:
    return JobItem("JOB#j", "META", id="j", supplier_id="s", errors=[])


def _write(sku: str, size: int) -> ProductWrite:
    return ProductWrite(ProductItem("s", sku, content_hash="h", data=b"", updated_at=NOW), size)


def test_chunks_respect_the_item_count_and_the_4_mb_of_a_transaction() -> None:
    job = _job()
    # Given 20 products of 390 KB each (7.8 MB): the count alone would make one transaction
    big = [Outcome(f"B{i}", product=object()) for i in range(20)]
    writes = {o.sku: _write(o.sku, 390 * 1024) for o in big}
    chunks = chunked(job, big, writes, NOW)
    # Then each transaction holds what fits 4 MB beside the job and supplier updates
    assert [len(c) for c in chunks] == [8, 8, 4]
    for chunk in chunks:
        used = sum(writes[o.sku].size + item_bytes(outcome_item(job, o, NOW).serialize()) for o in chunk)
        assert used <= PRODUCT_BYTES_PER_TRANSACTION
    # And small ones are cut by count (100 items: 49 products, their outcomes, job and supplier)
    small = [Outcome(f"S{i}", product=object()) for i in range(100)]
    counts = [len(c) for c in chunked(job, small, {o.sku: _write(o.sku, 100) for o in small}, NOW)]
    assert counts == [49, 49, 2]


def test_an_unchanged_product_takes_one_item_of_a_transaction() -> None:
    # Given 200 outcomes, the odd ones changed (a write each), the even ones unchanged (none)
    job = _job()
    outcomes = [Outcome(f"S{i}", product=object()) for i in range(200)]
    writes = {o.sku: _write(o.sku, 100) for i, o in enumerate(outcomes) if i % 2}
    # When they are cut into transactions
    chunks = chunked(job, outcomes, writes, NOW)
    # Then each holds up to 98 items beside the job and supplier updates, an unchanged product one
    items = [sum(2 if o.sku in writes else 1 for o in chunk) for chunk in chunks]
    assert max(items) <= ITEMS_PER_TRANSACTION - 2 and sum(items) == 300 and len(chunks) == 4
    # And a stock job's unchanged re-read commits a transaction's worth at once
    unchanged = [
        Outcome(f"U{i}", product=object()) for i in range(STOCK.outcomes_per_commit(OUTCOME_ITEMS_PER_TRANSACTION))
    ]
    assert len(chunked(job, unchanged, {}, NOW)) == 1
