from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.environment",
    "tests.fixtures.corpus",
    "tests.fixtures.pdfs",
    "tests.fixtures.documents",
    "tests.fixtures.servers",
    "tests.fixtures.browser",
    "tests.fixtures.milvus",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the bundled-corpus index (about a minute to build) are ``slow``, so that
    ``python -m pytest -m "not slow"`` is a fast lane for development; CI runs everything."""
    for item in items:
        if "bundled_index" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
