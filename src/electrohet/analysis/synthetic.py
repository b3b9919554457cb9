"""Synthetic operando images with a known truth (tests, benchmarks, model comparison).

* :func:`disc_labels` - a label image of non-overlapping disc "particles";
* :func:`switch_traces` - logistic switch traces with given onsets and widths;
* :func:`render_stack` - an image stack whose particles follow given traces, with
  Gaussian pixel noise.
"""

from __future__ import annotations

import numpy as np

from electrohet.errors import ParameterError

__all__ = ["disc_labels", "switch_traces", "render_stack"]


def disc_labels(
    shape: tuple[int, int],
    n: int,
    radius: float,
    rng: np.random.Generator | int | None = None,
    *,
    gap: float = 2.0,
    max_tries: int = 100000,
) -> np.ndarray:
    """Label image with ``n`` non-overlapping discs of ``radius`` pixels (1..n)."""
    gen = np.random.default_rng(rng)
    h, w = shape
    centers: list[tuple[float, float]] = []
    tries = 0
    while len(centers) < n:
        tries += 1
        if tries > max_tries:
            raise ParameterError(
                f"disc_labels: cannot place {n} discs of radius {radius} in {shape}"
            )
        cy = gen.uniform(radius + 1, h - radius - 1)
        cx = gen.uniform(radius + 1, w - radius - 1)
        if all((cy - y) ** 2 + (cx - x) ** 2 > (2 * radius + gap) ** 2 for y, x in centers):
            centers.append((cy, cx))
    lab = np.zeros(shape, dtype=np.int32)
    yy, xx = np.mgrid[0:h, 0:w]
    r = int(np.ceil(radius))
    for k, (cy, cx) in enumerate(centers, start=1):
        y0, y1 = max(int(cy) - r - 1, 0), min(int(cy) + r + 2, h)
        x0, x1 = max(int(cx) - r - 1, 0), min(int(cx) + r + 2, w)
        sub = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 <= radius**2
        lab[y0:y1, x0:x1][sub] = k
    return lab


def switch_traces(x: np.ndarray, onsets: np.ndarray, widths: float | np.ndarray) -> np.ndarray:
    """Logistic switches ``1 / (1 + exp(-(x - onset)/width))``, shape ``(len(x), n)``.

    The 50 % crossing is exactly ``onset``.
    """
    xv = np.asarray(x, dtype=float)[:, None]
    o = np.asarray(onsets, dtype=float)[None, :]
    w = np.broadcast_to(np.asarray(widths, dtype=float), o.shape[1:])[None, :]
    return 1.0 / (1.0 + np.exp(-(xv - o) / w))


def render_stack(
    traces: np.ndarray,
    labels: np.ndarray,
    *,
    background: float = 100.0,
    base: float = 400.0,
    amplitude: float = 300.0,
    noise: float = 20.0,
    rng: np.random.Generator | int | None = None,
    dtype: type = np.float32,
) -> np.ndarray:
    """Image stack in which particle ``k`` (label k) has intensity ``base + amplitude * trace``.

    Parameters
    ----------
    traces
        ``(n_frames, n_particles)`` signals, column ``k - 1`` for label ``k``.
    labels
        Label image (0 = background).
    background, base, amplitude
        Intensities (counts).
    noise
        SD of independent Gaussian pixel noise (counts).
    """
    gen = np.random.default_rng(rng)
    tr = np.asarray(traces, dtype=np.float32)
    nt = tr.shape[0]
    lut = np.empty((nt, tr.shape[1] + 1), dtype=np.float32)
    lut[:, 0] = background
    lut[:, 1:] = base + amplitude * tr
    stack = np.empty((nt, *labels.shape), dtype=dtype)
    for k in range(nt):
        frame = lut[k][labels]
        if noise > 0:
            frame = frame + gen.standard_normal(labels.shape, dtype=np.float32) * noise
        stack[k] = frame
    return stack
