"""template.yaml is the deployment: these tests pin what it must declare."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
from dataclasses import replace
from pathlib import Path

import apihub.api.routes as routes_package
import pytest
from apihub.api.app import ENDPOINTS, endpoint_for
from apihub.api.catalog import BY_KEY, BY_NAME, READ, ROUTES, Route
from apihub.dal.tables import (
    JOB_LIST_INDEXES,
    ChangeItem,
    DeliveryItem,
    JobItem,
    OutcomeItem,
    ProductItem,
    SubscriptionItem,
    SubscriptionMatchItem,
    SupplierItem,
    TokenItem,
)
from apihub.modes.table import MODES, scheduled_modes

from apihub_local.template import FunctionDef, HttpRoute, Template

ROOT = Path(__file__).resolve().parents[2]
TPL = Template()
FUNCTIONS = TPL.functions()


# ------------------------------------------------------------------ routes: one catalog row, five pieces


def _app_for_names(path: Path) -> set[str]:
    """The catalog names a function's ``app.py`` builds its resolver for (``app_for("<name>")``)."""
    tree = ast.parse(path.read_text())
    return {
        call.args[0].value
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "app_for"
        and call.args
        and isinstance(call.args[0], ast.Constant)
    }


def route_problems(route: Route, functions: dict[str, FunctionDef] = FUNCTIONS, root: Path = ROOT) -> list[str]:
    """What a catalog row lacks, each problem naming the missing piece (docs/architecture.md, "A route")."""
    problems = []
    where = f"{route.name} ({route.method} {route.path})"
    module_file = root / "layers/apihub/apihub/api/routes" / f"{route.module}.py"
    if not module_file.is_file():
        problems.append(f"{where}: no route module {module_file.relative_to(root)}")
    else:
        try:
            endpoint_for(route)
        except LookupError:
            problems.append(
                f"{where}: apihub.api.routes.{route.module} registers no "
                f"@endpoint({route.method!r}, {route.path!r}, ...) handler"
            )
    handler = root / "functions" / route.name / "app.py"
    if not handler.is_file():
        problems.append(f"{where}: no function folder functions/{route.name}/app.py")
    elif route.name not in _app_for_names(handler):
        problems.append(f'{where}: functions/{route.name}/app.py does not build app_for("{route.name}")')
    fns = [fn for fn in functions.values() if fn.folder == route.name]
    auth = " with Auth: Authorizer: NONE" if route.public else " (behind the authorizer)"
    expected = [HttpRoute(route.method, route.path, route.public)]
    if not fns:
        problems.append(f"{where}: template.yaml has no function with CodeUri: functions/{route.name}/")
    elif fns[0].routes != expected:
        problems.append(
            f"{where}: template.yaml {fns[0].logical_id} must have exactly one HttpApi event, "
            f"Method: {route.method}, Path: {route.path}{auth}; it has {fns[0].routes}"
        )
    sample = root / "events" / f"{route.name}.json"
    if not sample.is_file():
        problems.append(f"{where}: no sample event events/{route.name}.json")
    elif json.loads(sample.read_text()).get("routeKey") != f"{route.method} {route.path}":
        problems.append(f'{where}: events/{route.name}.json has no "routeKey": "{route.method} {route.path}"')
    return problems


def test_every_catalog_route_has_its_route_module_function_template_event_and_sample() -> None:
    problems = [problem for route in ROUTES for problem in route_problems(route)]
    assert not problems, "\n".join(problems)


def test_a_route_missing_its_pieces_is_reported_piece_by_piece() -> None:
    # Given a catalog row added alone, and one whose module does not register it
    new = Route("list_widgets", "GET", "/api/widgets", "widgets", READ)
    unregistered = Route("get_widget", "GET", "/api/widgets/{widget_id}", "jobs", READ)
    # Then every missing piece is named
    assert route_problems(new) == [
        "list_widgets (GET /api/widgets): no route module layers/apihub/apihub/api/routes/widgets.py",
        "list_widgets (GET /api/widgets): no function folder functions/list_widgets/app.py",
        "list_widgets (GET /api/widgets): template.yaml has no function with CodeUri: functions/list_widgets/",
        "list_widgets (GET /api/widgets): no sample event events/list_widgets.json",
    ]
    assert route_problems(unregistered)[0] == (
        "get_widget (GET /api/widgets/{widget_id}): apihub.api.routes.jobs registers no "
        "@endpoint('GET', '/api/widgets/{widget_id}', ...) handler"
    )
    # And a row whose function, template event or sample belongs to another route is caught too
    module, template, sample = route_problems(replace(BY_NAME["get_sync_job"], path="/api/jobs/{job_id}"))
    assert "apihub.api.routes.jobs registers no @endpoint('GET', '/api/jobs/{job_id}', ...)" in module
    assert "template.yaml GetSyncJobFunction must have exactly one HttpApi event" in template
    assert 'events/get_sync_job.json has no "routeKey": "GET /api/jobs/{job_id}"' in sample


def test_nothing_has_a_route_function_template_event_or_sample_without_a_catalog_row() -> None:
    problems = []
    for fn in FUNCTIONS.values():  # every function, routes or not, has its handler file and a sample
        if not (ROOT / fn.code_uri / "app.py").is_file():
            problems.append(f"template.yaml {fn.logical_id}: no {fn.code_uri}/app.py")
        if not list((ROOT / "events").glob(f"{fn.folder}*.json")):
            problems.append(f"template.yaml {fn.logical_id}: no events/{fn.folder}*.json")
        for r in fn.routes:
            row = BY_KEY.get((r.method, r.path))
            if row is None or row.name != fn.folder:
                problems.append(f"template.yaml {fn.logical_id}: HttpApi {r.method} {r.path} has no catalog row")
    folders = {fn.folder for fn in FUNCTIONS.values()}
    for folder in sorted(p.name for p in (ROOT / "functions").iterdir() if p.is_dir()):
        if folder not in folders:
            problems.append(f"functions/{folder}/: no function in template.yaml has it as its CodeUri")
    for sample in sorted((ROOT / "events").glob("*.json")):
        if sample.stem.split(".")[0] not in folders:
            problems.append(f"events/{sample.name}: no function in template.yaml named {sample.stem.split('.')[0]}")
    for info in pkgutil.iter_modules(routes_package.__path__):
        importlib.import_module(f"{routes_package.__name__}.{info.name}")
    for (method, path), ep in ENDPOINTS.items():
        row = BY_KEY.get((method, path))
        if row is None or f"{routes_package.__name__}.{row.module}" != ep.module:
            problems.append(f"{ep.module}: @endpoint({method!r}, {path!r}) has no catalog row naming that module")
    assert not problems, "\n".join(problems)


def test_only_health_the_schema_and_the_jobs_page_skip_the_authorizer() -> None:
    # The page is static HTML whose script calls the (authorized) API with the visitor's token; the
    # OpenAPI schema holds no data, and a client generator fetches it without a token.
    assert {route.key for route in ROUTES if route.public} == {
        ("GET", "/api/health"),
        ("GET", "/api/openapi.json"),
        ("GET", "/"),
    }
    auth = TPL.resources["HttpApi"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "TokenAuthorizer"
    assert auth["Authorizers"]["TokenAuthorizer"]["EnableSimpleResponses"] is True


def _http_triggered_folders() -> set[str]:
    """Folders of the functions API Gateway invokes: the routes' and the authorizer's."""
    auth = TPL.resources["HttpApi"]["Properties"]["Auth"]["Authorizers"]
    authorizers = {a["FunctionArn"]["Fn::GetAtt"][0] for a in auth.values()}
    return {fn.folder for fn in FUNCTIONS.values() if fn.routes or fn.logical_id in authorizers}


def test_every_function_logs_through_the_one_logger_with_the_powertools_correlation_path() -> None:
    http = _http_triggered_folders()
    problems = []
    for path in sorted((ROOT / "functions").glob("*/app.py")):
        folder, tree = path.parent.name, ast.parse(path.read_text())
        imported = {
            (node.module, alias.name)
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        if ("apihub.observability", "logger") not in imported:
            problems.append(f"functions/{folder}/app.py: does not import logger from apihub.observability")
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
            if name == "Logger":
                problems.append(f"functions/{folder}/app.py: builds its own Logger(...)")
            paths = [ast.unparse(k.value) for k in call.keywords if k.arg == "correlation_id_path"]
            if name == "inject_lambda_context" and folder in http and paths != ["correlation_paths.API_GATEWAY_HTTP"]:
                problems.append(
                    f"functions/{folder}/app.py: inject_lambda_context needs "
                    "correlation_id_path=correlation_paths.API_GATEWAY_HTTP"
                )
    assert not problems, "\n".join(problems)


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
        ("SubscriptionsTable", [SubscriptionItem, SubscriptionMatchItem, DeliveryItem]),
        ("ChangesTable", [ChangeItem]),
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
    assert set(sources) == {"DiscoverFunction", "HydrateFunction", "DeliverWebhookFunction"}
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
            assert (defaults[count["Ref"]] if isinstance(count, dict) else count) >= 2


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


@pytest.fixture(scope="module")
def built_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer as ``sam build`` builds it (the project's own Makefile target), built once for the
    tests below: its ``python/`` folder, which Lambda mounts as ``/opt/python``."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("layer")
    layer = TPL.resources["ApihubLayer"]
    subprocess.run(
        ["make", "-s", "build-ApihubLayer", f"ARTIFACTS_DIR={out}", f"PYTHON={sys.executable}"],
        cwd=ROOT / layer["Properties"]["ContentUri"],
        check=True,
    )
    return out / "python"


def test_the_layer_ships_bytecode_that_never_needs_its_sources_checked(built_layer: Path) -> None:
    """Lambda's /opt is read-only: without .pyc files in the layer every cold start compiles every
    module again. The build compiles them as unchecked-hash .pyc, valid whatever mtimes the zip gives."""
    python = built_layer
    for module in ("apihub/api/app.py", "apihub/pipeline/hydrate.py", "pydantic/main.py", "pynamodb/models.py"):
        source = python / module
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
        assert source.is_file() and pyc.is_file(), module
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{module}: pyc flags {flags:#b}, expected hash-based without source check"
    assert not (python / "aws_xray_sdk").exists() and not (python / "pydantic_settings").exists()


DEV_PACKAGES = {"apihub_local", "apihub_fakes", "apihub_cli", "apihub_bench", "apihub_verify"}


def _imported_roots(source: Path) -> set[str]:
    """Top-level names of every import in ``source``, including imports inside functions."""
    import ast

    roots: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_layer_ships_no_dev_code(built_layer: Path) -> None:
    """What ships is only what runs in AWS: the local stack, fakes, CLI, benchmarks, verify suites
    and the demo adapter stay under src/, and nothing in the layer imports them."""
    shipped = {p.name for p in built_layer.iterdir()}
    assert not shipped & DEV_PACKAGES, shipped & DEV_PACKAGES
    ours = [p for p in (built_layer / "apihub").rglob("*") if "__pycache__" not in p.parts]
    assert not [p for p in ours if "demo" in p.name.lower()], "a demo module ships in the layer"
    for source in [p for p in ours if p.suffix == ".py"] + list((ROOT / "layers/apihub/apihub").rglob("*.py")):
        dev = _imported_roots(source) & DEV_PACKAGES
        assert not dev, f"{source} imports dev package(s) {sorted(dev)}"


def test_the_layer_alone_knows_only_the_real_adapters(built_layer: Path) -> None:
    """A process with nothing but the built layer on its path (as in Lambda): the registry lists the
    real protocols, and a supplier naming the dev-only DemoAdapter is refused with a 422 naming the field."""
    import json
    import subprocess
    import sys

    probe = (
        "import json\n"
        "from apihub.adapters.registry import is_known, known_adapters\n"
        "from apihub.errors import InvalidInput\n"
        "from apihub.supplier_models import SupplierIn\n"
        "from apihub.supplier_rules import validate_supplier\n"
        "try:\n"
        "    validate_supplier(SupplierIn(name='d', slug='d', adapter_class='DemoAdapter'))\n"
        "    refused = None\n"
        "except InvalidInput as exc:\n"
        "    refused = str(exc)\n"
        "print(json.dumps({'known': known_adapters(), 'demo': is_known('DemoAdapter'), 'refused': refused}))\n"
    )
    # -S: no site-packages (this venv's apihub_* packages); PYTHONPATH is the layer, as /opt/python is.
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        env={"PYTHONPATH": str(built_layer), "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
        cwd=built_layer,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["known"] == ["FourOverAdapter", "PromoStandardsAdapter", "SanMarAdapter"]
    assert result["demo"] is False
    assert result["refused"] == "adapter_class: must be one of FourOverAdapter, PromoStandardsAdapter, SanMarAdapter"


# ------------------------------------------------------------------ operations (schedules, sweeper, alarms)


def _schedule_events(logical_id: str) -> dict[str, dict]:
    events = TPL.resources[logical_id]["Properties"]["Events"]
    return {name: e["Properties"] for name, e in events.items() if e["Type"] == "ScheduleV2"}


def test_scheduled_imports_are_exactly_the_mode_rows_that_have_a_schedule() -> None:
    # The rows of apihub.modes.table name each schedule's template parameter and default; the
    # template declares one scheduler event per such row, and none for a mode without one.
    defaults = TPL.parameter_defaults()
    schedules = _schedule_events("SchedulerFunction")
    by_mode = {json.loads(p["Input"])["mode"]: p for p in schedules.values()}
    rows = {spec.mode.value: spec.schedule for spec in MODES.values() if spec.schedule is not None}
    assert set(by_mode) == set(rows) == {m.value for m in scheduled_modes()}
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
    assert env["APIHUB_STALL_MINUTES"] == {"Ref": "StallMinutes"}  # its bounds: tests/infrastructure/test_timing.py
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


def test_every_function_that_pages_may_read_the_cursor_key_and_decrypt_it_through_secrets_manager_only() -> None:
    # The routes that take next_token, from the handlers' own signatures
    paging = {
        route.name for route in ROUTES if "next_token" in inspect.signature(endpoint_for(route).handler).parameters
    }
    assert paging == {
        "list_sync_jobs",
        "list_sync_job_errors",
        "list_products",
        "list_inventory_changes",
        "list_changes",
    }
    secret = TPL.resources["CursorSecret"]["Properties"]
    assert secret["KmsKeyId"] == {"Ref": "SecretsKey"} and secret["GenerateSecretString"]["PasswordLength"] >= 32
    assert TPL.globals["Environment"]["Variables"]["APIHUB_CURSOR_SECRET_ARN"] == {"Ref": "CursorSecret"}
    for fn in FUNCTIONS.values():
        policies = TPL.resources[fn.logical_id]["Properties"].get("Policies", [])
        reads = {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "CursorSecret"}}} in policies
        decrypts = [s for s in _policy_statements(policies) if s["Action"] == "kms:Decrypt"]
        # Only the functions that page read the key (a function that reads one page for itself never seals it)
        assert reads == (fn.folder in paging), fn.logical_id
        if fn.folder in paging:
            (decrypt,) = decrypts
            assert decrypt["Resource"] == {"Fn::GetAtt": ["SecretsKey", "Arn"]}, fn.logical_id
            # Through Secrets Manager, for this secret only: not a way to decrypt supplier credentials
            assert decrypt["Condition"]["StringEquals"] == {
                "kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"},
                "kms:EncryptionContext:SecretARN": {"Ref": "CursorSecret"},
            }, fn.logical_id


def test_change_detection_reads_the_products_stream_with_partial_failures_bisection_and_a_dlq() -> None:
    products = TPL.resources["ProductsTable"]["Properties"]["StreamSpecification"]
    assert products["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    # The contract with the delivery side: the log's own stream carries each new item whole
    log = TPL.resources["ChangesTable"]["Properties"]
    assert log["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"
    assert log["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    sources = FUNCTIONS["ChangesFunction"].streams
    assert "ProductsTable" in {s.table for s in sources}  # (and InventoryTable once it exists)
    for source in sources:
        assert source.report_failures and source.bisect_on_error
        assert 0 <= source.max_retries <= 20
        assert source.on_failure == "ChangesDLQ"
    alarm = TPL.resources["ChangesDLQAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["ChangesDLQ", "QueueName"]}


def test_the_change_log_has_one_index_ordering_it_with_what_the_filters_test() -> None:
    from apihub.dal.tables import ChangeItem

    table = TPL.resources["ChangesTable"]["Properties"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    # One index copy per event: with the item, two write units (docs/changes.md, "The change log")
    (index,) = table["GlobalSecondaryIndexes"]
    meta = ChangeItem.feed_index.Meta
    assert index["IndexName"] == meta.index_name
    assert {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]} == {"feed": "HASH", "log_sort": "RANGE"}
    # A Query's filter can test only what the index holds: the filters of GET /api/changes
    assert index["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["event", "type", "supplier_id", "job_id"],
    }


def test_every_function_that_can_end_a_job_may_write_the_change_log() -> None:
    # job.finished is logged in the transaction that ends a job (apihub.dal.jobs.lifecycle)
    for logical_id in (
        "StartImportFunction",
        "RetrySyncJobFunction",
        "SchedulerFunction",
        "PatchSyncJobFunction",
        "DiscoverFunction",
        "HydrateFunction",
        "SweeperFunction",
    ):
        policies = TPL.resources[logical_id]["Properties"]["Policies"]
        crud = [p["DynamoDBCrudPolicy"]["TableName"] for p in policies if "DynamoDBCrudPolicy" in p]
        assert {"Ref": "ChangesTable"} in crud, logical_id


def test_changed_since_holds_back_longer_than_any_inventory_writer_runs() -> None:
    # A stock change's changed_at is taken inside the invocation that writes it, so it is readable
    # before that function's timeout; changed_since holds back at least that, with a margin for a
    # request in flight and the index copy (docs/inventory.md, "Following stock changes")
    from apihub.settings import Settings

    def writes_inventory(logical_id: str) -> bool:
        policies = TPL.resources[logical_id]["Properties"].get("Policies", [])
        crud = [p["DynamoDBCrudPolicy"]["TableName"] for p in policies if "DynamoDBCrudPolicy" in p]
        return {"Ref": "InventoryTable"} in crud

    writers = [f for f in FUNCTIONS.values() if writes_inventory(f.logical_id)]
    assert {f.logical_id for f in writers} >= {"HydrateFunction", "GetInventoryFunction"}
    assert Settings().inventory_changes_settle_s >= max(f.timeout for f in writers) + 30
