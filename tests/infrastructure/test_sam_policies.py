"""The IAM statements SAM generates from the policy templates name their resources (no ``*`` on data
actions). SAM's translator lives in the tools venv (``make template`` installs it, before the tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS_PY = ROOT / ".venv-tools" / "bin" / "python"


@pytest.mark.skipif(not TOOLS_PY.exists(), reason="run `make template` first (it installs the SAM translator)")
def test_generated_iam_statements_name_their_resources() -> None:
    proc = subprocess.run(
        [str(TOOLS_PY), str(ROOT / "tests/infrastructure/sam_policies.py"), str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    roles = int(proc.stdout.split()[0])
    assert roles >= 20, proc.stdout  # one role per function at least: the transform really ran
