"""Suite-wide options: ``@pytest.mark.slow`` tests (long validation runs) are skipped
unless asked for with ``-m slow``, ``--runslow`` or ``ELECTROHET_RUNSLOW=1``."""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow", action="store_true", default=False, help="also run @pytest.mark.slow tests"
    )


def _run_slow(config: pytest.Config) -> bool:
    if os.environ.get("ELECTROHET_RUNSLOW") == "1" or config.getoption("--runslow"):
        return True
    return "slow" in (config.getoption("-m", default="") or "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _run_slow(config):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow, --runslow or ELECTROHET_RUNSLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
