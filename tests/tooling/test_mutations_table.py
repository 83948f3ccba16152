"""The mutation suite's table (``apihub_verify.mutations``) stays true to the code it mutates."""

from __future__ import annotations

from apihub_verify.mutations import MUTATIONS, problems


def test_every_guard_of_the_mutation_suite_is_still_in_the_code_with_its_test() -> None:
    # A guard moved or renamed without its row would silently stop being checked by make verify
    assert problems() == []
    assert len(MUTATIONS) >= 8
