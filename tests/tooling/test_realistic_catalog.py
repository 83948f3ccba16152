"""Issue 27's realistic catalog: deterministic, anchored on the real samples' ends (1 part, S&S
6030's 423), served by the fake with every call a product takes, and the fake's call counts."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from apihub_fakes.promostandards import generate_catalog, running_fake_promostandards
from apihub_fakes.promostandards.realistic import generate_realistic_catalog, percentile, shape_of
from apihub_fakes.promostandards.responses import media_images, pricing_response, product_response
from apihub_fakes.promostandards.server import catalog_of_shape


def test_same_seed_same_catalog_and_another_seed_another() -> None:
    a, b = generate_realistic_catalog(200, 1), generate_realistic_catalog(200, 1)
    assert [product_response(p) for p in a.products] == [product_response(p) for p in b.products]
    assert [len(p.parts) for p in generate_realistic_catalog(200, 2).products] != [len(p.parts) for p in a.products]


def test_the_shape_spans_the_samples_from_one_part_to_ss_6030() -> None:
    shape = shape_of(generate_realistic_catalog(1000, 1))
    # the two real getProduct samples are the ends: SanMar MM1000 (1 part), S&S 6030 (423 parts)
    parts = [len(p.parts) for p in generate_realistic_catalog(1000, 1).products]
    assert min(parts) == 1 and shape.parts_max == 423
    # and the middle is what docs/benchmarks.md states (a product in 10 has 100 parts or more)
    assert 8 <= shape.parts_median <= 15
    assert 80 <= shape.parts_p90 <= 140
    assert 1 <= shape.price_breaks_per_part <= 5


def test_a_realistic_product_outweighs_a_toy_one() -> None:
    real = generate_realistic_catalog(100, 1).products
    toy = generate_catalog(100, 1).products
    assert sum(len(product_response(p)) for p in real) > 3 * sum(len(product_response(p)) for p in toy)
    biggest = max(real, key=lambda p: len(p.parts))
    assert len(media_images(biggest)) == 1 + len(biggest.colors)
    assert pricing_response(biggest, biggest.fob_ids[0]).count(b"<tns:PartPrice>") >= len(biggest.parts)


def test_sellable_products_follow_the_same_rule_in_both_shapes() -> None:
    # the bench sizes a catalog by the toy catalog's sellable count (``stack.catalog_size_for``)
    assert generate_realistic_catalog(400, 1).sellable_ids == generate_catalog(400, 1).sellable_ids


def test_an_unknown_shape_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown catalog shape 'huge'"):
        catalog_of_shape("huge", 10, 1)


def test_percentile_is_nearest_rank() -> None:
    assert percentile(list(range(1, 11)), 0.9) == 9.0
    assert percentile([5], 0.5) == 5.0


def test_the_fake_counts_calls_in_flight_and_within_a_second() -> None:
    with running_fake_promostandards(20, 1, latency_ms=200, shape="realistic") as fake:
        body = (
            '<?xml version="1.0"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
            '<GetProductRequest xmlns="x"><id>{id}</id><password>{pw}</password><productId>PSF00001</productId>'
            "</GetProductRequest></S:Body></S:Envelope>"
        ).format(id=fake.credentials["id"], pw=fake.credentials["password"])

        def call(_: int) -> int:
            request = urllib.request.Request(fake.endpoints["product_data"], data=body.encode(), method="POST")
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)

        with ThreadPoolExecutor(3) as pool:
            assert list(pool.map(call, range(3))) == [200, 200, 200]
        with urllib.request.urlopen(fake.base_url + "/control/stats", timeout=10) as response:
            stats = json.loads(response.read())
    assert stats == {"calls": 3, "max_calls_in_1s": 3, "max_in_flight": 3}
