"""Reads ``template.yaml`` so that the local stack and the tests build exactly what it declares.

Only what we need of CloudFormation is understood: parameters' defaults, ``!Ref``/``!GetAtt``/
``!Sub`` against resources created here, and the resource types the template uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns short-form intrinsics (``!Ref X``) into their long form."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:  # YAML has no fourth kind of node
        value = loader.construct_mapping(cast(yaml.MappingNode, node), deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with open(path) as fh:
        data: dict[str, Any] = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return data


@dataclass
class SqsSource:
    queue: str  # logical id
    batch_size: int = 10
    max_concurrency: int | None = None
    report_failures: bool = False
    batching_window: int = 0


@dataclass
class StreamSource:
    """A ``Type: DynamoDB`` event: the table whose stream triggers the function, and the mapping's
    batch semantics (docs/local-stack.md, "Stream triggers")."""

    table: str  # logical id of the table
    batch_size: int = 100
    report_failures: bool = False
    bisect_on_error: bool = False
    max_retries: int = -1  # -1: until the record expires, as Lambda's default
    on_failure: str | None = None  # logical id of the SQS queue of the on-failure destination
    batching_window: int = 0


@dataclass
class HttpRoute:
    method: str
    path: str
    public: bool = False


@dataclass
class FunctionDef:
    logical_id: str
    code_uri: str
    handler: str
    timeout: int
    routes: list[HttpRoute] = field(default_factory=list)
    sqs: list[SqsSource] = field(default_factory=list)
    streams: list[StreamSource] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        return Path(self.code_uri).name


class Template:
    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data = data or load_template()
        self.resources: dict[str, dict[str, Any]] = self.data.get("Resources", {})
        self.globals = self.data.get("Globals", {}).get("Function", {})

    def parameter_defaults(self) -> dict[str, Any]:
        return {k: v.get("Default") for k, v in self.data.get("Parameters", {}).items()}

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == cfn_type}

    def functions(self) -> dict[str, FunctionDef]:
        out: dict[str, FunctionDef] = {}
        for logical_id, res in self.of_type("AWS::Serverless::Function").items():
            props = res.get("Properties", {})
            fn = FunctionDef(
                logical_id=logical_id,
                code_uri=props["CodeUri"].rstrip("/"),
                handler=props.get("Handler", self.globals.get("Handler", "app.handler")),
                timeout=int(props.get("Timeout", self.globals.get("Timeout", 3))),
                environment=props.get("Environment", {}).get("Variables", {}),
            )
            for event in (props.get("Events") or {}).values():
                ep = event.get("Properties", {})
                if event["Type"] == "HttpApi":
                    auth = (ep.get("Auth") or {}).get("Authorizer")
                    fn.routes.append(HttpRoute(ep["Method"].upper(), ep["Path"], public=auth == "NONE"))
                elif event["Type"] == "SQS":
                    queue = ep["Queue"]["Fn::GetAtt"][0]
                    fn.sqs.append(
                        SqsSource(
                            queue=queue,
                            batch_size=self._int(ep.get("BatchSize", 10)) or 10,
                            max_concurrency=self._int((ep.get("ScalingConfig") or {}).get("MaximumConcurrency")),
                            report_failures="ReportBatchItemFailures" in (ep.get("FunctionResponseTypes") or []),
                            batching_window=int(ep.get("MaximumBatchingWindowInSeconds", 0)),
                        )
                    )
                elif event["Type"] == "DynamoDB":
                    fn.streams.append(self._stream_source(ep))
                elif event["Type"] in ("Schedule", "ScheduleV2"):
                    fn.schedules.append(ep)
            out[logical_id] = fn
        return out

    def _stream_source(self, ep: dict[str, Any]) -> StreamSource:
        retries = self._int(ep.get("MaximumRetryAttempts"))
        destination = ((ep.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        return StreamSource(
            table=ep["Stream"]["Fn::GetAtt"][0],
            batch_size=int(ep.get("BatchSize", 100)),
            report_failures="ReportBatchItemFailures" in (ep.get("FunctionResponseTypes") or []),
            bisect_on_error=bool(ep.get("BisectBatchOnFunctionError", False)),
            max_retries=-1 if retries is None else retries,
            on_failure=destination["Fn::GetAtt"][0] if isinstance(destination, dict) else None,
            batching_window=int(ep.get("MaximumBatchingWindowInSeconds", 0)),
        )

    def _int(self, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, dict) and "Ref" in value:
            value = self.parameter_defaults().get(value["Ref"])
        return int(value)

    def resolve(self, value: Any, refs: dict[str, Any], attrs: dict[tuple[str, str], Any]) -> Any:
        """Resolve intrinsics against created resources (``refs``: Ref values, ``attrs``: GetAtt)."""
        if isinstance(value, dict):
            if "Ref" in value:
                name = value["Ref"]
                if name in refs:
                    return refs[name]
                return self.parameter_defaults().get(name)
            if "Fn::GetAtt" in value:
                logical, attr = value["Fn::GetAtt"]
                return attrs.get((logical, attr))
            if "Fn::Sub" in value:
                text = value["Fn::Sub"]
                return re.sub(
                    r"\$\{([^}]+)\}",
                    lambda m: str(refs.get(m.group(1), self.parameter_defaults().get(m.group(1), m.group(0)))),
                    text,
                )
            return {k: self.resolve(v, refs, attrs) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, refs, attrs) for v in value]
        return value
