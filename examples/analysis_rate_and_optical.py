"""Example: Peukert fit + design verdict, and an optical asynchrony check, on synthetic data.

Run: ``PYTHONPATH=src python examples/analysis_rate_and_optical.py``
"""

from __future__ import annotations

import numpy as np

from electrohet.analysis.optical import analyze_traces
from electrohet.analysis.rate_capability import compare_designs, fit_peukert, layer_utilization
from electrohet.analysis.synthetic import switch_traces

rng = np.random.default_rng(0)
rates = np.repeat([0.5, 1.0, 2.0, 3.0], 3)  # C, three cells per rate
# energy (Wh/g-ish) of a homogeneous electrode and of a carbon-rich-bottom bilayer
reference = fit_peukert(rates, 0.60 * rates**-0.20 * np.exp(rng.normal(0, 0.01, rates.size)))
graded = fit_peukert(rates, 0.60 * rates**-0.14 * np.exp(rng.normal(0, 0.01, rates.size)))
for name, f in (("single layer", reference), ("bilayer 0.04/0.01", graded)):
    print(f"{name:18s} gamma = {f.gamma:.3f}  95 % CI {f.gamma_ci[0]:.3f}-{f.gamma_ci[1]:.3f}")
print("verdict:", compare_designs(graded, reference))

u = layer_utilization(150.0, 140.0, 160.0, 0.484, 0.516, q_total_se=1.5, q1_se=1.5, q2_se=1.5)
print(f"u2 = {u.u2:.3f} ± {u.u2_se:.3f}, psi = {u.psi:.3f} ± {u.psi_se:.3f}")

t = np.linspace(0, 20, 200)  # h, a C/20 first charge
first = analyze_traces(switch_traces(t, rng.uniform(3, 15, 14), 0.2), t, label="charge 1")
second = analyze_traces(switch_traces(t, rng.normal(10, 0.3, 14), 4.0), t, label="charge 2")
for r in (first, second):
    print(f"{r.label}: {r.verdict} (onset IQR {r.onset_iqr:.2f} h)")
