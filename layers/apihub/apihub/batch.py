"""Powertools' SQS batch processing (``BatchProcessor``, partial responses), for the queue functions.

Imported from here rather than from Powertools directly: Powertools' ``utilities.batch.types``
imports its parser's pydantic event models (SQS, DynamoDB, Kinesis, Kafka, CloudWatch...) whenever
pydantic is already loaded, to spell a type alias, and building them would weigh on every discover
and hydrate cold start (docs/benchmarks.md, "Cold imports"). We pass no ``model`` to the
processor, so we take the path Powertools takes when pydantic is not installed (``BatchTypeModels``
is then a string placeholder, which it supports): pydantic is hidden from ``sys.modules`` while the
batch modules load, none of which import pydantic themselves. (A thread of the local stack that
imported pydantic in that moment would run its package ``__init__`` again, whose names resolve to
the same, already loaded submodules: harmless, where holding the global import lock could
deadlock with a thread importing Powertools.) ``tests/unit/test_cold_imports.py`` checks the parser
models stay out.
"""

from __future__ import annotations

import sys

_pydantic = sys.modules.pop("pydantic", None)
try:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
finally:
    if _pydantic is not None:
        sys.modules["pydantic"] = _pydantic

__all__ = ["BatchProcessor", "EventType", "PartialItemFailureResponse", "SQSRecord", "process_partial_response"]
