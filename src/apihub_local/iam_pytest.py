"""The IAM check in every test session (docs/iam.md), called from tests/conftest.py's hooks.

``configure``: each process of the session (the controller and every pytest-xdist worker) records
the AWS calls of the functions it runs (``apihub_local.aws_calls``) into one directory per session;
local stacks started by e2e tests inherit it through ``APIHUB_RECORD_AWS_CALLS``.
``sessionfinish`` (controller only, once every worker is done): the calls are checked against the
roles SAM makes of template.yaml. The session fails, naming function, action and resource, for any
call a role does not allow; it also fails if the check itself has no teeth: with ``Policies``
removed from the functions that read tables, each of those that made a DynamoDB call must be denied.
The actions the roles allow that no test used go to build/iam/least-privilege.md.
"""

from __future__ import annotations

import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from apihub_local.aws_calls import ENV, Call, load_calls, record_to
from apihub_local.iam_check import BUILD, Result, evaluate, reads_tables, report, without_policies
from apihub_local.template import load_template

REPORT = BUILD / "least-privilege.md"
_summary: list[str] = []


def configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        directory = BUILD / "calls" / str(os.getpid())
        shutil.rmtree(directory, ignore_errors=True)
        os.environ[ENV] = str(directory)
        config.stash[_DIRECTORY] = directory
    record_to(Path(os.environ[ENV]))


_DIRECTORY = pytest.StashKey[Path]()


def sessionfinish(session: pytest.Session) -> None:
    directory = session.config.stash.get(_DIRECTORY, None)
    if directory is None or not directory.exists():
        return
    calls = load_calls(directory)
    last = BUILD / "last-calls"  # the last session's calls: `python -m apihub_local.iam_check build/iam/last-calls`
    shutil.rmtree(last, ignore_errors=True)
    directory.replace(last)
    if not calls:
        return
    try:
        result, stripped = _check(calls)
    except FileNotFoundError as exc:  # no tools venv: `make test` makes it (`make template`) first
        _summary.append(f"IAM check not run: {exc}")
        if os.environ.get("CI"):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    command = "pytest " + " ".join(sys.argv[1:])
    REPORT.write_text(report(result, calls, command.strip()))
    toothless = sorted(
        {c.function for c in calls if c.action.startswith("dynamodb:")}
        & set(reads_tables(load_template())) - {r.call.function for r in stripped.denied}
    )
    _summary.append(
        f"IAM check: {len(calls)} distinct AWS calls of {len({c.function for c in calls})} functions, "
        f"{len(result.denied)} denied by their roles; unused grants in {REPORT.relative_to(BUILD.parents[1])}"
    )
    _summary.extend(f"IAM denies {request}" for request in result.denied)
    _summary.extend(f"IAM check has no teeth: {f} still allowed its table calls without Policies" for f in toothless)
    if result.denied or toothless:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _check(calls: set[Call]) -> tuple[Result, Result]:
    """The template's roles, and the same with the table readers' ``Policies`` removed (both
    expansions at once: each is a few seconds of SAM's translator, the first cached by hash)."""
    template = load_template()
    stripped = without_policies(template, reads_tables(template))
    with ThreadPoolExecutor(2) as pool:
        real = pool.submit(evaluate, calls, template)
        bare = pool.submit(evaluate, calls, stripped)
        return real.result(), bare.result()


def summary(terminalreporter: Any) -> None:
    for line in _summary:
        terminalreporter.write_line(line, red=line.startswith("IAM denies") or "no teeth" in line)
