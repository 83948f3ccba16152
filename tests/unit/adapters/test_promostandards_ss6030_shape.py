"""The generated S&S-6030-shaped reply (used by bench/parse_bench.py) normalises like the real one."""

from __future__ import annotations

from apihub.adapters.promostandards.product import read_get_product

from apihub_fakes.promostandards import SS6030_DESCRIPTION_TEXT, ss6030_get_product_response, ss6030_parts

ENDPOINT = "https://promostandards.ssactivewear.com/productdata/v2/productdataservicev2.svc"


def test_generated_6030_reply_has_423_parts_over_76_colours_and_normalises():
    reply = read_get_product(ss6030_get_product_response(), image_base_url=ENDPOINT)
    product = reply.product

    assert len(product.parts) == 423
    assert len({part.color for part in product.parts}) == 76
    assert [(p.part_id, p.color, p.size) for p in product.parts] == [(p[0], p[1], p[4]) for p in ss6030_parts()]
    assert all(part.gtin and len(part.gtin) == 14 for part in product.parts)
    assert sum(part.is_closeout for part in product.parts) == 8
    assert product.description == SS6030_DESCRIPTION_TEXT
    assert "Mens & Unisex" in product.categories
    assert product.images[0].url == "https://promostandards.ssactivewear.com/productdata/v2/Images/Style/1963.jpg"
    assert reply.fob_ids == []  # S&S quirk kept: no FobPointArray


def test_valid_variant_differs_only_by_the_s_and_s_quirks():
    quirky = read_get_product(ss6030_get_product_response(quirks=True)).product
    valid = read_get_product(ss6030_get_product_response(quirks=False))
    assert valid.product == quirky
    assert valid.fob_ids == ["IL"]
