"""The fake 4Over supplier's deterministic catalog and its JSON renderings.

Same seed and size -> the same products, ids, options and prices, so tests can assert canonical values.
Sets tests can select on: inactive products (every ``inactive_every``-th, left out of sellable listings),
closeouts (every ``closeout_every``-th), and recently modified products (every ``modified_every``-th,
modified after ``DELTA_SINCE``; the others long before it).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

NAMESPACE = uuid.UUID("6f1d0a2e-4c1b-4f3e-9a57-0f0a4d0e4f00")
OLD = datetime(2023, 1, 1, tzinfo=UTC)
RECENT = datetime(2024, 6, 1, tzinfo=UTC)
# Every product in the modified set changed after this instant; every other one before it.
DELTA_SINCE = datetime(2024, 1, 1, tzinfo=UTC)

COLORS = (
    ("BLK", "Black"),
    ("WHT", "White"),
    ("NVY", "Navy"),
    ("RED", "Red"),
    ("ROY", "Royal"),
    ("FGR", "Forest Green"),
    ("HGR", "Heather Grey"),
)
SIZES = ("XS", "S", "M", "L", "XL", "2XL", "3XL")
UPCHARGE_SIZES = frozenset({"2XL", "3XL"})
UPCHARGE_CENTS = 200
RUNSIZES = (12, 48, 144, 500)
CATEGORIES = ("T-Shirts", "Polos", "Drinkware", "Bags", "Headwear", "Outerwear")
SIZELESS = frozenset({"Drinkware", "Bags"})
BRANDS = ("Northwind", "Contoso", "Fabrikam", "Tailspin")
IMPRINT = ("Screen Print", "Embroidery", "Laser Engrave")


def _id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@dataclass(frozen=True)
class FakeOption:
    uuid: str
    code: str
    name: str


@dataclass(frozen=True)
class FakeBasePrice:
    runsize: int
    unit_cents: int
    option_uuids: tuple[str, ...] = ()

    @property
    def total(self) -> str:
        """4Over quotes the price of the whole run, as a decimal string."""
        return _money(self.unit_cents * self.runsize)


@dataclass
class FakeProduct:
    index: int
    uuid: str
    code: str
    name: str
    description: str
    brand: str
    category: str
    active: bool
    closeout: bool
    modified_on: datetime
    colors: list[FakeOption]
    sizes: list[FakeOption]
    imprint: list[FakeOption]
    base_prices: list[FakeBasePrice] = field(default_factory=list)

    # ---- JSON shapes served by the fake -----------------------------------------------------------

    def listing_row(self) -> dict[str, Any]:
        return {
            "product_uuid": self.uuid,
            "product_code": self.code,
            "product_name": self.name,
            "product_description": self.description,
            "status": "active" if self.active else "inactive",
            "closeout": self.closeout,
            "modified_on": self.modified_on.isoformat().replace("+00:00", "Z"),
            "full_product_path": f"/printproducts/products/{self.uuid}",
        }

    def product_json(self) -> dict[str, Any]:
        return {
            **self.listing_row(),
            "brand": self.brand,
            "categories": [{"category_uuid": _id("category", self.category), "category_name": self.category}],
            "images": [
                {"image_url": f"/images/{self.code}.jpg", "type": "Primary", "is_primary": True},
                {"image_url": f"images/{self.code}-back.jpg", "type": "Rear", "is_primary": False},
            ],
            "optiongroups": f"/printproducts/products/{self.uuid}/optiongroups",
            "baseprices": f"/printproducts/products/{self.uuid}/baseprices",
        }

    def optiongroups_json(self) -> dict[str, Any]:
        groups = [("Color", self.colors), ("Size", self.sizes), ("Imprint Method", self.imprint)]
        return {
            "entities": [
                {
                    "product_option_group_uuid": _id(self.uuid, "group", name),
                    "product_option_group_name": name,
                    "minoccurs": "1",
                    "maxoccurs": "1",
                    "options": [{"option_uuid": o.uuid, "option_code": o.code, "option_name": o.name} for o in options],
                }
                for name, options in groups
                if options
            ]
        }

    def baseprices_json(self) -> dict[str, Any]:
        return {
            "entities": [
                {
                    "base_price_uuid": _id(self.uuid, "price", p.runsize, *p.option_uuids),
                    "product_baseprice": p.total,
                    "runsize": str(p.runsize),
                    "runsize_uuid": _id("runsize", p.runsize),
                    "option_uuids": list(p.option_uuids),
                    "currency": "USD",
                }
                for p in self.base_prices
            ]
        }


@dataclass
class FakeCatalog:
    products: list[FakeProduct]

    def __post_init__(self) -> None:
        self._by_id = {p.uuid: p for p in self.products}

    def get(self, product_id: str) -> FakeProduct | None:
        return self._by_id.get(product_id)

    def __getitem__(self, product_id: str) -> FakeProduct:
        return self._by_id[product_id]

    def __len__(self) -> int:
        return len(self.products)

    def select(
        self, *, active: bool | None = None, closeout: bool | None = None, modified_since: datetime | None = None
    ) -> list[FakeProduct]:
        """The listing filters, combined with AND, in catalog order."""
        return [
            p
            for p in self.products
            if (active is None or p.active == active)
            and (closeout is None or p.closeout == closeout)
            and (modified_since is None or p.modified_on >= modified_since)
        ]

    def ids(self) -> list[str]:
        return [p.uuid for p in self.products]

    def sellable_ids(self) -> list[str]:
        return [p.uuid for p in self.select(active=True)]

    def closeout_ids(self) -> list[str]:
        return [p.uuid for p in self.select(active=True, closeout=True)]

    def modified_ids(self, since: datetime = DELTA_SINCE) -> list[str]:
        return [p.uuid for p in self.select(active=True, modified_since=since)]


def generate_catalog(
    products: int = 100,
    seed: int = 1,
    *,
    inactive_every: int = 13,
    closeout_every: int = 7,
    modified_every: int = 5,
) -> FakeCatalog:
    """A deterministic catalog of ``products`` items for ``seed``."""
    rng = random.Random(seed)
    items = []
    for index in range(1, products + 1):
        product_id = _id("fake-4over", seed, index)
        code = f"FO-{index:05d}"
        category = rng.choice(CATEGORIES)
        colors = [FakeOption(_id(product_id, "color", c), c, n) for c, n in rng.sample(COLORS, rng.randint(1, 4))]
        sizes: list[FakeOption] = []
        if category not in SIZELESS:
            count = rng.randint(3, 6)
            start = rng.randint(0, len(SIZES) - count)
            sizes = [FakeOption(_id(product_id, "size", s), s, s) for s in SIZES[start : start + count]]
        imprint = [FakeOption(_id(product_id, "imprint", m), m[:3].upper(), m) for m in IMPRINT[: rng.randint(1, 3)]]
        base_cents, step = rng.randint(300, 2500), rng.randint(10, 50)
        prices = [FakeBasePrice(r, max(50, base_cents - k * step)) for k, r in enumerate(RUNSIZES)]
        prices += [
            FakeBasePrice(p.runsize, p.unit_cents + UPCHARGE_CENTS, (size.uuid,))
            for size in sizes
            if size.code in UPCHARGE_SIZES
            for p in list(prices[: len(RUNSIZES)])
        ]
        brand = rng.choice(BRANDS)
        noun = category[:-1] if category.endswith("s") else category
        modified = (RECENT if index % modified_every == 0 else OLD) + timedelta(minutes=index)
        items.append(
            FakeProduct(
                index=index,
                uuid=product_id,
                code=code,
                name=f"{brand} {noun} {index}",
                description=f"Fake 4Over product {index} in {category}. Generated for seed {seed}.",
                brand=brand,
                category=category,
                active=index % inactive_every != 0,
                closeout=index % closeout_every == 0,
                modified_on=modified,
                colors=colors,
                sizes=sizes,
                imprint=imprint,
                base_prices=prices,
            )
        )
    return FakeCatalog(items)
