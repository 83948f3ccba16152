"""Powertools' SQS batch processing (``BatchProcessor``, partial responses), for the queue functions.

Imported from here rather than from Powertools directly: Powertools' ``utilities.batch.types``
imports its parser's pydantic event models (SQS, DynamoDB, Kinesis, Kafka, CloudWatch...) whenever
pydantic is already loaded, to spell a type alias, and building them cost about 23 ms of every
discover and hydrate cold start (docs/benchmarks.md, "Cold imports"). We pass no ``model`` to the
processor, so we take the path Powertools takes when pydantic is not installed (``BatchTypeModels``
is then a string placeholder, which it supports): pydantic is hidden from ``sys.modules`` while the
batch modules load, none of which import pydantic themselves. The global import lock is held
meanwhile, so that a thread of the local stack importing pydantic then waits instead of loading a
second copy. ``tests/unit/test_cold_imports.py`` checks the parser models stay out.
"""

from __future__ import annotations

import _imp
import sys

_imp.acquire_lock()
_pydantic = sys.modules.pop("pydantic", None)
try:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
finally:
    if _pydantic is not None:
        sys.modules["pydantic"] = _pydantic
    _imp.release_lock()

__all__ = ["BatchProcessor", "EventType", "PartialItemFailureResponse", "SQSRecord", "process_partial_response"]
