"""`apihub prices show` and `apihub quote`: the requests they send and the breakdown they print."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from apihub.pricing.models import QuoteRequest
from apihub.pricing.quote import quote
from typer.testing import CliRunner

from apihub_cli import main
from apihub_fakes.promostandards import generate_catalog
from apihub_fakes.promostandards import ppc as fake_ppc
from tests.tooling.cli_stub import serving

PRODUCT = generate_catalog(3, seed=7).products[0]
PRICING = fake_ppc.demo_pricing(PRODUCT, "1")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, dict[str, list[str]], Any]]]:
    """The pricing routes, answered by the real quote engine over the fake supplier's pricing."""
    seen: list[tuple[str, str, dict[str, list[str]], Any]] = []

    def answer(method: str, raw_path: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        url = urlsplit(raw_path)
        seen.append((method, url.path, parse_qs(url.query), body))
        if url.path.endswith("/pricing"):
            return 200, PRICING.model_dump(mode="json"), {}
        if url.path.endswith("/quote"):
            result = quote(PRICING, QuoteRequest.model_validate(body))
            sell = {"rule_id": "0f1e2d3c-aaaa-bbbb-cccc-000000000000", "unit_total": "19.99", "total": "2878.56"}
            return 200, {**result.model_dump(mode="json"), "sell": sell}, {}
        return 404, {"detail": "Not found"}, {}

    with serving(answer, monkeypatch, width=120):
        yield seen


def run(*args: str) -> Any:
    return CliRunner().invoke(main.app, list(args), catch_exceptions=False)


def test_prices_show_prints_breaks_per_part_and_the_decorations(api: list[Any]) -> None:
    result = run("prices", "show", "demo", PRODUCT.product_id, "--fob", "2", "--price-type", "Net")

    assert result.exit_code == 0, result.output
    assert api[0][1:3] == (
        f"/api/suppliers/demo/products/{PRODUCT.product_id}/pricing",
        {"fob_id": ["2"], "price_type": ["Net"]},
    )
    first = PRICING.parts[0]
    row = next(line for line in result.output.splitlines() if first.part_id in line)
    assert f"{first.prices[0].min_quantity}+ {first.prices[0].price}" in row
    assert "Screen Print" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 120  # the terminal's width
    wide = run("prices", "show", "demo", PRODUCT.product_id, "--wide")
    assert "order Less than minimum (LTM)" in wide.output  # a charge name cut to fit is whole with --wide


def test_quote_sends_part_quantity_and_decorations_and_prints_each_line(api: list[Any]) -> None:
    part = PRODUCT.parts[0].part_id
    result = run("quote", "demo", PRODUCT.product_id, "--part", part, "--qty", "144", "--deco", "1:1:3")

    assert result.exit_code == 0, result.output
    method, path, _, body = api[0]
    assert (method, path) == ("POST", f"/api/suppliers/demo/products/{PRODUCT.product_id}/quote")
    assert body == {
        "part_id": part,
        "quantity": 144,
        "decorations": [{"location_id": "1", "decoration_id": "1", "units": 3}],
        "repeat": False,
    }
    rows = [line.split() for line in result.output.splitlines()]
    by_kind = {row[0]: row for row in rows if row}
    assert by_kind["setup"][-3:] == ["40.00", "3", "120.00"]
    assert by_kind["run"][-3:] == ["0.25", "288", "72.00"]  # 2 extra colours x 144 at the 144+ row
    assert by_kind["total"][-1] == str(quote(PRICING, QuoteRequest.model_validate(body)).total)
    assert by_kind["sell"][-1] == "2878.56"


def test_a_malformed_deco_is_a_usage_error_naming_the_format(api: list[Any]) -> None:
    result = CliRunner().invoke(main.app, ["quote", "demo", "P", "--part", "A", "--qty", "1", "--deco", "front"])
    assert result.exit_code == 2 and "LOCATION:DECORATION:UNITS" in result.output
    assert api == []
