"""boto3 clients, created on first use from ``Settings`` (never at import time).

boto3 itself is imported on first use too: it brings s3transfer and multiprocessing, and
most API functions never call SQS or KMS (PynamoDB talks to DynamoDB through botocore)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Literal, overload

from botocore.config import Config

from apihub.settings import Settings, get_settings

if TYPE_CHECKING:  # stubs from requirements-dev.txt: type checking only, nothing of them ships
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

    AnyClient = EventBridgeClient | KMSClient | S3Client | SecretsManagerClient | SQSClient

Service = Literal["events", "kms", "s3", "secretsmanager", "sqs"]

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
# An endpoint override (the local stack's moto server on 127.0.0.1) has no per-bucket host names.
_PATH_STYLE = _CONFIG.merge(Config(s3={"addressing_style": "path"}))


@lru_cache(maxsize=16)
def _client(service: Service, region: str, endpoint: str | None) -> AnyClient:
    import boto3  # here, not at the top: see the module docstring

    config = _PATH_STYLE if service == "s3" and endpoint else _CONFIG
    return boto3.client(service, region_name=region, endpoint_url=endpoint, config=config)


@overload
def client(service: Literal["events"], settings: Settings | None = None) -> EventBridgeClient: ...
@overload
def client(service: Literal["kms"], settings: Settings | None = None) -> KMSClient: ...
@overload
def client(service: Literal["s3"], settings: Settings | None = None) -> S3Client: ...
@overload
def client(service: Literal["secretsmanager"], settings: Settings | None = None) -> SecretsManagerClient: ...
@overload
def client(service: Literal["sqs"], settings: Settings | None = None) -> SQSClient: ...
def client(service: Service, settings: Settings | None = None) -> AnyClient:
    """The shared boto3 client for ``service``, made on first use with this process's settings."""
    s = settings or get_settings()
    return _client(service, s.region, s.endpoint)


def reset_clients() -> None:
    _client.cache_clear()
