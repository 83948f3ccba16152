"""The mode table (apihub.modes.table) is the one list of modes: every mode has a row, and each claim
of a row is what the code reading it does. A mode added without its row, or a row whose claims the
API, the adapters, the CLI or the jobs page do not honour, fails here (the template's schedules are
checked in tests/infrastructure, finalisation and the HTTP answers in tests/integration/test_modes.py)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import pytest
from apihub.adapters.base import AdapterContext, DiscoveryRequest
from apihub.adapters.registry import ADAPTERS, adapter_class
from apihub.api.app import build_openapi
from apihub.dal.tables import SupplierItem
from apihub.errors import ProductError
from apihub.models import JOB_TYPES, DiscoveryMode, ImportRequest
from apihub.modes.table import MODES, Listing, Param, mode_spec, periodic_modes, scheduled_modes
from apihub.pipeline.discover import delta_since
from apihub.supplier_models import Supplier, SupplierIn, SupplierPatch
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parents[3]
VALUES = {"limit": 5, "explicit_list": ["SKU-1", "SKU-2"]}


def test_every_mode_has_one_row_and_its_own_job_type_and_lock() -> None:
    assert set(MODES) == set(DiscoveryMode)
    assert all(spec.mode is mode for mode, spec in MODES.items())
    assert JOB_TYPES == tuple(MODES[m].job_type for m in DiscoveryMode) == tuple(m.job_type for m in DiscoveryMode)
    assert len(set(JOB_TYPES)) == len(MODES)
    assert len({spec.lock_key for spec in MODES.values()}) == len(MODES)  # one import per supplier and mode
    assert mode_spec("delta") is MODES[DiscoveryMode.delta]


def _body(mode: DiscoveryMode, **extra: object) -> dict[str, object]:
    spec = MODES[mode]
    body: dict[str, object] = {"mode": mode.value}
    body.update({name: VALUES[name] for name, use in spec.params().items() if use is Param.required})
    return {**body, **extra}


@pytest.mark.parametrize("mode", list(DiscoveryMode))
@pytest.mark.parametrize("param", ["limit", "explicit_list"])
def test_the_request_model_takes_refuses_or_requires_each_parameter_as_the_row_says(
    mode: DiscoveryMode, param: str
) -> None:
    use = MODES[mode].params()[param]
    given = _body(mode, **{param: VALUES[param]})
    if use is Param.refused:
        with pytest.raises(ValidationError) as caught:
            ImportRequest.model_validate(given)
        (error,) = caught.value.errors()
        assert error["loc"] == (param,) and f"mode {mode.value}" in error["msg"]
    else:
        assert getattr(ImportRequest.model_validate(given), param) == VALUES[param]
    without = {k: v for k, v in given.items() if k != param}
    if use is Param.required:
        with pytest.raises(ValidationError, match=f"{param} is required when mode is {mode.value}"):
            ImportRequest.model_validate(without)
    else:
        ImportRequest.model_validate(without)


def test_supplier_fields_the_rows_name_exist_on_the_stored_and_the_public_supplier() -> None:
    for spec in MODES.values():
        for name in filter(None, (spec.sets_supplier_field, *spec.since_from)):
            assert hasattr(SupplierItem, name) and name in Supplier.model_fields, (spec.mode, name)
        if spec.since_from:  # discovery computes since from exactly these fields
            assert delta_since(*(None for _ in spec.since_from)) is None  # never synced: the sellable fallback


def test_rows_name_only_registered_adapters() -> None:
    for spec in MODES.values():
        assert spec.supported_by is None or spec.supported_by <= set(ADAPTERS), spec.mode
    assert all(spec.supports("DemoAdapter") for spec in MODES.values() if spec.requires is None)


def test_a_row_requiring_a_capability_is_supported_exactly_by_the_adapters_stating_it() -> None:
    from apihub.adapters.base import SupplierAdapter

    required = [spec for spec in MODES.values() if spec.requires is not None]
    assert required, "the inventory row asks for serves_inventory"
    for spec in required:
        assert hasattr(SupplierAdapter, str(spec.requires)), spec.requires  # a real class attribute
        for name in ADAPTERS:
            assert spec.supports(name) is bool(getattr(adapter_class(name), str(spec.requires))), (spec.mode, name)
        assert not spec.supports(None) and not spec.supports("NoSuchAdapter")


def test_supplier_schedules_may_name_only_scheduled_modes() -> None:
    # (inventory and prices name their own period rather than true: test_inventory_schedule_takes_a_period_or_off)
    every = {m.value: {"every": "1h"} if m in periodic_modes() else True for m in scheduled_modes()}
    assert SupplierIn.model_validate({"name": "n", "slug": "s", "schedules": every}).schedules == every
    for unscheduled in set(DiscoveryMode) - set(scheduled_modes()):
        for model, body in ((SupplierIn, {"name": "n", "slug": "s"}), (SupplierPatch, {})):
            with pytest.raises(ValidationError) as caught:
                model.model_validate({**body, "schedules": {unscheduled.value: True}})
            (error,) = caught.value.errors()
            assert error["loc"] == ("schedules",) and unscheduled.value in error["msg"]
    with pytest.raises(ValidationError, match="full_sellabel: not a scheduled mode"):
        SupplierPatch.model_validate({"schedules": {"full_sellabel": True}})  # a typo would never run


@pytest.mark.parametrize("value", [True, 1, "1h", {"every": "2h"}, {"every": "1h", "at": "x"}, {}])
def test_inventory_schedule_takes_a_period_or_off(value: object) -> None:
    with pytest.raises(ValidationError, match="inventory: must be"):
        SupplierPatch.model_validate({"schedules": {"inventory": value}})
    for off in (False, None):
        assert SupplierPatch.model_validate({"schedules": {"inventory": off}}).schedules == {"inventory": off}
    with pytest.raises(ValidationError, match="delta: must be true or false"):
        SupplierPatch.model_validate({"schedules": {"delta": {"every": "1h"}}})


def test_the_openapi_text_of_mode_and_schedules_comes_from_the_rows() -> None:
    schemas = json.loads(build_openapi())["components"]["schemas"]
    mode_text = schemas["ImportRequest"]["properties"]["mode"]["description"]
    for spec in MODES.values():
        (line,) = [ln for ln in mode_text.splitlines() if ln.startswith(f"- `{spec.mode.value}`:")]
        assert spec.summary in line
        for name, use in spec.params().items():
            assert (f"`{name}`" in line.partition(";")[2]) is (use is not Param.refused), (spec.mode, name)
        assert (spec.schedule is not None) is ("can be scheduled" in line)
    schedules_text = schemas["SupplierIn"]["properties"]["schedules"]["description"]
    assert set(re.findall(r"`(\w+)`", schedules_text)) == {m.value for m in scheduled_modes()}


# ------------------------------------------------------------------ the adapters' support


class _FutureListing(str, Enum):
    inventory = "inventory"


@dataclass(frozen=True)
class _UnknownListing(DiscoveryRequest):
    """A request for a listing no adapter has a call for (as a new mode's row would make)."""

    @property
    def listing(self) -> Listing:
        return _FutureListing.inventory  # type: ignore[return-value]


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_an_adapter_refuses_a_listing_it_has_no_call_for_before_calling_the_supplier(name: str) -> None:
    # Rather than quietly listing every sellable product for a mode it does not know.
    supplier = Supplier(
        id="s",
        name="S",
        slug="s",
        protocol="promostandards",
        base_url="https://supplier.invalid/",
        adapter_class=name,
        protocol_config={"endpoints": {"product_data": "https://supplier.invalid/pd"}},
        created_at="2026-01-01T00:00:00Z",
    )
    credentials = {"id": "acct", "password": "pw", "api_key": "k", "private_key": "p"}
    adapter = adapter_class(name)(supplier, AdapterContext(credentials=credentials))
    with pytest.raises(ProductError, match=f"{name} cannot list 'inventory'"):
        list(adapter.discover(_UnknownListing(mode=DiscoveryMode.full_sellable)))


# A stored listing never reaches an adapter: discovery reads the products table (pipeline.discover).
@pytest.mark.parametrize("mode", [m for m in DiscoveryMode if MODES[m].listing is not Listing.stored])
def test_the_demo_adapter_lists_every_mode(mode: DiscoveryMode) -> None:
    supplier = Supplier(
        id="s",
        name="S",
        slug="s",
        protocol="promostandards",
        adapter_class="DemoAdapter",
        protocol_config={"products": 10},
        created_at="2026-01-01T00:00:00Z",
    )
    from apihub_fakes.demo_adapter import DemoAdapter  # dev-only: the layer's registry lists real protocols

    adapter = DemoAdapter(supplier, AdapterContext())
    request = DiscoveryRequest(
        mode=mode, **{k: v for k, v in VALUES.items() if MODES[mode].params()[k] is not Param.refused}
    )
    refs = [r.product_id for page in adapter.discover(request) for r in page.refs]
    assert refs and (MODES[mode].limit is Param.refused or len(refs) <= VALUES["limit"])


# ------------------------------------------------------------------ the clients outside the layer


def test_the_cli_offers_every_mode_and_the_jobs_page_every_mode_it_can_start() -> None:
    from apihub_cli.main import MODES as CLI_MODES

    assert set(CLI_MODES) == {m.value for m in DiscoveryMode}
    page = (ROOT / "layers/apihub/apihub/web/jobs.html").read_text()
    select = page[page.index('<select id="import-mode">') : page.index("</select>", page.index('id="import-mode"'))]
    offered = set(re.findall(r'<option value="(\w+)">', select))
    # The page's form has a limit input but no SKU list.
    startable = {m.value for m, spec in MODES.items() if spec.explicit_list is not Param.required}
    assert offered == startable
