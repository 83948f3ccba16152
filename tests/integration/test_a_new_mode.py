"""Adding a mode is one row: a throwaway row added to the table before the layer is imported (in a
fresh interpreter, ``throwaway_mode``) is picked up by the API, the job path, the supplier's fields,
the scheduler and the CLI (``throwaway_mode_checks.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_throwaway_mode_row_is_picked_up_everywhere() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-p",
            "tests.integration.throwaway_mode",
            "-q",
            "tests/integration/throwaway_mode_checks.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout
