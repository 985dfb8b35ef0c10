"""Shared fixtures: the sample data folder and small synthetic networks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real sample data named by $LIFECIRCLE_DATA; skips with a reason when unset."""
    value = os.environ.get("LIFECIRCLE_DATA")
    if not value:
        pytest.skip("LIFECIRCLE_DATA is not set: real-data test skipped (CI sets ../shared/data)")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"LIFECIRCLE_DATA={value} is not a folder")
    return path


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES
