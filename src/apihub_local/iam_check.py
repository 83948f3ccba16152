"""The IAM check (docs/iam.md): does each function's role, as SAM deploys it, allow every AWS call the
tests saw that function make? And what does a role allow that no test used?

Roles come from SAM's own translator (``tests/infrastructure/sam_policies.py --roles``, in the tools
venv), so policy templates (``DynamoDBReadPolicy``, ...) are judged by the statements they become.
Their intrinsics are resolved in the namespace the recorder names resources in (``apihub_local.
aws_calls``: a resource's logical id is its name). A new function in template.yaml is covered by
both without any change here.

Evaluation: moto's IAM policy evaluation (``IAMPolicyStatement``) matches each statement's
``Action`` and ``Resource`` patterns against a call. Its ``Condition`` support is not used: it
knows ``StringEquals`` only, lets a condition whose key the request lacks pass, and treats an Allow
whose condition fails as an explicit Deny. So conditions are judged here, as AWS documents them: a
statement whose condition does not hold does not apply; a key the request lacks fails the condition
unless the operator ends in ``IfExists`` or is a negated one; an operator this file does not know
fails the check (rather than being skipped).
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

from apihub_local.aws_calls import ACCOUNT, REGION, Call, load_calls
from apihub_local.template import ROOT, load_template

TOOLS_PY = ROOT / ".venv-tools" / "bin" / "python"
SAM_POLICIES = ROOT / "tests" / "infrastructure" / "sam_policies.py"
BUILD = ROOT / "build" / "iam"

# The managed policies SAM attaches (tests/infrastructure/sam_policies.py allows no others), as AWS
# publishes them: their actions on "*".
_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
MANAGED: dict[str, list[str]] = {
    "AWSLambdaBasicExecutionRole": _LOGS,
    "AWSXrayWriteOnlyAccess": [
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    ],
    "AWSXRayDaemonWriteAccess": [
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    ],
    "AWSLambdaSQSQueueExecutionRole": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", *_LOGS],
    "AWSLambdaDynamoDBExecutionRole": [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        *_LOGS,
    ],
}


@dataclass(frozen=True)
class Request:
    """A call as IAM sees it: the call and the request context its conditions read."""

    call: Call
    context: tuple[tuple[str, str], ...] = ()
    on_behalf_of: str = ""  # for a call a service makes for the function: the function's call

    def __str__(self) -> str:
        return str(self.call) + (f" (made by AWS for {self.on_behalf_of})" if self.on_behalf_of else "")


@dataclass
class Role:
    statements: list[dict[str, Any]]
    managed: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Result:
    denied: list[Request]
    unused: dict[str, dict[str, list[str]]]  # function -> resource -> actions its statements allow, no test used
    checked: int  # requests evaluated


# ---------------------------------------------------------------------------------------------- roles
def expand_roles(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """Each function's role as SAM expands it (``sam_policies.py --roles``); ``template`` defaults
    to template.yaml. Expanding takes seconds, so the answer is kept by the template's hash."""
    data = template if template is not None else load_template()
    text = json.dumps(data, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode() + SAM_POLICIES.read_bytes()).hexdigest()[:16]
    cached = BUILD / f"roles-{digest}.json"
    if cached.exists():
        roles: dict[str, Any] = json.loads(cached.read_text())
        return roles
    if not TOOLS_PY.exists():
        raise FileNotFoundError(f"{TOOLS_PY} is missing: `make template` installs SAM's translator")
    out = BUILD / f"roles-{digest}.json.part-{os.getpid()}"
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(  # noqa: S603 - our own script, in our tools venv
        [str(TOOLS_PY), str(SAM_POLICIES), "--roles", str(out), "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"sam_policies.py --roles failed:\n{proc.stdout}{proc.stderr}")
    roles = json.loads(out.read_text())
    out.replace(cached)
    return roles


def without_policies(template: dict[str, Any], functions: Iterable[str]) -> dict[str, Any]:
    """A copy of ``template`` whose ``functions`` have no ``Policies`` (the check's own check)."""
    changed = copy.deepcopy(template)
    for name in functions:
        changed["Resources"][name]["Properties"].pop("Policies", None)
    return changed


class Namespace:
    """Resolves the intrinsics of the expanded roles with each resource named by its logical id,
    in the account and region the recorder uses (``aws_calls``)."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, Any] = template.get("Resources", {})
        self.parameters = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "apihub",
        }

    def arn(self, logical: str) -> str:
        kind = self.resources[logical]["Type"]
        by_kind = {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{logical}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{logical}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{logical}",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{logical}",
            "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{logical}",
            "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{logical}",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{logical}",
            "AWS::Serverless::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical}",
        }
        if kind not in by_kind:
            raise ValueError(f"no ARN for {logical} ({kind}): teach apihub_local.iam_check.Namespace")
        return by_kind[kind]

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return str(self.parameters[name])
        kind = self.resources[name]["Type"]
        if kind in ("AWS::SecretsManager::Secret", "AWS::SNS::Topic"):
            return self.arn(name)  # their Ref is their ARN
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        return name

    def get_att(self, logical: str, attr: str) -> str:
        if attr == "Arn":
            return self.arn(logical)
        if attr == "StreamArn":
            return f"{self.arn(logical)}/stream/*"
        if attr in ("QueueName", "Name", "Id", "KeyId"):
            return logical
        raise ValueError(f"unknown attribute {logical}.{attr}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self.ref(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            logical, attr = target.split(".", 1) if isinstance(target, str) else target
            return self.get_att(logical, attr)
        if "Fn::Sub" in value:
            body = value["Fn::Sub"]
            text, variables = (body, {}) if isinstance(body, str) else (body[0], body[1])
            for key, var in variables.items():
                text = text.replace("${" + key + "}", str(self.resolve(var)))
            for name in [*self.pseudo, *self.parameters, *self.resources]:
                if "${" + name + "}" in text:
                    text = text.replace("${" + name + "}", self.ref(name))
            return text
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(str(self.resolve(p)) for p in parts)
        return {k: self.resolve(v) for k, v in value.items()}


def resolve_roles(expanded: dict[str, Any], template: dict[str, Any]) -> dict[str, Role]:
    space = Namespace(template)
    roles: dict[str, Role] = {}
    for function, role in expanded.items():
        managed = []
        for arn in role["managed"]:
            name = str(space.resolve(arn)).rsplit("/", 1)[-1]
            managed.append({"Effect": "Allow", "Action": MANAGED.get(name, []), "Resource": "*"})
        roles[function] = Role([space.resolve(st) for st in role["statements"]], managed)
    return roles


# ------------------------------------------------------------------------------------------ requests
def requests_of(calls: Iterable[Call], template: dict[str, Any]) -> list[Request]:
    """The recorded calls, plus the calls AWS makes with the function's credentials on its behalf:
    reading a secret encrypted with a customer managed key makes Secrets Manager call ``kms:Decrypt``
    on that key, with ``kms:ViaService`` and the secret's ARN in the encryption context."""
    space = Namespace(template)
    out: list[Request] = []
    for call in sorted(calls, key=str):
        out.append(Request(call))
        if call.action == "secretsmanager:GetSecretValue":
            logical = call.resource.rsplit(":", 1)[-1]
            key = space.resources.get(logical, {}).get("Properties", {}).get("KmsKeyId")
            if key is not None:
                key_arn = str(space.resolve(key))
                key_arn = key_arn if key_arn.startswith("arn:") else space.arn(key_arn)
                context = (
                    ("kms:EncryptionContext:SecretARN", call.resource),
                    ("kms:ViaService", f"secretsmanager.{REGION}.amazonaws.com"),
                )
                out.append(Request(Call(call.function, "kms:Decrypt", key_arn), context, on_behalf_of=str(call)))
    return out


# ---------------------------------------------------------------------------------------- evaluation
_EXACT = ("StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals")
_IGNORE_CASE = ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "Bool")
_PATTERN = ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike")


def _value_matches(operator: str, expected: str, actual: str) -> bool:
    base = operator.removesuffix("IfExists")
    if base in _EXACT:
        return expected == actual
    if base in _IGNORE_CASE:
        return expected.lower() == actual.lower()
    return fnmatch.fnmatchcase(actual, expected)


def conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    """Every operator's every key holds (AWS ANDs them; a key's several values are ORed)."""
    for operator, keys in conditions.items():
        if operator.removesuffix("IfExists") not in (*_EXACT, *_IGNORE_CASE, *_PATTERN):
            raise ValueError(f"condition operator {operator} is not evaluated by apihub_local.iam_check")
        negated = "Not" in operator
        for key, expected in keys.items():
            values = expected if isinstance(expected, list) else [expected]
            if key not in context:
                if operator.endswith("IfExists") or negated:
                    continue
                return False
            matched = any(_value_matches(operator, str(v), context[key]) for v in values)
            if matched == negated:
                return False
    return True


def _applies(statement: dict[str, Any], request: Request, action: str | None = None) -> PermissionResult:
    """Whether one statement allows (PERMITTED), denies (DENIED) or says nothing on the request."""
    if "NotResource" in statement:
        raise ValueError("NotResource is not evaluated by apihub_local.iam_check")
    bare = {k: v for k, v in statement.items() if k != "Condition"}
    result: PermissionResult = IAMPolicyStatement(bare).is_action_permitted(
        action or request.call.action, request.call.resource
    )
    if result is not PermissionResult.NEUTRAL and not conditions_hold(
        statement.get("Condition", {}), dict(request.context)
    ):
        return PermissionResult.NEUTRAL
    return result


def allows(role: Role, request: Request) -> bool:
    """AWS's order: an explicit Deny wins, else any Allow, else the implicit deny."""
    permitted = False
    for statement in [*role.statements, *role.managed]:
        result = _applies(statement, request)
        if result is PermissionResult.DENIED:
            return False
        permitted = permitted or result is PermissionResult.PERMITTED
    return permitted


def _resource_names(resources: Any) -> str:
    """``arn:aws:dynamodb:…:table/JobsTable`` and its ``/index/*`` -> ``JobsTable``; ``key/SecretsKey``
    -> ``SecretsKey``; ``arn:aws:s3:::Bucket/*`` -> ``Bucket``."""
    names = []
    for arn in resources if isinstance(resources, list) else [resources]:
        last = str(arn).rsplit(":", 1)[-1]
        for kind in ("table/", "key/", "event-bus/"):
            last = last.removeprefix(kind)
        names.append(last.split("/")[0])
    return ", ".join(dict.fromkeys(names))


def check(roles: dict[str, Role], requests: list[Request]) -> Result:
    denied = [r for r in requests if r.call.function not in roles or not allows(roles[r.call.function], r)]
    unused: dict[str, dict[str, list[str]]] = {}
    for function, role in sorted(roles.items()):
        mine = [r for r in requests if r.call.function == function]
        for statement in role.statements:
            if statement.get("Effect") != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                used = any(
                    fnmatch.fnmatchcase(r.call.action, action) and _applies(statement, r) is PermissionResult.PERMITTED
                    for r in mine
                )
                if not used:
                    where = unused.setdefault(function, {}).setdefault(_resource_names(statement["Resource"]), [])
                    where.append(action)
    return Result(denied=denied, unused=unused, checked=len(requests))


def evaluate(calls: set[Call], template: dict[str, Any] | None = None) -> Result:
    """Check ``calls`` against the roles of ``template`` (default: template.yaml)."""
    data = template if template is not None else load_template()
    roles = resolve_roles(expand_roles(data), data)
    return check(roles, requests_of(calls, data))


def reads_tables(template: dict[str, Any]) -> list[str]:
    """The functions whose policies name a DynamoDB table (the ones the self-check strips)."""
    out = []
    for name, res in template["Resources"].items():
        if res.get("Type") == "AWS::Serverless::Function":
            policies = json.dumps(res.get("Properties", {}).get("Policies", []))
            if "DynamoDB" in policies or "dynamodb:" in policies:
                out.append(name)
    return out


# ------------------------------------------------------------------------------------------- report
def report(result: Result, calls: set[Call], command: str) -> str:
    functions = sorted({c.function for c in calls})
    lines = [
        "# IAM: what the tests called, and what the roles allow that no test used",
        "",
        f"`{command}`: {len(calls)} distinct calls of {len(functions)} functions, "
        f"{result.checked} requests evaluated (calls AWS makes on a function's behalf included), "
        f"{len(result.denied)} denied.",
        "",
    ]
    if result.denied:
        lines += ["## Denied (the role does not allow what the code calls)", ""]
        lines += [f"- {r}" for r in result.denied] + [""]
    lines += [
        "## Allowed, not used by any test (least privilege)",
        "",
        "Actions a function's own statements grant that no recorded call used, by resource. Most come",
        "whole with a SAM policy template (``DynamoDBReadPolicy`` grants ``Scan`` and ``BatchGetItem`` too).",
        "",
        "| function | granted, not used |",
        "|---|---|",
    ]
    idle = []
    for function, unused in sorted(result.unused.items()):
        if function not in functions:
            idle.append(function)
            continue
        cells = [f"{resource}: {', '.join(dict.fromkeys(actions))}" for resource, actions in sorted(unused.items())]
        lines.append(f"| {function} | {'<br>'.join(cells)} |")
    if idle:
        lines += ["", f"No test of this run ran: {', '.join(idle)} (every grant of theirs is unused here)."]
    return "\n".join(lines) + "\n"


DOCS = ROOT / "docs" / "iam.md"
START, END = "<!-- least-privilege:start -->", "<!-- least-privilege:end -->"


def publish(report_path: Path = BUILD / "least-privilege.md", docs: Path = DOCS) -> None:
    """Copy a session's report into docs/iam.md (between its markers), headings one level down."""
    body = report_path.read_text().replace("\n## ", "\n### ").split("\n", 1)[1].strip()
    text = docs.read_text()
    head, rest = text.split(START, 1)
    docs.write_text(f"{head}{START}\n{body}\n{END}{rest.split(END, 1)[1]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("calls", type=Path, nargs="?", help="directory of calls-*.jsonl (apihub_local.aws_calls)")
    parser.add_argument("--out", type=Path, default=BUILD / "least-privilege.md")
    parser.add_argument("--command", default="pytest")
    parser.add_argument("--publish", action="store_true", help="copy build/iam/least-privilege.md into docs/iam.md")
    args = parser.parse_args(argv)
    if args.publish:
        publish()
        return 0
    if args.calls is None:
        parser.error("give the calls directory, or --publish")
    calls = load_calls(args.calls)
    result = evaluate(calls)
    args.out.write_text(report(result, calls, args.command))
    for request in result.denied:
        print(f"IAM denies {request}")
    print(f"{len(calls)} calls checked, {len(result.denied)} denied; {args.out}")
    return 1 if result.denied else 0


if __name__ == "__main__":
    sys.exit(main())
