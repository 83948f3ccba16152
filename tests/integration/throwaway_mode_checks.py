"""Run by ``test_a_new_mode.py`` with the ``throwaway_mode`` plugin: a mode that is only a row in the
table is taken by the API, runs as a job, moves its supplier field, is scheduled and is offered by
the CLI, with nothing else written for it."""

from __future__ import annotations

from apihub.models import DiscoveryMode

from tests.integration.throwaway_mode import FIELD, NAME


def test_a_mode_that_is_only_a_row_runs_end_to_end(hub) -> None:
    from apihub.jobs.schedules import run_scheduled_imports

    hub.add_supplier("demo", protocol_config={"products": 4})
    assert hub.run_import("demo", mode="full_sellable")["status"] == "success"  # what Listing.stored reads

    # The API takes it (and refuses what the row refuses), and documents it
    assert hub.start_import("demo", mode=NAME, limit=2).status == 422
    openapi = hub.api("GET", "/api/openapi.json").json
    assert f"`{NAME}`" in openapi["components"]["schemas"]["ImportRequest"]["properties"]["mode"]["description"]

    # The job runs as that mode, and moves exactly its supplier field
    job = hub.run_import("demo", mode=NAME, explicit_list=["DEMO-00001", "DEMO-00002"])
    assert (job["job_type"], job["status"], job["total_products"]) == (f"import:{NAME}", "success", 2)
    supplier = hub.api("GET", "/api/suppliers/demo").json
    assert supplier[FIELD] == job["started_at"] != supplier["last_full_sync"]

    # A supplier may schedule it, and its tick starts the supplier's import
    assert hub.api("PATCH", "/api/suppliers/demo", json_body={"schedules": {NAME: True}}).status == 200
    run = run_scheduled_imports(DiscoveryMode(NAME))
    assert list(run.started) == ["demo"] and not run.failed
    hub.drain()
    assert hub.job(run.started["demo"])["status"] == "success"

    # The CLI offers it, with --sku since the row takes explicit_list
    from apihub_cli.main import MODES as CLI_MODES
    from apihub_cli.main import SKU_MODES

    assert NAME in CLI_MODES and NAME in SKU_MODES
