"""The README's tour runs as written."""

import re
from pathlib import Path


def test_readme_tour_runs():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["fit"].gamma < 1.0
    assert float(namespace["ds"].capacity[-1]) > 40.0  # Ah/m^2, LG M50 at 1C
