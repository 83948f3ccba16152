"""Company-directory endpoint lookup and its 24-hour cache on the supplier (no DynamoDB in the adapter)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apihub.adapters.base import AdapterContext
from apihub.adapters.http import HttpResponse
from apihub.adapters.promostandards import PromoStandardsAdapter, SanMarAdapter
from apihub.adapters.promostandards.directory import (
    DEFAULT_DIRECTORY_URL,
    endpoints_from_directory,
    resolve_endpoints,
)
from apihub.errors import ProductError, TransientError
from apihub.supplier_models import Supplier

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SS_ENDPOINTS_TXT = (
    Path(__file__).resolve().parents[3].parent
    / "shared/promostandards/samples/directory/jacksonbward-item_master.ssendpoints.txt"
)


def entry(code: str, version: str, url: str) -> dict:
    return {"Service": {"ServiceType": {"Code": code}, "Status": "Production", "Version": version}, "URL": url}


DIRECTORY_ANSWER = [
    entry("Product", "1.0.0", "https://old.example/pd1"),
    entry("Product", "2.0.0", "https://supplier.example/pd2"),
    entry("PPC", "1.0.0", "https://supplier.example/ppc"),
    entry("MED", "1.1.0", "https://supplier.example/media"),
    entry("INV", "2.0.0", "https://supplier.example/inv"),
    entry("ODRSTAT", "1.0.0", "https://supplier.example/orders"),
]
EXPECTED = {
    "product_data": "https://supplier.example/pd2",
    "pricing": "https://supplier.example/ppc",
    "media": "https://supplier.example/media",
    "inventory": "https://supplier.example/inv",
}


class StubClient:
    """Stands in for HttpClient: records calls, answers from a queue."""

    def __init__(self, *answers: HttpResponse | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str]] = []

    def request(self, method: str, url: str, **kwargs: object) -> HttpResponse:
        self.calls.append((method, url))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self) -> None:
        pass


def ok(payload: object) -> HttpResponse:
    return HttpResponse(status=200, body=json.dumps(payload).encode())


def test_directory_answer_is_mapped_to_the_versions_we_speak():
    assert endpoints_from_directory(DIRECTORY_ANSWER) == EXPECTED


def test_directory_answer_shape_from_the_real_ss_endpoint_sample_is_understood():
    # The sample is a zeep print of the SOAP flavour; its fields are those of the JSON answer.
    text = SS_ENDPOINTS_TXT.read_text()
    assert "'URL': 'https://promostandards.ssactivewear.com/pricingandconfiguration/v1/" in text
    url = "https://promostandards.ssactivewear.com/pricingandconfiguration/v1/pricingandconfigurationservice.svc"
    assert f"'URL': '{url}'" in text
    as_json = [entry("PPC", "1.0.0", url)]
    assert endpoints_from_directory(as_json) == {"pricing": url}


def test_fresh_cache_is_used_without_calling_the_directory():
    client = StubClient()
    cache = {"code": "ACME", "fetched_at": "2024-06-01T00:00:00.000Z", "endpoints": EXPECTED}
    updates: list[dict] = []

    found = resolve_endpoints(
        client, code="ACME", directory_url=DEFAULT_DIRECTORY_URL, cache=cache, on_update=updates.append, now=NOW
    )

    assert found == EXPECTED
    assert client.calls == []
    assert updates == []


@pytest.mark.parametrize(
    "cache",
    [
        None,
        {"code": "ACME", "fetched_at": "2024-05-31T11:59:00.000Z", "endpoints": {"product_data": "https://stale"}},
        {"code": "OTHER", "fetched_at": "2024-06-01T11:00:00.000Z", "endpoints": {"product_data": "https://other"}},
        {"code": "ACME", "fetched_at": "garbage", "endpoints": {}},
    ],
    ids=["no-cache", "older-than-24h", "other-company", "unreadable"],
)
def test_missing_stale_or_foreign_cache_is_refreshed_and_handed_back(cache):
    client = StubClient(ok(DIRECTORY_ANSWER))
    updates: list[dict] = []

    found = resolve_endpoints(
        client, code="ACME", directory_url="https://dir.example/json/", cache=cache, on_update=updates.append, now=NOW
    )

    assert found == EXPECTED
    assert client.calls == [("GET", "https://dir.example/json/companies/ACME/endpoints")]
    assert updates == [
        {"directory_cache": {"code": "ACME", "fetched_at": "2024-06-01T12:00:00.000Z", "endpoints": EXPECTED}}
    ]


def test_directory_down_with_a_stale_cache_uses_the_stale_endpoints():
    client = StubClient(TransientError("supplier unreachable"))
    stale = {"code": "ACME", "fetched_at": "2024-05-01T00:00:00.000Z", "endpoints": EXPECTED}

    found = resolve_endpoints(client, code="ACME", directory_url="https://d", cache=stale, on_update=None, now=NOW)

    assert found == EXPECTED


def test_directory_down_without_a_cache_is_transient():
    client = StubClient(HttpResponse(status=404, body=b"no"))
    with pytest.raises(TransientError, match="HTTP 404"):
        resolve_endpoints(client, code="ACME", directory_url="https://d", cache=None, on_update=None, now=NOW)


def test_company_without_product_data_2_endpoint_is_a_clear_error():
    client = StubClient(ok([entry("Product", "1.0.0", "https://old")]))
    with pytest.raises(ProductError, match=r"no Product Data 2\.0\.0 endpoint for company 'ACME'"):
        resolve_endpoints(client, code="ACME", directory_url="https://d", cache=None, on_update=None, now=NOW)


def test_company_code_is_url_encoded():
    client = StubClient(ok(DIRECTORY_ANSWER))
    resolve_endpoints(client, code="a/b c", directory_url="https://d", cache=None, on_update=None, now=NOW)
    assert client.calls == [("GET", "https://d/companies/a%2Fb%20c/endpoints")]


# --- the adapter's use of it -----------------------------------------------------------------------


def supplier(**protocol_config: object) -> Supplier:
    return Supplier(
        id="s-1",
        name="Acme",
        slug="acme",
        protocol="promostandards",
        promostandards_code="ACME",
        adapter_class="PromoStandardsAdapter",
        protocol_config=dict(protocol_config),
        created_at="2024-01-01T00:00:00.000Z",
    )


def test_adapter_refresh_updates_its_own_copy_and_calls_on_config_update():
    updates: list[dict] = []
    adapter = PromoStandardsAdapter(
        supplier(directory_url="https://d"), AdapterContext(credentials={"id": "u"}, on_config_update=updates.append)
    )
    adapter._client = StubClient(ok(DIRECTORY_ANSWER))  # type: ignore[assignment]

    assert adapter.endpoints() == EXPECTED
    assert len(updates) == 1 and updates[0]["directory_cache"]["endpoints"] == EXPECTED
    assert adapter.supplier.protocol_config["directory_cache"] == updates[0]["directory_cache"]


def test_adapter_works_without_an_on_config_update_callable():
    adapter = PromoStandardsAdapter(supplier(), AdapterContext(credentials={"id": "u"}))
    adapter._client = StubClient(ok(DIRECTORY_ANSWER))  # type: ignore[assignment]
    assert adapter.endpoints()["product_data"] == "https://supplier.example/pd2"


def test_configured_endpoints_skip_the_directory_and_empty_values_switch_services_off():
    adapter = PromoStandardsAdapter(
        supplier(endpoints={"product_data": "https://mine/pd", "pricing": "", "media": None}),
        AdapterContext(credentials={"id": "u"}),
    )
    adapter._client = StubClient()  # type: ignore[assignment]  # any call would fail: none expected
    assert adapter.endpoints() == {"product_data": "https://mine/pd"}


def test_no_endpoints_and_no_company_code_is_a_clear_error():
    plain = supplier().model_copy(update={"promostandards_code": None})
    adapter = PromoStandardsAdapter(plain, AdapterContext(credentials={"id": "u"}))
    with pytest.raises(ProductError, match="promostandards_code"):
        adapter.endpoints()


def test_sanmar_defaults_to_sanmars_published_endpoints_and_accepts_overrides():
    adapter = SanMarAdapter(supplier(endpoints={"media": ""}), AdapterContext(credentials={"id": "u"}))
    adapter._client = StubClient()  # type: ignore[assignment]
    endpoints = adapter.endpoints()
    assert endpoints["product_data"] == "https://ws.sanmar.com:8080/promostandards/ProductDataServiceBindingV2"
    assert endpoints["pricing"].startswith("https://ws.sanmar.com:8080/promostandards/")
    assert "media" not in endpoints
