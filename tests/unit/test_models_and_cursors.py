"""Models, validation rules and cursors (no AWS)."""

from __future__ import annotations

import pytest
from apihub.errors import InvalidInput, ProductError
from apihub.models import DiscoveryMode, ImportRequest, JobStatus, Product, ProductPart, iso, parse_iso
from apihub.pagination import decode_cursor, encode_cursor
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


def test_cursor_round_trip_and_garbage() -> None:
    state = {"i": "ByStatus", "k": {"pk": {"S": "JOB#1"}}}
    assert decode_cursor(encode_cursor(state)) == state
    assert encode_cursor(None) is None and decode_cursor(None) is None
    for bad in ("!!!", "bm90IGpzb24", "WzFd"):  # invalid base64, not JSON, a list
        with pytest.raises(InvalidInput):
            decode_cursor(bad)


def test_adapter_error_text_names_the_class() -> None:
    assert ProductError("130 Product Id not found", code="130").describe() == "ProductError: 130 Product Id not found"
