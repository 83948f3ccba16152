"""template.yaml is the deployment: these tests pin what it must declare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apihub.api.catalog import ROUTES
from apihub.auth import PUBLIC_ROUTES
from apihub.dal.tables import JOB_LIST_INDEXES, JobItem, OutcomeItem, ProductItem, SupplierItem, TokenItem
from apihub.jobs.modes import MODES, SCHEDULED_MODES

from apihub_local.template import Template

ROOT = Path(__file__).resolve().parents[2]
TPL = Template()
FUNCTIONS = TPL.functions()


def test_every_function_has_a_sample_event_and_a_handler_file() -> None:
    for fn in FUNCTIONS.values():
        assert (ROOT / fn.code_uri / "app.py").is_file(), fn.logical_id
        samples = list((ROOT / "events").glob(f"{fn.folder}*.json"))
        assert samples, f"no events/{fn.folder}*.json for {fn.logical_id}"


def test_template_routes_match_the_route_catalog_one_function_per_route() -> None:
    declared = {(r.method, r.path): fn.folder for fn in FUNCTIONS.values() for r in fn.routes}
    catalog = {(route.method, route.path): name for name, route in ROUTES.items()}
    assert declared == catalog
    assert all(len(fn.routes) <= 1 for fn in FUNCTIONS.values())


def test_only_health_and_the_jobs_page_skip_the_authorizer() -> None:
    public = {(r.method, r.path) for fn in FUNCTIONS.values() for r in fn.routes if r.public}
    # The page is static HTML; its script calls the (authorized) API with the visitor's token.
    assert public == {("GET", "/api/health"), ("GET", "/")} == PUBLIC_ROUTES
    auth = TPL.resources["HttpApi"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "TokenAuthorizer"
    assert auth["Authorizers"]["TokenAuthorizer"]["EnableSimpleResponses"] is True


def test_job_list_indexes_exist_for_every_filter_combination_and_are_keys_only() -> None:
    gsis = {g["IndexName"]: g for g in TPL.resources["JobsTable"]["Properties"]["GlobalSecondaryIndexes"]}
    for index_name, hash_attr in JOB_LIST_INDEXES.values():
        gsi = gsis[index_name]
        assert gsi["KeySchema"][0] == {"AttributeName": hash_attr, "KeyType": "HASH"}
        assert gsi["KeySchema"][1] == {"AttributeName": "gsi_sort", "KeyType": "RANGE"}
        assert gsi["Projection"]["ProjectionType"] == "KEYS_ONLY"  # counter updates never rewrite an index
    assert {"ByStatus", "BySupplier", "ByAll", "JobErrors"} <= set(gsis)


@pytest.mark.parametrize(
    ("logical_id", "models"),
    [
        ("JobsTable", [JobItem, OutcomeItem]),
        ("SuppliersTable", [SupplierItem]),
        ("ProductsTable", [ProductItem]),
        ("TokensTable", [TokenItem]),
    ],
)
def test_pynamodb_models_match_the_template_tables(logical_id: str, models: list) -> None:
    props = TPL.resources[logical_id]["Properties"]
    declared_indexes = {g["IndexName"] for g in props.get("GlobalSecondaryIndexes", [])}
    key_schema = {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]}
    for model in models:
        schema = model._get_schema()
        assert {k["AttributeName"]: k["KeyType"] for k in schema["key_schema"]} == key_schema
        model_indexes = {i["index_name"] for i in schema["global_secondary_indexes"]}
        assert model_indexes <= declared_indexes


def test_sqs_event_sources_report_partial_failures_and_cap_concurrency() -> None:
    sources = {fn.logical_id: fn.sqs for fn in FUNCTIONS.values() if fn.sqs}
    assert set(sources) == {"DiscoverFunction", "HydrateFunction"}
    for fn_sources in sources.values():
        for src in fn_sources:
            assert src.report_failures
            assert src.max_concurrency and src.max_concurrency >= 2


def test_consumed_queues_have_redrive_and_visibility_at_least_six_times_the_timeout() -> None:
    defaults = TPL.parameter_defaults()
    for fn in FUNCTIONS.values():
        for src in fn.sqs:
            props = TPL.resources[src.queue]["Properties"]
            assert props["VisibilityTimeout"] >= 6 * fn.timeout, src.queue
            redrive = props["RedrivePolicy"]
            dlq = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert TPL.resources[dlq]["Type"] == "AWS::SQS::Queue"
            count = redrive["maxReceiveCount"]
            assert defaults[count["Ref"]] >= 2


def test_hydrate_knows_the_receive_count_the_queue_dead_letters_at() -> None:
    env = TPL.globals["Environment"]["Variables"]
    redrive = TPL.resources["HydrateQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    assert env["APIHUB_HYDRATE_MAX_RECEIVE_COUNT"] == redrive


def _policy_statements(policies: list) -> list[dict]:
    out = []
    for policy in policies:
        if isinstance(policy, dict) and "Statement" in policy:
            out += policy["Statement"]
    return out


def test_iam_policies_name_their_resources() -> None:
    for logical_id, res in TPL.of_type("AWS::Serverless::Function").items():
        policies = res["Properties"].get("Policies", [])
        for policy in policies:
            assert isinstance(policy, dict), f"{logical_id}: managed policy by name is not allowed"
            if "Statement" in policy:
                continue
            ((template_name, params),) = policy.items()
            assert params and all(v not in ("*", "") for v in params.values()), (logical_id, template_name)
        for statement in _policy_statements(policies):
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert "*" not in resources, logical_id


def test_data_is_encrypted_and_the_api_is_throttled() -> None:
    for logical_id, res in TPL.of_type("AWS::DynamoDB::Table").items():
        assert res["Properties"]["SSESpecification"]["SSEEnabled"] is True, logical_id
    for logical_id, res in TPL.of_type("AWS::SQS::Queue").items():
        assert res["Properties"]["SqsManagedSseEnabled"] is True, logical_id
    assert TPL.resources["SecretsKey"]["Properties"]["EnableKeyRotation"] is True
    route_settings = TPL.resources["HttpApi"]["Properties"]["DefaultRouteSettings"]
    assert route_settings["ThrottlingRateLimit"] > 0 and route_settings["ThrottlingBurstLimit"] > 0


def test_functions_target_python311_and_share_the_layer() -> None:
    assert TPL.globals["Runtime"] == "python3.11"
    layer = TPL.resources["ApihubLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"  # layers/apihub/Makefile
    assert (ROOT / layer["Properties"]["ContentUri"] / "requirements.txt").is_file()


def test_the_layer_ships_bytecode_that_never_needs_its_sources_checked(tmp_path) -> None:
    """Lambda's /opt is read-only: without .pyc files in the layer every cold start compiles every
    module again. The build compiles them as unchecked-hash .pyc, valid whatever mtimes the zip gives."""
    import subprocess
    import sys

    layer = TPL.resources["ApihubLayer"]
    subprocess.run(  # the project's own build target, run as sam build runs it
        ["make", "-s", "build-ApihubLayer", f"ARTIFACTS_DIR={tmp_path}", f"PYTHON={sys.executable}"],
        cwd=ROOT / layer["Properties"]["ContentUri"],
        check=True,
    )
    python = tmp_path / "python"
    for module in ("apihub/api/app.py", "apihub/pipeline/hydrate.py", "pydantic/main.py", "pynamodb/models.py"):
        source = python / module
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
        assert source.is_file() and pyc.is_file(), module
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{module}: pyc flags {flags:#b}, expected hash-based without source check"
    assert not (python / "aws_xray_sdk").exists() and not (python / "pydantic_settings").exists()


# ------------------------------------------------------------------ operations (schedules, sweeper, alarms)


def _schedule_events(logical_id: str) -> dict[str, dict]:
    events = TPL.resources[logical_id]["Properties"]["Events"]
    return {name: e["Properties"] for name, e in events.items() if e["Type"] == "ScheduleV2"}


def test_scheduled_imports_are_exactly_the_mode_rows_that_have_a_schedule() -> None:
    # The rows of apihub.jobs.modes name each schedule's template parameter and default; the
    # template declares one scheduler event per such row, and none for a mode without one.
    defaults = TPL.parameter_defaults()
    schedules = _schedule_events("SchedulerFunction")
    by_mode = {json.loads(p["Input"])["mode"]: p for p in schedules.values()}
    rows = {spec.mode.value: spec.schedule for spec in MODES.values() if spec.schedule is not None}
    assert set(by_mode) == set(rows) == {m.value for m in SCHEDULED_MODES}
    operations_doc = (ROOT / "docs" / "operations.md").read_text()
    for mode, schedule in rows.items():
        props = by_mode[mode]
        assert props["ScheduleExpression"] == {"Ref": schedule.parameter}
        assert defaults[schedule.parameter] == schedule.default
        assert props["ScheduleExpressionTimezone"] == "UTC"
        assert f"| `{schedule.parameter}` | `{schedule.default}`" in operations_doc, f"docs/operations.md: {mode}"
    assert FUNCTIONS["SchedulerFunction"].folder == "scheduler"


def test_sweeper_runs_on_its_own_schedule_with_the_stall_limit() -> None:
    defaults = TPL.parameter_defaults()
    (sweep,) = _schedule_events("SweeperFunction").values()
    assert sweep["ScheduleExpression"] == {"Ref": "SweeperSchedule"}
    assert defaults["SweeperSchedule"] == "rate(5 minutes)"
    env = TPL.resources["SweeperFunction"]["Properties"]["Environment"]["Variables"]
    assert env["APIHUB_STALL_MINUTES"] == {"Ref": "StallMinutes"} and defaults["StallMinutes"] == 30
    assert FUNCTIONS["SweeperFunction"].folder == "sweeper"


def _alarms() -> dict[str, dict]:
    return {k: v["Properties"] for k, v in TPL.of_type("AWS::CloudWatch::Alarm").items()}


def _metrics_of(alarm: dict) -> set[tuple[str, str, tuple]]:
    """(namespace, metric, dimensions) an alarm watches, directly or through metric math."""
    out = set()
    if "MetricName" in alarm:
        dims = tuple(sorted((d["Name"], str(d["Value"])) for d in alarm.get("Dimensions", [])))
        out.add((alarm["Namespace"], alarm["MetricName"], dims))
    for q in alarm.get("Metrics", []):
        if "MetricStat" in q:
            m = q["MetricStat"]["Metric"]
            dims = tuple(sorted((d["Name"], str(d["Value"])) for d in m.get("Dimensions", [])))
            out.add((m["Namespace"], m["MetricName"], dims))
    return out


def test_alarms_cover_dlqs_hydrate_error_rate_failed_and_swept_jobs_and_notify_an_encrypted_topic() -> None:
    from apihub import observability as o

    alarms = _alarms()
    watched = {m for a in alarms.values() for m in _metrics_of(a)}
    for dlq in ("DiscoveryDLQ", "HydrateDLQ"):
        dims = (("QueueName", str({"Fn::GetAtt": [dlq, "QueueName"]})),)
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dims) in watched, dlq
    # The application metrics as the code emits them: namespace and the service dimension Powertools adds
    service = ("service", "apihub")
    assert ("apihub", o.PRODUCTS_FAILED, (service,)) in watched
    assert ("apihub", o.PRODUCTS_HYDRATED, (service,)) in watched
    assert ("apihub", o.JOBS_FINISHED, (service, ("status", "failed"))) in watched
    assert ("apihub", o.JOBS_SWEPT, (service,)) in watched
    env = TPL.globals["Environment"]["Variables"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "apihub" and env["POWERTOOLS_SERVICE_NAME"] == "apihub"
    rate = alarms["HydrateErrorRateAlarm"]
    (expression,) = [q["Expression"] for q in rate["Metrics"] if "Expression" in q]
    assert "failed" in expression and "hydrated" in expression
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    topic = TPL.resources["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = TPL.resources["AlarmTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    principals = [s["Principal"] for s in key["KeyPolicy"]["Statement"]]
    assert {"Service": "cloudwatch.amazonaws.com"} in principals  # alarms can publish to the encrypted topic


def test_tracing_is_active_for_every_function() -> None:
    assert TPL.globals["Tracing"] == "Active"
