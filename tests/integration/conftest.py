"""Integration-test set-up that must run before the test modules are imported."""

import pytest

# The shared pipeline scenarios assert in a helper module: rewrite it so failures show the values.
pytest.register_assert_rewrite("tests.integration.pipeline_support")
