"""The IAM check (docs/iam.md) catches what AWS would refuse: a call the function's role, as SAM
expands it, does not allow, judged on action, resource ARN and conditions. Checked on calls a
function really made, on a template changed in memory, and on the evaluator's rules."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from apihub_local import aws_calls
from apihub_local.aws_calls import Call, calls_of
from apihub_local.iam_check import (
    TOOLS_PY,
    Role,
    allows,
    evaluate,
    reads_tables,
    requests_of,
    without_policies,
)
from apihub_local.runtime import acting_as, current_function
from apihub_local.template import load_template

needs_sam = pytest.mark.skipif(not TOOLS_PY.exists(), reason="run `make template` first (SAM's translator)")
ARN = "arn:aws:{}:us-east-1:123456789012:{}"


def table(name: str) -> str:
    return ARN.format("dynamodb", f"table/{name}")


@needs_sam
def test_a_function_whose_role_lacks_its_table_fails_naming_function_action_and_resource(hub: Any) -> None:
    # Given: the calls ListSuppliersFunction really makes for GET /api/suppliers (recorded by the session)
    hub.add_supplier("acme")
    assert hub.api("GET", "/api/suppliers").status == 200
    recorder = aws_calls.record_to(aws_calls.Path("/unused"))  # the session's recorder (already running)
    calls = {c for c in recorder.seen if c.function == "ListSuppliersFunction"}
    reads = {c for c in calls if c.resource.startswith(table("SuppliersTable"))}
    assert reads, calls
    # Then: the template's role allows them all
    template = load_template()
    assert evaluate(calls, template).denied == []
    # When: the function's Policies are removed (in memory)
    denied = [str(r) for r in evaluate(calls, without_policies(template, ["ListSuppliersFunction"])).denied]
    # Then: each table call is named: function, action, resource
    for call in reads:
        assert f"ListSuppliersFunction: {call.action} on {call.resource}" in denied


@needs_sam
def test_removing_policies_from_any_function_that_reads_a_table_fails_the_check() -> None:
    # Given: for every function whose policies name a table, a call its policy template allows there
    template = load_template()
    readers = reads_tables(template)
    assert len(readers) >= 20, readers
    calls = set()
    for name in readers:
        for policy in template["Resources"][name]["Properties"]["Policies"]:
            kind, args = next(iter(policy.items())) if isinstance(policy, dict) else (policy, {})
            if kind.startswith("DynamoDB") and isinstance(args, dict) and "TableName" in args:
                action = "dynamodb:PutItem" if "Write" in kind else "dynamodb:GetItem"
                calls.add(Call(name, action, table(args["TableName"]["Ref"])))
    assert {c.function for c in calls} == set(readers)
    # Then: the roles allow them; with Policies removed, every one of those functions is denied.
    # (Each function has its own role, so removing them all in one template is removing each one.)
    assert evaluate(calls, template).denied == []
    denied = evaluate(calls, without_policies(template, readers)).denied
    assert {r.call.function for r in denied} == set(readers)


@needs_sam
def test_kms_decrypt_of_the_cursor_secret_is_allowed_only_through_secrets_manager() -> None:
    secret = ARN.format("secretsmanager", "secret:CursorSecret")
    key = ARN.format("kms", "key/SecretsKey")
    # Reading the secret makes Secrets Manager decrypt with the function's role, under the condition
    via_service = evaluate({Call("ListSyncJobsFunction", "secretsmanager:GetSecretValue", secret)})
    assert via_service.checked == 2 and via_service.denied == []
    # The same role calling kms:Decrypt itself does not meet kms:ViaService: denied
    direct = evaluate({Call("ListSyncJobsFunction", "kms:Decrypt", key)})
    assert [str(r) for r in direct.denied] == [f"ListSyncJobsFunction: kms:Decrypt on {key}"]


def test_requests_of_a_secret_read_carry_the_context_aws_sets() -> None:
    secret = ARN.format("secretsmanager", "secret:CursorSecret")
    requests = requests_of({Call("F", "secretsmanager:GetSecretValue", secret)}, load_template())
    implied = [r for r in requests if r.call.action == "kms:Decrypt"]
    assert len(implied) == 1
    assert dict(implied[0].context) == {
        "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
        "kms:EncryptionContext:SecretARN": secret,
    }


def _allow(
    action: str, resource: str, condition: dict[str, Any] | None = None, effect: str = "Allow"
) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource, **({"Condition": condition} if condition else {})}


def test_evaluation_follows_aws_order_and_condition_rules() -> None:
    from apihub_local.iam_check import Request

    get = Request(Call("F", "dynamodb:GetItem", table("T")))
    assert allows(Role([_allow("dynamodb:Get*", table("T"))]), get)
    assert not allows(Role([_allow("dynamodb:GetItem", table("Other"))]), get)  # the resource is judged
    assert not allows(Role([_allow("dynamodb:Query", table("T"))]), get)
    # An explicit Deny wins over any Allow
    assert not allows(Role([_allow("dynamodb:*", "*"), _allow("dynamodb:GetItem", table("T"), effect="Deny")]), get)
    # A condition whose key the request lacks does not hold; a failed Allow is no Deny
    conditional = _allow("dynamodb:GetItem", table("T"), {"StringEquals": {"aws:SourceVpce": "vpce-1"}})
    assert not allows(Role([conditional]), get)
    assert allows(Role([conditional, _allow("dynamodb:GetItem", table("T"))]), get)
    if_exists = _allow("dynamodb:GetItem", table("T"), {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}})
    assert allows(Role([if_exists]), get)
    with_context = Request(get.call, (("aws:SourceVpce", "vpce-2"),))
    assert not allows(Role([if_exists]), with_context)
    # An operator the check does not know fails it, rather than being skipped
    with pytest.raises(ValueError, match="NumericLessThan"):
        allows(Role([_allow("dynamodb:GetItem", table("T"), {"NumericLessThan": {"aws:EpochTime": "1"}})]), get)


def test_calls_are_recorded_as_the_actions_and_resources_iam_authorizes() -> None:
    transact = calls_of(
        "F",
        "dynamodb:TransactWriteItems",
        {"TransactItems": [{"Put": {"TableName": "A"}}, {"ConditionCheck": {"TableName": "B"}}]},
        {},
    )
    assert transact == [Call("F", "dynamodb:PutItem", table("A")), Call("F", "dynamodb:ConditionCheckItem", table("B"))]
    query = calls_of("F", "dynamodb:Query", {"TableName": "A", "IndexName": "by-x"}, {})
    assert query == [Call("F", "dynamodb:Query", table("A") + "/index/by-x")]
    batch = calls_of("F", "sqs:SendMessageBatch", {"QueueUrl": "http://h/123456789012/q1"}, {})
    assert batch == [Call("F", "sqs:SendMessage", ARN.format("sqs", "q1"))]
    deletes = calls_of(
        "F", "s3:DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "p/1"}, {"Key": "p/2"}]}}, {}
    )
    assert deletes == [Call("F", "s3:DeleteObject", "arn:aws:s3:::b/p/_")]
    decrypt = calls_of("F", "kms:Decrypt", {"CiphertextBlob": b"x"}, {"KeyId": ARN.format("kms", "key/k1")})
    assert decrypt == [Call("F", "kms:Decrypt", ARN.format("kms", "key/k1"))]


def test_threads_a_function_starts_record_as_that_function() -> None:
    aws_calls.record_to(aws_calls.Path("/unused"))  # installed by the session already; idempotent
    seen: list[str | None] = []
    with acting_as("HydrateFunction"):
        worker = threading.Thread(target=lambda: seen.append(current_function()))
        worker.start()
        worker.join()
    assert seen == ["HydrateFunction"]


def test_publish_puts_the_report_between_the_docs_markers_only(tmp_path: Any) -> None:
    from apihub_local.iam_check import END, START, publish

    report = tmp_path / "least-privilege.md"
    report.write_text("# IAM title\n\nrun line\n\n## Allowed, not used\n\n| a | b |\n")
    docs = tmp_path / "iam.md"
    docs.write_text(f"before\n{START}\nold figures\n{END}\nafter\n")
    publish(report, docs)
    assert docs.read_text() == f"before\n{START}\nrun line\n\n### Allowed, not used\n\n| a | b |\n{END}\nafter\n"
