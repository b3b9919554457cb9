"""The Yari 2020 bilayer designs: one- and two-layer NMC622 electrodes by carbon content.

Yari et al. 2020 (Table 1) coat the same total NMC622 loading as one layer of 2.5 wt%
carbon or as two layers whose carbon contents differ (1/4, 4/1, 1.5/3.5, ... wt%), the
active material split between them by ``am_share_bottom``.  :class:`LayerDesign` is one
such design (the bottom layer touches the current collector); :func:`yari2020_designs`
is the paper's catalogue, read from ``design/data/yari2020_bilayers.csv``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from importlib import resources

import pandas as pd

from electrohet.design.formulation import heterogeneity_factor

__all__ = ["BINDER_MASS_FRACTION", "LayerDesign", "yari2020_designs"]

#: PVDF binder mass fraction of every Yari 2020 layer [-] (the rest is NMC622 + carbon).
BINDER_MASS_FRACTION = 0.035


@dataclass(frozen=True)
class LayerDesign:
    """A one- or two-layer design: carbon fractions bottom/top and the AM share below.

    Attributes
    ----------
    name
        Key of the design (run files, table rows, the reference).
    fc_bottom
        Carbon mass fraction of the layer at the current collector [-].
    fc_top
        Carbon mass fraction of the layer at the separator [-]; ``None`` = one layer.
    am_share_bottom
        Share of the active material loading in the bottom layer [-].
    paper_label
        Yari 2020's label (constructive / destructive / same / single_layer).
    """

    name: str
    fc_bottom: float
    fc_top: float | None = None
    am_share_bottom: float = 0.5
    paper_label: str = ""

    @property
    def layered(self) -> bool:
        """Whether the two layers differ (a bilayer)."""
        return self.fc_top is not None and self.fc_top != self.fc_bottom

    @property
    def delta(self) -> float:
        """Heterogeneity factor of the carbon distribution [-] (0 for one layer)."""
        if not self.layered:
            return 0.0
        assert self.fc_top is not None
        # solid loadings are proportional to AM loading / AM mass fraction
        wb = self.am_share_bottom / (1 - self.fc_bottom - BINDER_MASS_FRACTION)
        wt = (1 - self.am_share_bottom) / (1 - self.fc_top - BINDER_MASS_FRACTION)
        return heterogeneity_factor([wb, wt], [self.fc_bottom, self.fc_top])


def yari2020_designs() -> list[LayerDesign]:
    """The single layer and six bilayers of Yari 2020 Table 1 (paper's labels)."""
    text = resources.files("electrohet.design").joinpath("data/yari2020_bilayers.csv").read_text()
    rows = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    df = pd.read_csv(io.StringIO("\n".join(rows)))
    out = []
    for r in df.to_dict("records"):
        single = r["fc_bottom"] == r["fc_top"]
        name = "single" if single else f"{100 * r['fc_bottom']:g}/{100 * r['fc_top']:g}"
        fc_top = None if single else float(r["fc_top"])
        out.append(
            LayerDesign(
                name, float(r["fc_bottom"]), fc_top, float(r["am_share_bottom"]), str(r["class"])
            )
        )
    return out
