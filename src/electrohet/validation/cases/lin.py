"""Lin 2021 (statistics viewpoint): a qualitative claim, scored "not run" with the reason."""

from __future__ import annotations

from pathlib import Path

from electrohet.validation.core import Case, Claim, Measurement

CLAIMS = (
    Claim(
        "lin2021.few_clusters_biased",
        "Lin 2021",
        "Fig. 2, text",
        "clusters of a few particles ~100 um apart show distinct degrees of damage; "
        "conclusions from one particle or a few clusters are biased",
        "qualitative (no numbers)",
        "needs per-particle damage data with cluster labels",
    ),
)


def run(quick: bool, out: Path) -> dict[str, Measurement]:
    return {
        "lin2021.few_clusters_biased": Measurement(
            None,
            None,
            "a viewpoint without numbers to compare; electrohet.analysis.sampling "
            "(cluster_summary: design effect 1 + (m - 1) ICC) is the tool for it and is "
            "tested against analytic binomial and cluster formulas",
        )
    }


CASE = Case("lin2021_sampling", "Lin 2021: sampling representativeness", CLAIMS, (), run)
