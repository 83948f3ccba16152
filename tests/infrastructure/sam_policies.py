"""``.venv-tools/bin/python tests/infrastructure/sam_policies.py [template.yaml]``: the IAM statements
SAM generates, checked offline.

SAM expands policy templates (``DynamoDBCrudPolicy``, ``SQSSendMessagePolicy``, ``KMSDecryptPolicy``,
...) into IAM statements only at deploy time; tests/infrastructure/test_template.py sees the
template's parameters, not the statements. This runs SAM's own translator (aws-sam-translator,
in the tools venv with the SAM CLI) and fails if any function role has a statement whose resource
is ``*`` for an action other than the few AWS allows only on ``*`` (X-Ray trace segments), or any
managed policy beyond the ones SAM attaches itself (listed below, with the one caveat). Prints one
line per role.

``sam_policies.py --roles OUT.json [TEMPLATE.json|-]`` writes each function's role as SAM expands it
(``{function: {"statements": [...], "managed": [...]}}``, intrinsics left for the reader to resolve),
for the IAM check of the calls the tests record (``apihub_local.iam_check``, docs/iam.md). The
template comes from a JSON file or stdin when given, so that a test can expand a template it changed
in memory.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

# Actions that AWS defines on no resource type (the resource can only be "*").
RESOURCELESS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}
# SAM attaches these by itself. AWSLambdaSQSQueueExecutionRole (to the two SQS consumers) grants
# sqs:ReceiveMessage/DeleteMessage/GetQueueAttributes on "*" and SAM has no switch to leave it out;
# narrowing it means hand-written AWS::Lambda::EventSourceMapping resources (see docs/reliability.md).
# AWSLambdaDynamoDBExecutionRole (to the stream consumers) is the same for DynamoDB streams:
# dynamodb:DescribeStream/GetRecords/GetShardIterator/ListStreams on "*".
ALLOWED_MANAGED = (
    "AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess",
    "AWSLambdaSQSQueueExecutionRole",
    "AWSLambdaDynamoDBExecutionRole",
)


class _NoManagedPolicies:
    """Stands in for SAM's IAM lookup (offline): managed policies are referenced by ARN, not name."""

    def load(self) -> dict[str, str]:
        return {}


def expand(template: dict[str, Any]) -> dict[str, Any]:
    """The template as SAM deploys it (policy templates turned into IAM statements)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator wants a region; nothing is called
    for name, res in template["Resources"].items():  # local code folders, as `sam validate` treats them
        for key in ("CodeUri", "ContentUri"):
            if isinstance(res.get("Properties", {}).get(key), str):
                res["Properties"][key] = f"s3://bucket/{name}"
    expanded: dict[str, Any] = transform(
        template, {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}, _NoManagedPolicies()
    )
    return expanded


def function_roles(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each function's role: its inline statements (in policy order) and managed policy ARNs."""
    functions = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"]
    resources = expand(template)["Resources"]
    roles: dict[str, dict[str, Any]] = {}
    for function in functions:
        role_ref = resources[function]["Properties"]["Role"]  # {"Fn::GetAtt": [<role>, "Arn"]}
        role = resources[role_ref["Fn::GetAtt"][0]]["Properties"]
        statements = []
        for policy in role.get("Policies", []):
            body = policy["PolicyDocument"]["Statement"]
            statements += body if isinstance(body, list) else [body]
        roles[function] = {"statements": statements, "managed": role.get("ManagedPolicyArns", [])}
    return roles


def check(path: str) -> tuple[list[str], list[str]]:
    out = expand(yaml_parse(Path(path).read_text()))
    lines, problems = [], []
    for name, res in sorted(out["Resources"].items()):
        if res["Type"] != "AWS::IAM::Role":
            continue
        statements = 0
        for policy in res["Properties"].get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                statements += 1
                resources = st.get("Resource", [])
                resources = resources if isinstance(resources, list) else [resources]
                actions = st.get("Action", [])
                actions = actions if isinstance(actions, list) else [actions]
                if "*" in resources and not set(actions) <= RESOURCELESS:
                    problems.append(f"{name} {policy['PolicyName']}: {actions} on *")
        for arn in res["Properties"].get("ManagedPolicyArns", []):
            text = json.dumps(arn)
            if not any(allowed in text for allowed in ALLOWED_MANAGED):
                problems.append(f"{name}: managed policy {text}")
        lines.append(f"{name}: {statements} statements, every resource named")
    if not lines:
        problems.append("no IAM role generated: did the transform run?")
    return lines, problems


if __name__ == "__main__":
    if sys.argv[1:2] == ["--roles"]:
        source = sys.argv[3] if len(sys.argv) > 3 else "template.yaml"
        if source == "-":
            parsed = json.load(sys.stdin)
        elif source.endswith(".json"):
            parsed = json.loads(Path(source).read_text())
        else:
            parsed = yaml_parse(Path(source).read_text())
        Path(sys.argv[2]).write_text(json.dumps(function_roles(parsed), indent=1))
        sys.exit(0)
    roles, found = check(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
    print(f"{len(roles)} generated roles checked")
    for problem in found:
        print(f"  {problem}")
    sys.exit(1 if found else 0)
