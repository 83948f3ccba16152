"""What each function's cold start imports: heavy modules stay out of the functions that do not use them.

Issue 16's goal is a cold import within 1.3x of the design's libraries imported alone
(docs/benchmarks.md, "Cold imports"). Timing it here would be flaky on a shared machine whose speed
drifts twofold, so this checks the cause instead: each ``functions/<f>/app.py`` is imported in a
fresh interpreter, as Lambda does, and the modules named below must not be in ``sys.modules``
afterwards unless the function is one that uses them. An eager import added later fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").is_file())

# The functions that start, end or count jobs (the whole jobs table), and those that read a stock's
# age (apihub.inventory.freshness reads the inventory jobs' outcomes, with the readers alone).
JOB_WRITERS = {"discover", "hydrate", "sweeper", "scheduler", "start_import", "retry_sync_job", "patch_sync_job"}
STOCK_AGE = {"get_inventory", "get_product", "sync_jobs_health"}
# They serve static or generated answers and read no table.
SITE = {"health", "jobs_page", "openapi"}

# module -> the functions that may import it at cold start (none: it loads on the request that needs it)
ALLOWED: dict[str, set[str]] = {
    # Powertools batch's pydantic event models (a type alias only; apihub.batch keeps them out).
    "aws_lambda_powertools.utilities.parser": set(),
    # Powertools' OpenAPI spec models: the openapi function builds its schema on its first request.
    "aws_lambda_powertools.event_handler.openapi.models": set(),
    # Made lazily with the first SQS, KMS, S3 or Secrets Manager client (apihub.dal.clients).
    "boto3": set(),
    # The X-Ray SDK and pydantic-settings are not used at all (docs/decisions.md, apihub.settings).
    "aws_xray_sdk": set(),
    "pydantic_settings": set(),
    # Supplier adapters and their SOAP/XML parsing load when a supplier is called (adapters.registry).
    "apihub.adapters.promostandards": set(),
    "apihub.adapters.fourover": set(),
    "defusedxml": set(),
    "apihub.web": set(),  # the jobs page's HTML, read on its request
    "apihub.adapters.base": {"discover", "hydrate"},
    "aws_lambda_powertools.utilities.batch": {"discover", "hydrate"},
    # The tokens table and cookie parsing: the authorizer's alone (the API gate reads the catalog).
    "apihub.dal.tokens": {"authorizer"},
    "http.cookies": {"authorizer"},
    # The jobs table's writers; readers of jobs use apihub.dal.jobs.listing and .outcome_reads.
    "apihub.dal.jobs.repository": JOB_WRITERS,
    "apihub.dal.jobs.outcomes": JOB_WRITERS,
    "apihub.dal.jobs.lifecycle": JOB_WRITERS,
    "apihub.dal.jobs.outcome_reads": JOB_WRITERS | STOCK_AGE,
    "apihub.jobs.service": {"start_import", "retry_sync_job", "patch_sync_job", "scheduler"},
    "apihub.dal.inventory": STOCK_AGE | {"list_inventory_changes"},
    "apihub.inventory.reading": {"get_inventory"},
    "pynamodb.models": set(FUNCTIONS) - SITE,
}

_PROBE = """
import gc, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
collections = []
gc.callbacks.append(lambda phase, info: phase == "stop" and collections.append(info["generation"]))
import app
gc.callbacks.clear()
print(json.dumps({"modules": sorted(sys.modules), "collections": collections,
                  "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def _fresh_environment() -> dict[str, str]:
    """The test run's environment without our settings, as a function's container starts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APIHUB_", "POWERTOOLS_", "PYTHON"))}
    env.update({"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "apihub"})
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _cold_import(function: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(ROOT / "functions" / function), str(ROOT / "layers" / "apihub")],
        capture_output=True,
        text=True,
        env=_fresh_environment(),
        cwd=ROOT / "functions" / function,
        check=False,
    )
    assert out.returncode == 0, f"functions/{function}/app.py failed to import:\n{out.stderr}"
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@cache
def cold_imports() -> dict[str, dict[str, Any]]:
    """Every function's cold import: ``modules`` (``sys.modules`` afterwards), ``collections`` (the
    generation of each garbage collection during it), the collector's state after (two at a time)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(FUNCTIONS, pool.map(_cold_import, FUNCTIONS), strict=True))


def modules_by_function() -> dict[str, set[str]]:
    return {fn: set(result["modules"]) for fn, result in cold_imports().items()}


def test_the_table_names_real_functions() -> None:
    # Given the allow-lists, when a function is renamed or removed, then the table is fixed with it.
    named = set().union(*ALLOWED.values())
    assert named <= set(FUNCTIONS), f"not functions: {sorted(named - set(FUNCTIONS))}"


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_heavy_module_stays_out_of_functions_that_do_not_use_it(module: str) -> None:
    # Given a fresh interpreter per function, when its app module is imported,
    # then the module is loaded only by the functions allowed to load it.
    loaded = {fn for fn, modules in modules_by_function().items() if module in modules}
    unexpected = sorted(loaded - ALLOWED[module])
    assert not unexpected, f"{module} is imported at cold start by {unexpected} (docs/benchmarks.md, 'Cold imports')"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_cold_import_pauses_garbage_collection_and_leaves_the_collector_on(function: str) -> None:
    # Given a fresh interpreter, when the function's app module is imported (its init phase),
    # then the collector ran at most the young collection or two before the pause starts
    # (apihub.startup.cold_start: without it an API function runs about 120, and one over every
    # object), is back on, and holds the init's objects frozen.
    result = cold_imports()[function]
    ran = result["collections"]
    assert len(ran) <= 2 and 2 not in ran, f"{function}: collections of generations {ran} during its import"
    assert result["enabled"], f"{function}: the garbage collector is left off after the import"
    assert result["frozen"] > 10_000, f"{function}: only {result['frozen']} objects frozen after the import"


def test_batch_processing_loads_without_powertools_parser_models() -> None:
    # Given pydantic already loaded, when apihub.batch is imported,
    # then Powertools' batch works without its parser models and pydantic is the same module as before.
    probe = """
import sys
sys.path[:0] = [sys.argv[1]]
import pydantic, pydantic.main
before = sys.modules["pydantic"]
from apihub.batch import BatchProcessor, EventType, process_partial_response
assert sys.modules["pydantic"] is before
assert not [m for m in sys.modules if m.startswith("aws_lambda_powertools.utilities.parser")]
event = {"Records": [{"messageId": "1", "body": "ok", "attributes": {}, "eventSource": "aws:sqs"},
                     {"messageId": "2", "body": "bad", "attributes": {}, "eventSource": "aws:sqs"}]}
def handle(record):
    if record.body == "bad":
        raise ValueError("bad")
class Context:
    aws_request_id = "test"
print(process_partial_response(event, handle, BatchProcessor(EventType.SQS), Context()))
"""
    out = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT / "layers" / "apihub")],
        capture_output=True,
        text=True,
        env=_fresh_environment(),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{'batchItemFailures': [{'itemIdentifier': '2'}]}"
