"""Issue 16: the first request after a cold start makes one DynamoDB client per container, not one
per PynamoDB model (each would build a botocore session and client: tens of ms of CPU each)."""

from __future__ import annotations

from typing import Any

import botocore.session
from apihub.dal.jobs import JobsRepository
from apihub.dal.tables import OutcomeItem, ProductItem, SupplierItem, TokenItem, reset_bindings
from apihub.dal.tokens import TokensRepository


def test_every_model_shares_one_dynamodb_client(hub, monkeypatch) -> None:
    # Given a fresh container (no table bound yet) that counts the botocore clients it makes
    reset_bindings()
    made: list[str] = []
    create = botocore.session.Session.create_client

    def counting(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        made.append(service_name)
        return create(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", counting)
    # When requests use four models on three tables, and a transaction
    TokensRepository().create("admin", name="t")
    jobs = JobsRepository()
    assert jobs.find_item("no-such-job") is None
    list(SupplierItem.scan(limit=1))
    assert ProductItem.count("no-such-supplier") == 0
    assert jobs.recorded_skus("no-such-job", ["a"]) == set()
    # Then one DynamoDB client served them all
    assert made.count("dynamodb") == 1
    clients = {
        id(model._get_connection().connection.client) for model in (TokenItem, SupplierItem, ProductItem, OutcomeItem)
    }
    assert len(clients) == 1
