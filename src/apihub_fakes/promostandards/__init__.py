"""A fake PromoStandards supplier on loopback (development and test code; not in the Lambda layer).

    with running_fake_promostandards(products=100, seed=1, fault_skus={"PSF00003": "130"}) as fake:
        supplier.protocol_config = {"endpoints": fake.endpoints}
        credentials = fake.credentials
        fake.catalog.sellable_ids  # what full_sellable discovery must find

Run it as a process for the local stack: ``python -m apihub_fakes.promostandards --port 8081``.
"""

from apihub_fakes.promostandards.catalog import Catalog, FakePart, FakeProduct, generate_catalog
from apihub_fakes.promostandards.server import (
    WSDL_DIR,
    Call,
    FakePromoStandards,
    Reply,
    running_fake_promostandards,
)
from apihub_fakes.promostandards.ss6030 import DESCRIPTION_TEXT as SS6030_DESCRIPTION_TEXT
from apihub_fakes.promostandards.ss6030 import ss6030_get_product_response, ss6030_parts

__all__ = [
    "SS6030_DESCRIPTION_TEXT",
    "WSDL_DIR",
    "Call",
    "Catalog",
    "FakePart",
    "FakeProduct",
    "FakePromoStandards",
    "Reply",
    "generate_catalog",
    "running_fake_promostandards",
    "ss6030_get_product_response",
    "ss6030_parts",
]
