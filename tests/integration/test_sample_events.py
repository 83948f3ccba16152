"""Every events/ file works as a `sam local invoke -e` event: each handler runs on it in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apihub.observability import logger

ROOT = Path(__file__).resolve().parents[2]
EVENT_FILES = sorted((ROOT / "events").glob("*.json"))


def _function_for(hub, path: Path):
    folder = path.stem.split(".")[0]
    return hub.functions.by_folder(folder)


@pytest.mark.parametrize("path", EVENT_FILES, ids=[p.stem for p in EVENT_FILES])
def test_sample_event_runs_its_handler(hub, path: Path) -> None:
    # Given the demo supplier the samples refer to
    hub.add_supplier("demo", protocol_config={"products": 25})
    event = json.loads(path.read_text())
    fn = _function_for(hub, path)
    logger.set_correlation_id(None)
    # When the handler runs on the sample
    result = hub.functions.invoke(fn.logical_id, event)
    # Then its log lines carry API Gateway's request id, if it has one
    assert logger.get_correlation_id() == event.get("requestContext", {}).get("requestId")
    # And it answers in the shape its trigger expects, never a server error
    if fn.routes:
        assert 200 <= result["statusCode"] < 500, result
    elif fn.sqs or fn.streams:
        assert result == {"batchItemFailures": []}
    elif fn.logical_id == "SchedulerFunction":  # the demo supplier enables no schedule
        assert result["mode"] == event["mode"] and result["started"] == {}
    elif fn.logical_id == "SweeperFunction":  # nothing has stalled
        assert result == {"swept": [], "discontinuations": []}
    else:  # the authorizer: the sample's placeholder token is not a real one
        assert result["context"]["auth"] == "anonymous"


def test_sample_start_import_accepts_a_job(hub) -> None:
    hub.add_supplier("demo", protocol_config={"products": 25})
    event = json.loads((ROOT / "events" / "start_import.json").read_text())
    result = hub.functions.invoke("StartImportFunction", event)
    assert result["statusCode"] == 202
    assert json.loads(result["body"])["mode"] == "first_n"
