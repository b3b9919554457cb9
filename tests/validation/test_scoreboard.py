"""The scoreboard's procedure: statuses from provenance, reports, CLI (no model runs
except the quick set, which checks structure, never values)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from electrohet.validation import Case, Claim, Measurement, run_cases, to_json, to_markdown
from electrohet.validation.cases import all_cases
from electrohet.validation.core import STATUSES, status_of

C1 = Claim("toy.a", "Toy 2020", "Fig. 1", "a is 1", "1", "within 0.1")
C2 = Claim("toy.b", "Toy 2020", "Fig. 2", "b is 2", "2", "within 0.1")
C3 = Claim("toy.c", "Toy 2020", "Fig. 3", "c needs data", "3", "-")


def _toy_case(uses=(), fail=False):
    def run(quick: bool, out: Path):
        if fail:
            raise RuntimeError("boom")
        return {
            "toy.a": Measurement("1.05", True, "ok", 1.05),
            "toy.b": Measurement("2.5", False, "off", float("nan")),
            "toy.c": Measurement(None, None, "no data"),
        }

    return Case("toy", "toy case", (C1, C2, C3), uses, run)


def test_status_rule():
    m_ok, m_bad = Measurement("1", True), Measurement("9", False)
    assert status_of(C1, m_ok, set()) == "predicted"
    assert status_of(C1, m_bad, set()) == "not reproduced"
    # a claim seen by an input is calibrated whatever the agreement
    assert status_of(C1, m_bad, {"toy.a"}) == "calibrated"
    assert status_of(C1, Measurement(None, None), {"toy.a"}) == "not run"


def test_runner_scores_and_reports(tmp_path, monkeypatch):
    from electrohet.validation import provenance

    board = run_cases([_toy_case()], quick=True, out=tmp_path)
    st = {r.claim_id: r.status for r in board.rows}
    assert st == {"toy.a": "predicted", "toy.b": "not reproduced", "toy.c": "not run"}
    # a default chosen from toy.a makes it calibrated
    monkeypatch.setitem(
        provenance.DEFAULTS,
        "toy_default",
        provenance.Default("toy_default", "x", "1", "tuned on a", ("toy.a",)),
    )
    board = run_cases([_toy_case(("default:toy_default",))], quick=True, out=tmp_path)
    assert {r.claim_id: r.status for r in board.rows}["toy.a"] == "calibrated"
    # JSON is valid (NaN -> null) and the Markdown lists every claim
    payload = json.loads(to_json(board))
    assert payload["counts"]["calibrated"] == 1
    assert [r["value"] for r in payload["rows"]][1] is None
    md = to_markdown(board)
    assert all(f"`{c}`" in md for c in ("toy.a", "toy.b", "toy.c"))


def test_a_failing_case_is_reported_not_hidden(tmp_path):
    board = run_cases([_toy_case(fail=True)], quick=True, out=tmp_path)
    assert {r.status for r in board.rows} == {"not reproduced"}
    assert all("boom" in r.detail for r in board.rows)


def test_registry_claims_are_unique_and_complete():
    ids = [c.id for case in all_cases() for c in case.claims]
    assert len(ids) == len(set(ids))
    papers = {c.paper for case in all_cases() for c in case.claims}
    assert {"Yari 2020", "Sharma 2022", "Zhang 2023", "Lin 2021", "Kroeger"} <= papers
    for case in all_cases():
        for c in case.claims:
            assert c.wording and c.place and c.paper_value and c.rule


def test_cli_refuses_unknown_case_and_existing_report(tmp_path, capsys):
    from electrohet.cli import main

    assert main(["validate", "--out", str(tmp_path), "--case", "nope", "--quiet"]) == 2
    assert "unknown case" in capsys.readouterr().err
    (tmp_path / "scoreboard.md").write_text("old")
    assert main(["validate", "--out", str(tmp_path), "--case", "lin2021_sampling"]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_cli_writes_the_scoreboard(tmp_path, capsys):
    from electrohet.cli import main

    out = tmp_path / "v"
    assert main(["validate", "--out", str(out), "--case", "lin2021_sampling", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "lin2021.few_clusters_biased" in printed and "not run" in printed
    payload = json.loads((out / "scoreboard.json").read_text())
    assert payload["rows"][0]["status"] == "not run"
    assert set(payload["counts"]) == set(STATUSES)


@pytest.mark.slow
def test_full_scoreboard(tmp_path):
    """The full set (<= 30 min on 2 cores): every claim scored, nothing crashed."""
    from electrohet.validation import validate

    board = validate(quick=False, out=tmp_path)
    assert all(r.model_value != "failed" for r in board.rows), [
        (r.claim_id, r.detail) for r in board.rows if r.model_value == "failed"
    ]
    assert (tmp_path / "scoreboard.md").is_file()


def test_quick_scoreboard_runs_every_case(tmp_path):
    """The quick set (cheap settings) runs every case end to end: every claim gets a
    row with a status, no case crashes, the reports are written.  Structure only: the
    quick values are not the results and are not asserted."""
    from electrohet.validation import validate

    board = validate(quick=True, out=tmp_path)
    ids = {c.id for case in all_cases() for c in case.claims}
    assert {r.claim_id for r in board.rows} == ids
    crashed = [(r.claim_id, r.detail) for r in board.rows if r.model_value == "failed"]
    assert not crashed
    assert all(r.status in STATUSES for r in board.rows)
    payload = json.loads((tmp_path / "scoreboard.json").read_text())
    assert payload["quick"] is True and len(payload["rows"]) == len(ids)
