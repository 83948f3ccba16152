"""Records the AWS calls each of the template's functions makes, for the IAM check (docs/iam.md).

While installed (``record_to(directory)``; the test session installs it, and the local stack does when
``APIHUB_RECORD_AWS_CALLS`` names a directory), every botocore call made while a function runs
(``runtime.current_function()``, inherited by the threads the function starts) becomes a ``Call``:
the function's logical id, the IAM action AWS authorizes the call as, and the resource ARN it names.
Resources are named by their logical id in the template (``table/JobsTable``, not the local stack's
``apihub-…-JobsTable``), the same namespace ``apihub_local.iam_check`` resolves the roles in, so that
the check does not depend on how a stack names what it creates. Each distinct call is appended once
to ``<directory>/calls-<pid>.jsonl`` as it is first seen: cheap on the hot path (a set lookup), one
file per process (pytest-xdist workers, local stacks), nothing lost when a stack is killed.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import botocore.session

from apihub_local.botocore_hooks import on_every_session
from apihub_local.runtime import acting_as, current_function

ENV = "APIHUB_RECORD_AWS_CALLS"
REGION = "us-east-1"
ACCOUNT = "123456789012"

# The IAM action a batch or differently named API operation is authorized as (the service
# authorization reference): SQS authorizes a batch as its single form, S3 names object reads and
# listings after what they read.
AUTHORIZED_AS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "s3:HeadObject": "s3:GetObject",
    "s3:DeleteObjects": "s3:DeleteObject",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:ListObjects": "s3:ListBucket",
    "s3:HeadBucket": "s3:ListBucket",
}
# Botocore's signing name where it differs from the IAM service prefix.
IAM_PREFIX = {"monitoring": "cloudwatch"}
DYNAMODB_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


@dataclass(frozen=True)
class Call:
    function: str
    action: str
    resource: str

    def __str__(self) -> str:
        return f"{self.function}: {self.action} on {self.resource}"


class _Names:
    """Physical name, URL, id or ARN of a created resource -> its logical id in the template."""

    def __init__(self) -> None:
        self.logical: dict[str, str] = {}

    def learn(self, refs: dict[str, Any], attrs: dict[tuple[str, str], Any]) -> None:
        for logical_id, value in refs.items():
            if isinstance(value, str):
                self.logical[value] = logical_id
        for (logical_id, _attr), value in attrs.items():
            if isinstance(value, str):
                self.logical[value] = logical_id

    def of(self, value: str) -> str:
        return self.logical.get(value, value)


names = _Names()


def learn_names(refs: dict[str, Any], attrs: dict[tuple[str, str], Any]) -> None:
    """Called by the harness with what it created (``Stack.refs`` / ``Stack.attrs``)."""
    names.learn(refs, attrs)


def _arn(service: str, resource: str, *, regional: bool = True) -> str:
    return f"arn:aws:{service}:{REGION if regional else ''}:{ACCOUNT if regional else ''}:{resource}"


def _table(name: str, index: str | None = None) -> str:
    return _arn("dynamodb", f"table/{names.of(name)}" + (f"/index/{index}" if index else ""))


def _object_key(key: str) -> str:
    """A role grants objects by prefix; the record keeps a key's first segment (every product's own
    key would make it as long as the catalog)."""
    head, sep, _rest = key.partition("/")
    return f"{head}/_" if sep else "_"


def calls_of(function: str, action: str, params: dict[str, Any], response: dict[str, Any]) -> list[Call]:
    """What one API call asks IAM for: one or more (action, resource) pairs. ``action`` is
    ``<iam prefix>:<Operation>``."""
    service, _, op = action.partition(":")
    if service == "dynamodb":
        if op in ("TransactWriteItems", "TransactGetItems"):
            out = []
            for item in params.get("TransactItems", []):
                for kind, body in item.items():
                    out.append(Call(function, DYNAMODB_TRANSACT_ACTIONS[kind], _table(body["TableName"])))
            return out
        if op in ("BatchGetItem", "BatchWriteItem"):
            return [Call(function, action, _table(t)) for t in params.get("RequestItems", {})]
        if "TableName" in params:
            return [Call(function, action, _table(params["TableName"], params.get("IndexName")))]
    elif service == "sqs":
        url = str(params.get("QueueUrl", ""))
        queue = names.logical.get(url) or url.rsplit("/", 1)[-1] or names.of(str(params.get("QueueName")))
        return [Call(function, AUTHORIZED_AS.get(action, action), _arn("sqs", queue))]
    elif service == "s3" and "Bucket" in params:
        bucket = names.of(params["Bucket"])
        authorized = AUTHORIZED_AS.get(action, action)
        if op == "DeleteObjects":
            keys = [o["Key"] for o in params.get("Delete", {}).get("Objects", [])]
        elif "Key" in params:
            keys = [params["Key"]]
        else:
            return [Call(function, authorized, f"arn:aws:s3:::{bucket}")]
        if authorized == "s3:GetObject" and params.get("VersionId"):
            authorized = "s3:GetObjectVersion"
        return [
            Call(function, authorized, f"arn:aws:s3:::{bucket}/{k}") for k in sorted({_object_key(k) for k in keys})
        ]
    elif service == "events" and op == "PutEvents":
        buses = {str(e.get("EventBusName") or "default").rsplit("/", 1)[-1] for e in params.get("Entries", [])}
        return [Call(function, action, _arn("events", f"event-bus/{names.of(b)}")) for b in sorted(buses)]
    elif service == "kms":
        # Decrypt names no key: AWS finds it in the ciphertext, and the answer says which.
        key = str(params.get("KeyId") or response.get("KeyId") or "?")
        key_id = names.logical.get(key) or names.of(key.rsplit("/", 1)[-1])
        return [Call(function, action, _arn("kms", f"key/{key_id}"))]
    elif service == "secretsmanager" and "SecretId" in params:
        return [Call(function, action, _arn("secretsmanager", f"secret:{names.of(params['SecretId'])}"))]
    elif service == "sns" and "TopicArn" in params:
        return [Call(function, action, _arn("sns", names.of(params["TopicArn"])))]
    return [Call(function, action, "*")]


class Recorder:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"calls-{os.getpid()}.jsonl"
        self.seen: set[Call] = set()
        self.lock = threading.Lock()
        self.undo = on_every_session(self._hook)

    def _hook(self, session: botocore.session.Session) -> None:
        session.register("before-parameter-build", _keep_params, unique_id="apihub-iam-params")
        session.register("after-call", self._on_call, unique_id="apihub-iam-call")

    def _on_call(self, model: Any = None, parsed: dict[str, Any] | None = None, context: Any = None, **_: Any) -> None:
        function = current_function()
        if function is None or model is None:
            return
        service = model.service_model.signing_name
        action = f"{IAM_PREFIX.get(service, service)}:{model.name}"
        params = (context or {}).get("apihub_iam_params") or {}
        new = [c for c in calls_of(function, action, params, parsed or {}) if c not in self.seen]
        if not new:
            return
        with self.lock:
            new = [c for c in new if c not in self.seen]
            self.seen.update(new)
            with open(self.path, "a") as fh:
                fh.writelines(json.dumps(asdict(c)) + "\n" for c in new)


def _keep_params(params: dict[str, Any] | None = None, context: Any = None, **_: Any) -> None:
    if context is not None:
        context["apihub_iam_params"] = params


_recorder: Recorder | None = None


def record_to(directory: Path) -> Recorder:
    """Start recording (once per process); threads started from now on act as the function that
    started them (in Lambda a function's threads run in its execution environment, with its role)."""
    global _recorder
    if _recorder is None:
        _threads_inherit_function()
        _recorder = Recorder(directory)
    return _recorder


def record_from_environment() -> None:
    """The local stack records when the test session asks it to (``APIHUB_RECORD_AWS_CALLS``)."""
    if os.environ.get(ENV):
        record_to(Path(os.environ[ENV]))


def _threads_inherit_function() -> None:
    original_init = threading.Thread.__init__
    original_run = threading.Thread.run

    def init(self: threading.Thread, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._apihub_function = current_function()  # type: ignore[attr-defined]  # carried to run()

    def run(self: threading.Thread) -> None:
        with acting_as(getattr(self, "_apihub_function", None)):
            original_run(self)

    threading.Thread.__init__ = init  # type: ignore[method-assign]  # a deliberate monkeypatch
    threading.Thread.run = run  # type: ignore[method-assign]  # as above


def load_calls(directory: Path) -> set[Call]:
    """Every call recorded under ``directory`` (all processes)."""
    out: set[Call] = set()
    for path in sorted(directory.glob("calls-*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                out.add(Call(**json.loads(line)))
    return out
