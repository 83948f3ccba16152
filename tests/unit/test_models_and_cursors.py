"""Models, validation rules and cursors (no AWS)."""

from __future__ import annotations

import json

import pytest
from apihub.errors import InvalidCursor, ProductError
from apihub.models import DiscoveryMode, ImportRequest, JobStatus, Product, ProductPart, iso, parse_iso
from apihub.pagination import PAGE_BUDGET_BYTES, KeyString, Position, decode_cursor, encode_cursor, fit_page
from pydantic import ValidationError


def test_import_request_defaults_and_limits() -> None:
    req = ImportRequest()
    assert (req.mode, req.limit, req.explicit_list) == (DiscoveryMode.first_n, 20, None)
    for bad in (
        {"limit": 0},
        {"limit": 10_001},
        {"mode": "explicit_list"},
        {"explicit_list": []},
        {"explicit_list": ["x"] * 10_001},
        {"unknown": 1},
    ):
        with pytest.raises(ValidationError):
            ImportRequest.model_validate(bad)
    assert ImportRequest(mode="explicit_list", explicit_list=["A"]).explicit_list == ["A"]


def test_terminal_statuses() -> None:
    assert {s for s in JobStatus if s.terminal} == {JobStatus.success, JobStatus.partial_success, JobStatus.failed}


def test_content_hash_tracks_content_only() -> None:
    a = Product(product_id="P", name="Tee", parts=[ProductPart(part_id="P-1", color="Red")])
    b = Product(product_id="P", name="Tee", parts=[ProductPart(part_id="P-1", color="Red")])
    c = Product(product_id="P", name="Tee", parts=[ProductPart(part_id="P-1", color="Blue")])
    assert a.compute_hash() == b.compute_hash() != c.compute_hash()


def test_iso_round_trip_is_utc_with_z() -> None:
    dt = parse_iso("2026-01-02T03:04:05+02:00")
    assert iso(dt) == "2026-01-02T01:04:05.000Z"
    assert iso(parse_iso("2026-01-02T03:04:05")) == "2026-01-02T03:04:05.000Z"  # no zone: UTC


class _Spot(Position):
    b: KeyString
    k: tuple[KeyString, KeyString] | None = None


@pytest.fixture
def cursor_key(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The signing key, without AWS: the test changes ``key[0]`` to sign with another one."""
    key = [b"k" * 64]
    monkeypatch.setattr("apihub.dal.cursor_key.cursor_key", lambda: key[0])
    return key


def test_cursor_round_trip_and_garbage(cursor_key: list[bytes]) -> None:
    spot = _Spot(b="JOBS#2026-01", k=("JOB#1", "META"))
    token = encode_cursor(spot, "sync-jobs?status=failed")
    assert decode_cursor(token, "sync-jobs?status=failed", _Spot) == spot
    assert encode_cursor(None, "x") is None and decode_cursor(None, "x", _Spot) is None
    # Garbage, and the unsigned base64 JSON tokens of before (issue 12 finding 7)
    for bad in ("!!!", "bm90IGpzb24", "WzFd", "eyJrIjogeyJib2d1cyI6IHsiUyI6ICJ4In19fQ", "v1..", "v1.e30.!!!"):
        with pytest.raises(InvalidCursor, match=r"^next_token: "):
            decode_cursor(bad, "sync-jobs?status=failed", _Spot)


def test_a_cursor_is_bound_to_its_scope_and_key_and_checked_for_shape(cursor_key: list[bytes]) -> None:
    token = encode_cursor(_Spot(b="JOBS#2026-01"), "sync-jobs?status=failed")
    assert token is not None
    # Another list (other filters), a changed payload, another key: each a 400 naming next_token
    with pytest.raises(InvalidCursor, match=r"^next_token: not issued for this list"):
        decode_cursor(token, "sync-jobs?status=success", _Spot)
    version, payload, mac = token.split(".")
    tampered = f"{version}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{mac}"
    with pytest.raises(InvalidCursor, match=r"^next_token: "):
        decode_cursor(tampered, "sync-jobs?status=failed", _Spot)
    cursor_key[0] = b"another key"
    with pytest.raises(InvalidCursor, match=r"^next_token: not issued for this list"):
        decode_cursor(token, "sync-jobs?status=failed", _Spot)
    # A correctly signed token of another shape never reaches DynamoDB: unknown fields, wrong types
    for stale in ({"b": "JOBS#2026-01", "k": {"pk": {"S": "JOB#1"}}}, {"b": "x", "extra": 1}, {"b": ""}):

        class Stale(Position):
            model_config = {"extra": "allow"}

        signed = encode_cursor(Stale(**stale), "sync-jobs")
        with pytest.raises(InvalidCursor, match=r"^next_token: no longer valid"):
            decode_cursor(signed, "sync-jobs", _Spot)


def test_fit_page_keeps_a_page_under_the_budget_as_lambda_counts_it() -> None:
    item = {"sku": "S", "error": '"\\' * 300}  # quotes and backslashes: escaped twice in the envelope
    body = json.dumps([item] * 1000, separators=(",", ":"))
    envelope = json.dumps({"statusCode": 200, "body": body})
    sent = fit_page([item] * 1000, budget=100_000)
    assert 0 < sent < 1000
    page = json.dumps({"statusCode": 200, "body": json.dumps([item] * sent, separators=(",", ":"))})
    assert len(page) <= 100_000 < len(envelope)
    assert fit_page([item] * 3) == 3 and PAGE_BUDGET_BYTES == 5 * 1024 * 1024
    assert fit_page([{"x": "y" * 200_000}] * 2, budget=1000) == 1  # always one, so a list always moves on


def test_adapter_error_text_names_the_class() -> None:
    assert ProductError("130 Product Id not found", code="130").describe() == "ProductError: 130 Product Id not found"
