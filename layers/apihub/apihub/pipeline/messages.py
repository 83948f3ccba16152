"""Queue message bodies (versioned; a body that does not parse is a poisoned message for the DLQ)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from apihub.models import ApihubModel


class DiscoveryMessage(ApihubModel):
    model_config = ConfigDict(extra="forbid")

    v: int = 1
    job_id: str = Field(min_length=1, max_length=64)
    continuation: bool = False
    # "discontinue": the job's discontinuation pass (apihub.pipeline.discontinuation), not discovery.
    task: Literal["discover", "discontinue"] = "discover"


class HydrateMessage(ApihubModel):
    model_config = ConfigDict(extra="forbid")

    v: int = 1
    job_id: str = Field(min_length=1, max_length=64)
    skus: list[str] = Field(min_length=1, max_length=100)
