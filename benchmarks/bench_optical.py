"""Time the operando optical analysis on a 200-frame 512 x 512 stack with 50 particles.

Run: ``PYTHONPATH=src python benchmarks/bench_optical.py``. Prints the time of each
stage (segmentation, traces, trace analysis) and the total; the target is < 10 s.
The stack is synthetic (``electrohet.analysis.synthetic``) and is generated
outside the timed region. No peer tool does this analysis, so there is no ratio.
"""

from __future__ import annotations

import time

import numpy as np

from electrohet.analysis.optical import analyze_traces, particle_traces, segment_particles
from electrohet.analysis.synthetic import disc_labels, render_stack, switch_traces


def main() -> None:
    rng = np.random.default_rng(0)
    t = np.linspace(0, 20, 200)
    lab = disc_labels((512, 512), 50, 15, rng)
    onsets = rng.uniform(3, 15, 50)
    stack = render_stack(switch_traces(t, onsets, 0.15), lab, rng=rng)

    t0 = time.perf_counter()
    seg = segment_particles(stack)
    t1 = time.perf_counter()
    traces, ids = particle_traces(stack, seg)
    t2 = time.perf_counter()
    res = analyze_traces(traces, t, ids=ids, label="charge 1")
    t3 = time.perf_counter()

    print(f"stack {stack.shape} {stack.dtype}, {seg.max()} particles found")
    print(f"segmentation   {t1 - t0:6.3f} s")
    print(f"traces         {t2 - t1:6.3f} s")
    print(f"trace analysis {t3 - t2:6.3f} s")
    print(f"total          {t3 - t0:6.3f} s (target < 10 s)")
    print(f"verdict: {res.verdict}, onset IQR {res.onset_iqr:.2f} h")


if __name__ == "__main__":
    main()
