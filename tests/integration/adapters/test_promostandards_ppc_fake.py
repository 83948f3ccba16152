"""The PPC client against the fake supplier over HTTP: every reply valid against the PPC schemas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import urllib3
import xmlschema
from apihub.adapters.promostandards import ppc
from apihub.adapters.promostandards.soap import soap_headers
from apihub.errors import AuthError, ProductError
from defusedxml.ElementTree import fromstring

from apihub_fakes.promostandards import WSDL_DIR, running_fake_promostandards

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_the_fake_serves_every_ppc_operation_with_schema_valid_replies() -> None:
    http = urllib3.PoolManager()
    replies: list[tuple[str, bytes]] = []
    with running_fake_promostandards(products=4, seed=3, record=True) as fake:
        url = fake.endpoints["pricing"]
        credentials = (fake.credentials["id"], fake.credentials["password"])

        def post(action: str, body: bytes) -> bytes:
            data = http.request("POST", url, body=body, headers=soap_headers(action)).data
            replies.append((action, data))
            return data

        both = next(p for p in fake.catalog.products if len(p.fob_ids) == 2)
        setting = ppc.PricingSetting(fob_ids=("1", "2"), currencies=("USD", "CAD"))
        read = ppc.read_product_pricing(post, credentials, both.product_id, setting, as_of=NOW)
        locations = ppc.parse_available_locations(
            post("getAvailableLocations", ppc.available_locations_request(credentials, both.product_id))
        )
        charges = ppc.parse_available_charges(
            post("getAvailableCharges", ppc.available_charges_request(credentials, both.product_id))
        )
        colours = ppc.parse_decoration_colors(
            post("getDecorationColors", ppc.decoration_colors_request(credentials, both.product_id, "2"))
        )
        with pytest.raises(ProductError, match="130"):
            ppc.read_product_pricing(post, credentials, "NOPE", setting, as_of=NOW)
        with pytest.raises(AuthError, match="105"):
            ppc.read_product_pricing(post, (credentials[0], "wrong"), both.product_id, setting, as_of=NOW)

    assert [(p.fob_id, p.currency) for p in read] == [("1", "USD"), ("2", "USD"), ("2", "CAD")]
    reno, dallas = (p.parts[0].prices[0].price for p in read[:2])
    assert reno != dallas
    assert [loc.name for loc in read[0].locations] == ["Front", "Left Chest"]
    assert [loc.location_id for loc in locations] == ["1", "2"] and len(charges) == 5
    assert colours.methods == [("2", "Embroidery")]

    schemas: dict[str, xmlschema.XMLSchema] = {}
    for action, data in replies:
        name = f"{action[0].upper()}{action[1:]}Response"
        schema = schemas.setdefault(
            name, xmlschema.XMLSchema(str(WSDL_DIR / f"PricingAndConfiguration-1.0.0/{name}.xsd"))
        )
        body = next(c for c in fromstring(data) if c.tag.endswith("}Body"))
        schema.validate(next(iter(body)))
