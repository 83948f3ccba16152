"""The mode table's claims, end to end through the API on moto: what ``POST .../import`` takes for
each mode, which supplier field each mode's successful job moves, and the adapter restriction a row
can carry (apihub.modes.table)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from apihub.models import DiscoveryMode
from apihub.modes import table as modes
from apihub.modes.table import MODES, Param, sync_fields

SYNC_FIELDS = sync_fields()
VALUES = {"limit": 2, "explicit_list": ["DEMO-00001", "DEMO-00003"]}


def _supplier(hub, slug: str, mode: DiscoveryMode | None = None) -> dict:
    """A demo supplier whose adapter can run ``mode`` (a row that requires a capability gets the
    test adapter stating it), with its catalog stored when the mode lists the stored products."""
    if mode is None or MODES[mode].requires is None:
        return hub.add_supplier(slug, protocol_config={"products": 5})
    from tests.integration.inventory_support import register_stock_adapter
    from tests.integration.prices_support import register_price_adapter

    register_stock_adapter()
    register_price_adapter()
    adapter = {"serves_inventory": "StockAdapter", "serves_pricing": "PriceAdapter"}[str(MODES[mode].requires)]
    supplier = hub.add_supplier(slug, adapter=adapter, protocol_config={"products": 5})
    assert hub.run_import(slug, mode="full_sellable")["status"] == "success"
    return supplier


@pytest.mark.parametrize("mode", list(DiscoveryMode))
def test_each_mode_takes_its_parameters_refuses_the_others_and_sets_its_supplier_field(hub, mode) -> None:
    spec = MODES[mode]
    _supplier(hub, "demo", mode)
    given = {name: VALUES[name] for name, use in spec.params().items() if use is not Param.refused}
    # Given a request with a parameter the mode does not take, or without one it requires: a 422 naming it
    for name, use in spec.params().items():
        body = {"mode": mode.value, **given}
        if use is Param.refused:
            body[name] = VALUES[name]
        elif use is Param.required:
            del body[name]
        else:
            continue
        res = hub.start_import("demo", **body)
        # (a missing one is a rule over the whole body: "body: explicit_list is required when ...")
        assert res.status == 422 and name in res.json["detail"].partition(":")[2 if use is Param.required else 0]

    # When the mode's import runs with what it takes
    job = hub.run_import("demo", mode=mode.value, **given)

    # Then it ran as that mode, with its parameters kept for a retry, and succeeded
    assert (job["job_type"], job["discovery_mode"], job["status"]) == (spec.job_type, mode.value, "success")
    assert {k: v for k, v in job["params"].items() if v is not None and k != "since"} == given
    if "limit" in given:
        assert job["total_products"] == VALUES["limit"]
    if "explicit_list" in given:
        assert job["total_products"] == len(VALUES["explicit_list"])
    # And exactly the supplier field the row names now holds the job's start
    supplier = hub.api("GET", "/api/suppliers/demo").json
    expected = {name: job["started_at"] if name == spec.sets_supplier_field else None for name in SYNC_FIELDS}
    if spec.listing is modes.Listing.stored:  # the catalog import that stored its products set its own
        expected["last_full_sync"] = supplier["last_full_sync"]
    assert {name: supplier[name] for name in SYNC_FIELDS} == expected


def test_a_mode_restricted_to_some_adapters_is_refused_for_the_others(hub, monkeypatch) -> None:
    # Given a row that only FourOverAdapter supports (as inventory will be for some protocols)
    closeouts = MODES[DiscoveryMode.closeouts]
    monkeypatch.setitem(
        modes.MODES, DiscoveryMode.closeouts, replace(closeouts, supported_by=frozenset({"FourOverAdapter"}))
    )
    _supplier(hub, "demo")

    # When a DemoAdapter supplier is asked for it: a 422 naming the mode, and no job
    res = hub.start_import("demo", mode="closeouts")
    assert res.status == 422 and res.json["detail"].startswith("mode: closeouts is not supported"), res.json
    assert hub.api("GET", "/api/sync-jobs").json == []
    # And the other modes still start
    assert hub.start_import("demo", mode="full_sellable").status == 202


def test_supplier_schedules_naming_an_unscheduled_mode_are_a_422(hub) -> None:
    _supplier(hub, "demo")
    res = hub.api("PATCH", "/api/suppliers/demo", json_body={"schedules": {"first_n": True}})
    assert res.status == 422 and res.json["detail"].startswith("schedules: first_n: not a scheduled mode"), res.json
    assert hub.api("PATCH", "/api/suppliers/demo", json_body={"schedules": {"delta": True}}).status == 200
