"""Botocore event handlers on every session of this process: the ones that exist and the ones made later.

boto3 and PynamoDB each make their own botocore sessions (PynamoDB one per connection); a handler
registered on one session misses the others. Botocore has no process-wide registration, so new
sessions get the handlers as they are made (``Session.__init__`` wrapped) and boto3's default
session, if already made, gets them now. Used by the bench's cost meter (``apihub_bench.cost``) and
the IAM check's recorder (``apihub_local.aws_calls``).
"""

from __future__ import annotations

from collections.abc import Callable

import botocore.session


def on_every_session(hook: Callable[[botocore.session.Session], None]) -> Callable[[], None]:
    """Call ``hook(session)`` for boto3's default session and every session made from now on;
    returns the function that stops it for new sessions."""
    original = botocore.session.Session.__init__

    def init(session: botocore.session.Session, *args: object, **kwargs: object) -> None:
        original(session, *args, **kwargs)  # type: ignore[arg-type]  # passed through as given
        hook(session)

    botocore.session.Session.__init__ = init  # type: ignore[method-assign,assignment]  # a deliberate monkeypatch
    import boto3

    if boto3.DEFAULT_SESSION is not None:
        hook(boto3.DEFAULT_SESSION._session)
    return lambda: setattr(botocore.session.Session, "__init__", original)
