"""Every ``docs/physics.md §N`` cited in the package names a section that exists, and
nothing cites a physics file outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHYSICS = ROOT / "docs" / "physics.md"


def _sections() -> set[str]:
    out = set()
    for line in PHYSICS.read_text().splitlines():
        m = re.match(r"#{2,3} (\d+(?:\.\d+)?)\.? ", line)
        if m:
            out.add(m.group(1))
    return out


def test_cited_sections_exist():
    sections = _sections()
    assert {"1", "1.4", "4.1", "7"} <= sections
    bad = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        text = path.read_text()
        for m in re.finditer(r"physics\.md\s+((?:§\s*[\d.]+(?:,?\s*(?:and\s+)?)?)+)", text):
            for num in re.findall(r"§\s*(\d+(?:\.\d+)?)", m.group(1)):
                if num not in sections:
                    bad.append(f"{path.relative_to(ROOT)}: §{num}")
    assert not bad, "citations of missing docs/physics.md sections:\n" + "\n".join(bad)


def test_no_citation_of_files_outside_the_repository():
    bad = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "src").rglob("*.py"))
        if "PHYSICS.md" in p.read_text()
    ]
    assert not bad, f"modules citing PHYSICS.md (not in the repository): {bad}"
