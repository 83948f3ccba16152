"""The stack's tables on an in-process moto, without the functions, queues and pollers the
``hub`` fixture starts: what ``apihub.inventory`` and ``apihub.dal.inventory`` read and write."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto import mock_aws


@pytest.fixture
def tables(aws_credentials: None) -> Iterator[None]:
    from apihub_local.harness import reset_process_state
    from apihub_local.resources import create_stack

    saved = dict(os.environ)
    with mock_aws():
        os.environ.update(create_stack().environment)
        reset_process_state()
        yield
    os.environ.clear()
    os.environ.update(saved)
    reset_process_state()
