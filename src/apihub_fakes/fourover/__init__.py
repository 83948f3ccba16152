"""A fake 4Over-style REST + HMAC supplier for tests and the local stack (never deployed).

with running_fake_fourover(products=100, seed=1, faults={uuid: "404"}, latency_ms=0) as fake:
    fake.base_url, fake.credentials, fake.catalog, fake.request_log
"""

from apihub_fakes.fourover.catalog import DELTA_SINCE, FakeCatalog, FakeProduct, generate_catalog
from apihub_fakes.fourover.server import (
    DEFAULT_CREDENTIALS,
    FakeFourOver,
    Fault,
    LoggedRequest,
    running_fake_fourover,
)

__all__ = [
    "DEFAULT_CREDENTIALS",
    "DELTA_SINCE",
    "FakeCatalog",
    "FakeFourOver",
    "FakeProduct",
    "Fault",
    "LoggedRequest",
    "generate_catalog",
    "running_fake_fourover",
]
