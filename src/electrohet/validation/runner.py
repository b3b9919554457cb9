"""Run the scoreboard: every case, its statuses, the report files."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from electrohet.outputs import json_text, jsonable
from electrohet.validation.core import STATUSES, Case, Measurement, status_of
from electrohet.validation.provenance import seen_by


@dataclass
class Row:
    """One scored claim."""

    case: str
    claim_id: str
    paper: str
    place: str
    wording: str
    paper_value: str
    rule: str
    model_value: str | None
    status: str
    detail: str = ""
    value: Any = None


@dataclass
class Scoreboard:
    """All rows, with the settings of the run."""

    rows: list[Row]
    quick: bool
    seconds: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {s: sum(r.status == s for r in self.rows) for s in STATUSES}


def run_cases(cases: list[Case], quick: bool, out: Path, progress: bool = False) -> Scoreboard:
    """Run ``cases`` and score every claim.

    A case that raises is reported as "not reproduced" for each of its claims, with the
    error in the detail column (the scoreboard never hides a failure).
    """
    rows: list[Row] = []
    secs: dict[str, float] = {}
    out.mkdir(parents=True, exist_ok=True)
    for case in cases:
        if progress:
            print(f"[validate] {case.id}: {case.title}", flush=True)
        seen = seen_by(case.uses)
        t0 = time.perf_counter()
        try:
            ms = case.run(quick, out)
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            msg = f"run failed: {type(exc).__name__}: {exc}"
            ms = {c.id: Measurement("failed", False, msg) for c in case.claims}
        secs[case.id] = time.perf_counter() - t0
        for c in case.claims:
            m = ms.get(c.id, Measurement(None, None, "no measurement returned"))
            rows.append(
                Row(
                    case.id,
                    c.id,
                    c.paper,
                    c.place,
                    c.wording,
                    c.paper_value,
                    c.rule,
                    m.model_value,
                    status_of(c, m, seen),
                    m.detail,
                    jsonable(m.value),
                )
            )
    return Scoreboard(rows, quick, secs)


def to_json(board: Scoreboard) -> str:
    """The scoreboard as JSON (valid: no NaN)."""
    payload = {
        "quick": board.quick,
        "counts": board.counts(),
        "seconds": {k: round(v, 1) for k, v in board.seconds.items()},
        "rows": [vars(r) for r in board.rows],
    }
    return json_text(payload) + "\n"


def to_markdown(board: Scoreboard) -> str:
    """The scoreboard as a Markdown report (table plus details)."""
    c = board.counts()
    lines = [
        "# electrohet validation scoreboard",
        "",
        f"Set: {'quick (reduced samples/meshes; structure check)' if board.quick else 'full'}.",
        "Statuses: " + ", ".join(f"{k}: {v}" for k, v in c.items()) + ".",
        "",
        "*calibrated* = a fit target of a frozen calibration the case uses; *predicted* = "
        "seen by no fit, prior or default the case uses, and agreeing by the rule stated "
        "before the run; *not reproduced* = as predicted but disagreeing; *not run* = "
        "needs data or a model electrohet does not have.",
        "",
        "| claim | paper | where | paper's value | ours | status |",
        "|---|---|---|---|---|---|",
    ]
    for r in board.rows:
        ours = (r.model_value or "-").replace("|", "/")
        lines.append(
            f"| `{r.claim_id}` | {r.paper} | {r.place} | {r.paper_value.replace('|', '/')} "
            f"| {ours} | **{r.status}** |"
        )
    lines += ["", "## Details", ""]
    for r in board.rows:
        lines += [
            f"### `{r.claim_id}` ({r.status})",
            "",
            f'- paper ({r.place}): "{r.wording}"',
            f"- rule: {r.rule}",
            f"- ours: {r.model_value or '-'}",
        ]
        if r.detail:
            lines.append(f"- notes: {r.detail}")
        lines.append("")
    lines.append("Run times [s]: " + ", ".join(f"{k} {v:.0f}" for k, v in board.seconds.items()))
    return "\n".join(lines) + "\n"


def to_text_table(board: Scoreboard, width: int = 140) -> str:
    """The table for the terminal (rich, no colour)."""
    import io

    from rich import box
    from rich.console import Console
    from rich.table import Table

    tab = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="electrohet validate")
    for h in ("claim", "paper's value", "ours", "status"):
        tab.add_column(h, overflow="fold")
    for r in board.rows:
        tab.add_row(r.claim_id, r.paper_value, r.model_value or "-", r.status)
    buf = io.StringIO()
    con = Console(file=buf, width=width, no_color=True, highlight=False, emoji=False)
    con.print(tab)
    con.print(", ".join(f"{k}: {v}" for k, v in board.counts().items()))
    return buf.getvalue()
