"""Skip the slow aging validation unless asked for (``-m slow`` or ``--runslow``), also
when only tests/aging is collected."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "slow" in (config.getoption("-m", default="") or "") or getattr(
        config.option, "runslow", False
    ):
        return
    skip = pytest.mark.skip(reason="slow aging validation: run with -m slow")
    for item in items:
        if "slow" in item.keywords and "tests/aging" in item.nodeid.replace("\\", "/"):
            item.add_marker(skip)
