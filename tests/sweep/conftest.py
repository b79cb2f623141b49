"""Fixtures of the sweep tests."""

import pytest
from sweep_helpers import TINY


@pytest.fixture
def tiny(tmp_path):
    """A sweep file of 4 tiny compare points (init x lr, 2 seeds each)."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path
