"""boto3 clients, created on first use from ``Settings`` (never at import time)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from apihub.settings import Settings, get_settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


@lru_cache(maxsize=16)
def _client(service: str, region: str, endpoint: str | None) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint, config=_CONFIG)


def client(service: str, settings: Settings | None = None) -> Any:
    s = settings or get_settings()
    return _client(service, s.region, s.endpoint)


def reset_clients() -> None:
    _client.cache_clear()
