"""Compare voltage curves (model vs model, model vs measurement)."""

from __future__ import annotations

import numpy as np


def rms_voltage_difference(t_a, v_a, t_b, v_b, n: int = 2000, exclude_end: float = 0.0) -> float:
    """RMS of V_a - V_b [V] on ``n`` uniform times over the common time span [s].

    A uniform grid weights every second of the curves equally.  ``exclude_end`` drops
    that fraction of the common span at its end: at a voltage cut-off the curve is
    near-vertical, so two solutions ending 0.03 % apart in time differ there by hundreds
    of mV at an instant; that timing is better judged by the delivered capacity.
    """
    t_end = min(float(t_a[-1]), float(t_b[-1]))
    t_end -= exclude_end * (t_end - float(max(t_a[0], t_b[0])))
    tt = np.linspace(float(max(t_a[0], t_b[0])), t_end, n)
    d = np.interp(tt, t_a, v_a) - np.interp(tt, t_b, v_b)
    return float(np.sqrt(np.mean(d * d)))
