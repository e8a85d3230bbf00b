from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.environment",
    "tests.fixtures.corpus",
    "tests.fixtures.pdfs",
    "tests.fixtures.servers",
    "tests.fixtures.browser",
]
