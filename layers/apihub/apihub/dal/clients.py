"""boto3 clients, created on first use from ``Settings`` (never at import time).

boto3 itself is imported on first use too: it brings s3transfer and multiprocessing (10-25 ms), and
most API functions never call SQS or KMS (PynamoDB talks to DynamoDB through botocore)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from botocore.config import Config

from apihub.settings import Settings, get_settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
# An endpoint override (the local stack's moto server on 127.0.0.1) has no per-bucket host names.
_PATH_STYLE = _CONFIG.merge(Config(s3={"addressing_style": "path"}))


@lru_cache(maxsize=16)
def _client(service: str, region: str, endpoint: str | None) -> Any:
    import boto3  # here, not at the top: see the module docstring

    config = _PATH_STYLE if service == "s3" and endpoint else _CONFIG
    return boto3.client(service, region_name=region, endpoint_url=endpoint, config=config)


def client(service: str, settings: Settings | None = None) -> Any:
    s = settings or get_settings()
    return _client(service, s.region, s.endpoint)


def reset_clients() -> None:
    _client.cache_clear()
