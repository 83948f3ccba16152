"""An in-process apihub: the template's resources on moto, its functions, API Gateway and event
source mappings. Tests build one per case; ``make run`` and the benchmarks use it too. It also
registers the dev-only ``DemoAdapter`` (``apihub_fakes.demo_adapter``), which the layer does not ship."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from apihub_fakes.demo_adapter import register_demo_adapter
from apihub_local.aws_calls import learn_names
from apihub_local.gateway import Gateway, GatewayResponse
from apihub_local.resources import Stack, create_stack
from apihub_local.runtime import Functions
from apihub_local.sqs import EventSourceMapping, build_mappings, drain
from apihub_local.streams import StreamMapping, build_stream_mappings, drain_streams

# Supplier limits for tests and demos that are not about limits (see docs/rate-limits.md).
UNBOUND_LIMITS = {"rate_limit_per_s": 1000, "max_concurrency": 64}


def reset_process_state() -> None:
    """Drop cached settings, clients and table bindings (after the environment changed)."""
    from apihub.dal.clients import reset_clients
    from apihub.dal.tables import reset_bindings
    from apihub.pipeline.adapter_factory import forget_adapters
    from apihub.settings import reset_settings

    reset_settings()
    reset_clients()
    reset_bindings()
    forget_adapters()


def make_dynamodb_clients() -> None:
    """Give every table model (and the transactions' connection) its botocore client now, on one
    thread. PynamoDB makes a connection's client on first use; when dozens of threads used a model
    for the first time together (the local stack's first burst of requests), each built its own
    client, 50-100 ms of CPU apiece, and the burst stalled for seconds. In Lambda one thread per
    process makes each client once, so this is the local stack's concern only."""
    from apihub.dal.tables import ALL_MODELS, bind_tables
    from apihub.settings import get_settings

    bind_tables(get_settings()).client  # noqa: B018 - the property makes the client
    for model in ALL_MODELS:
        model._get_connection().connection.client  # noqa: B018


@dataclass
class ApiResult:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None


class Harness:
    def __init__(
        self,
        *,
        endpoint: str | None = None,
        region: str = "us-east-1",
        timeout_scale: float = 1.0,
        environment: dict[str, str] | None = None,
        **mapping_knobs: Any,
    ) -> None:
        # The functions run in this process: suppliers here may use the demo catalog.
        register_demo_adapter()
        self.stack: Stack = create_stack(region=region, endpoint=endpoint, timeout_scale=timeout_scale)
        learn_names(self.stack.refs, self.stack.attrs)  # the IAM check names resources by logical id
        # Local overrides of the template's values (e.g. APIHUB_ALLOW_INSECURE_URLS for loopback fakes).
        self.stack.environment.update(environment or {})
        os.environ.update(self.stack.environment)
        reset_process_state()
        make_dynamodb_clients()
        self.functions = Functions(timeout_scale=timeout_scale)
        self.gateway = Gateway(self.functions)
        # One client shared by every poller thread (boto3 clients are thread safe): size its pool.
        self.sqs = boto3.client(
            "sqs", region_name=region, endpoint_url=endpoint, config=Config(max_pool_connections=64)
        )
        self.mappings: list[EventSourceMapping] = build_mappings(self.functions, self.stack, self.sqs, **mapping_knobs)
        # In-process moto knows streams.dynamodb.<region> only, not botocore's newer account-based
        # endpoint (<account>.streams-ddb.<region>): name it.
        streams_endpoint = endpoint or f"https://streams.dynamodb.{region}.amazonaws.com/"
        streams = boto3.client("dynamodbstreams", region_name=region, endpoint_url=streams_endpoint)
        self.stream_mappings: list[StreamMapping] = build_stream_mappings(self.functions, self.stack, streams, self.sqs)
        self._admin: str | None = None

    # ------------------------------------------------------------------ tokens
    def token(self, role: str = "admin", **kwargs: Any) -> str:
        from apihub.dal.tokens import TokensRepository

        return TokensRepository().create(role, **kwargs)

    @property
    def admin_token(self) -> str:
        if self._admin is None:
            self._admin = self.token("admin", name="harness")
        return self._admin

    # ------------------------------------------------------------------ HTTP
    def api(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | str | None = None,
        query: dict[str, str] | list[tuple[str, str]] | None = None,
        token: str | None = "admin",
        cookie: bool = True,
        headers: dict[str, str] | None = None,
    ) -> ApiResult:
        hdrs = dict(headers or {})
        value = self.admin_token if token == "admin" else token
        if value:
            if cookie:
                hdrs["cookie"] = f"auth_token={value}"
            else:
                hdrs["authorization"] = f"Bearer {value}"
        if json_body is not None:
            body = json.dumps(json_body)
            hdrs.setdefault("content-type", "application/json")
        resp: GatewayResponse = self.gateway.handle(method, path, query=query, headers=hdrs, body=body)
        return ApiResult(resp.status, resp.headers, resp.body)

    # ------------------------------------------------------------------ helpers
    def add_supplier(self, slug: str = "demo", *, adapter: str = "DemoAdapter", **fields: Any) -> dict[str, Any]:
        """Register a supplier. Unless the test sets them, its rate limits are high enough never to
        bind (UNBOUND_LIMITS): tests about limits set their own."""
        fields["protocol_config"] = {**UNBOUND_LIMITS, **(fields.get("protocol_config") or {})}
        body = {"name": fields.pop("name", slug.title()), "slug": slug, "adapter_class": adapter, **fields}
        res = self.api("POST", "/api/suppliers", json_body=body)
        assert res.status in (200, 201), res.json
        return res.json

    def start_import(self, supplier: str, **body: Any) -> ApiResult:
        return self.api("POST", f"/api/suppliers/{supplier}/import", json_body=body)

    def drain(self, max_rounds: int = 2000) -> int:
        """Deliver every queued message and stream record until nothing is left (a stream batch
        may queue messages, a message may write records)."""
        total = 0
        for _ in range(max_rounds):
            delivered = drain(self.mappings, max_rounds=max_rounds) + drain_streams(self.stream_mappings)
            total += delivered
            if not delivered:
                return total
        raise RuntimeError(f"queues and streams not drained after {max_rounds} rounds")

    def job(self, job_id: str) -> dict[str, Any]:
        res = self.api("GET", f"/api/sync-jobs/{job_id}")
        assert res.status == 200, res.json
        return res.json

    def run_import(self, supplier: str, **body: Any) -> dict[str, Any]:
        res = self.start_import(supplier, **body)
        assert res.status == 202, res.json
        self.drain()
        return self.job(res.json["sync_job_id"])
