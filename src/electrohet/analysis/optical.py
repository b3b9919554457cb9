"""Operando optical intensity traces per particle (Sharma 2022, asynchronous charging).

From an image stack (frames x height x width) and a particle label image, the mean
intensity of every particle in every frame is a *trace*. Per (dis)charge segment,
each trace is normalised to its own change (first frames = 0, last frames = 1;
NMC reflectance rises on delithiation, so both directions are handled) and
characterised by

* **onset**: the time (or cell SOC) where the smoothed normalised trace first
  crosses 0.5 (linear interpolation between frames);
* **step-likeness**: maximum slope / mean slope of the normalised trace (1 for a
  linear ramp, large for an abrupt switch);
* **asynchrony**: the interquartile range (IQR) of the onsets over particles, with
  a bootstrap confidence interval (resampling particles).

Verdict (documented threshold): a segment is **asynchronous** when the onset IQR
exceeds ``spread_threshold`` (default 0.10) of the segment's span in ``x`` (time
or SOC), else **synchronous**. Sharma's first charge spreads onsets over hours of
a 20 h charge (IQR ~ 0.2-0.3 of the span); their later, gradual charges put all
50 % crossings within a few % of each other. ``verdict_confident`` tells whether
the whole CI of the IQR lies on the same side of the threshold.

Particles whose change is not larger than ``min_change_snr`` times their frame
noise are *unchanged* (onset NaN); they are counted, never dropped silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from electrohet.errors import DataError, ParameterError

__all__ = [
    "read_stack",
    "read_labels",
    "segment_particles",
    "particle_traces",
    "TraceAnalysis",
    "analyze_traces",
    "plot_traces",
]


def read_stack(path: str | Path | Sequence[str | Path]) -> np.ndarray:
    """Read an image stack: a multi-page TIFF, a directory of TIFFs, or a list of files.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_frames, height, width)``, the file's dtype.

    Raises
    ------
    DataError
        Missing file, unreadable TIFF, frames that differ in shape (the message
        names the file and the first offending frame), or fewer than 2 frames.
    """
    import tifffile

    if isinstance(path, str | Path) and Path(path).is_dir():
        files = sorted(p for p in Path(path).iterdir() if p.suffix.lower() in (".tif", ".tiff"))
        if not files:
            raise DataError(f"{path}: directory holds no .tif/.tiff files")
        return _stack_from_files(files, str(path))
    if not isinstance(path, str | Path):
        return _stack_from_files([Path(p) for p in path], "stack")
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    try:
        with tifffile.TiffFile(p) as tf:
            pages = tf.pages
            shape0 = pages[0].shape
            for k, page in enumerate(pages):
                if page.shape != shape0:
                    raise DataError(
                        f"{p}: frames differ in shape: frame 0 is {shape0}, frame {k} is "
                        f"{page.shape}"
                    )
            arr = tf.asarray(key=range(len(pages))) if len(pages) > 1 else pages[0].asarray()
    except DataError:
        raise
    except Exception as exc:  # tifffile raises several types on corrupt files
        raise DataError(f"{p}: cannot read as TIFF ({exc})") from exc
    arr = np.asarray(arr)
    if arr.ndim == 4 and arr.shape[-1] in (3, 4):  # RGB(A): use the luminance
        arr = arr[..., :3].mean(axis=-1)
    if arr.ndim != 3:
        raise DataError(f"{p}: expected a stack of 2D frames, got array of shape {arr.shape}")
    if arr.shape[0] < 2:
        raise DataError(f"{p}: a stack needs at least 2 frames, got {arr.shape[0]}")
    return arr


def _stack_from_files(files: Sequence[Path], name: str) -> np.ndarray:
    import tifffile

    frames = []
    for f in files:
        if not f.is_file():
            raise DataError(f"{f}: file not found")
        try:
            a = np.asarray(tifffile.imread(f))
        except Exception as exc:
            raise DataError(f"{f}: cannot read as TIFF ({exc})") from exc
        if frames and a.shape != frames[0].shape:
            raise DataError(
                f"{name}: frames differ in shape: {files[0]} is {frames[0].shape}, {f} is {a.shape}"
            )
        frames.append(a)
    if len(frames) < 2:
        raise DataError(f"{name}: a stack needs at least 2 frames, got {len(frames)}")
    return np.stack(frames)


def read_labels(path: str | Path) -> np.ndarray:
    """Read a particle label image (TIFF or .npy; 0 = background, 1..N particles)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    try:
        if p.suffix.lower() == ".npy":
            lab = np.load(p, allow_pickle=False)
        else:
            import tifffile

            lab = tifffile.imread(p)
    except Exception as exc:
        raise DataError(f"{p}: cannot read label image ({exc})") from exc
    lab = np.asarray(lab)
    if lab.ndim != 2 or not np.issubdtype(lab.dtype, np.integer):
        raise DataError(
            f"{p}: a label image must be a 2D integer array, got {lab.dtype} {lab.shape}"
        )
    return lab


def segment_particles(
    image: np.ndarray,
    *,
    threshold: float | None = None,
    min_area: int = 20,
    invert: bool = False,
) -> np.ndarray:
    """Find particles by a simple segmentation: threshold, then connected labels.

    Parameters
    ----------
    image
        A 2D image, or a stack (its mean over frames is segmented).
    threshold
        Intensity threshold; default Otsu's.
    min_area
        Components smaller than this (pixels) are discarded.
    invert
        True when particles are darker than the background.

    Returns
    -------
    numpy.ndarray
        Label image (int32), 0 = background, particles numbered 1..N.
    """
    from skimage import filters, measure, morphology

    img = np.asarray(image)
    if img.ndim == 3:
        img = img.mean(axis=0, dtype=np.float64)  # no float64 copy of the whole stack
    img = img.astype(float, copy=False)
    if img.ndim != 2:
        raise DataError(f"segment_particles: expected a 2D image or 3D stack, got {img.shape}")
    thr = float(filters.threshold_otsu(img)) if threshold is None else float(threshold)
    fg = img < thr if invert else img > thr
    fg = morphology.remove_small_objects(fg, max_size=max(min_area - 1, 0))
    lab = measure.label(fg, connectivity=1).astype(np.int32)
    if lab.max() == 0:
        raise DataError(
            f"segment_particles: no particle found (threshold {thr:g}, min_area {min_area})"
        )
    return lab


def particle_traces(
    stack: np.ndarray, labels: np.ndarray, *, source: str = "stack"
) -> tuple[np.ndarray, np.ndarray]:
    """Mean intensity of every labelled particle in every frame.

    Parameters
    ----------
    stack
        ``(n_frames, height, width)``.
    labels
        ``(height, width)`` integer labels, 0 = background.

    Returns
    -------
    traces, ids
        ``traces[k, j]`` mean intensity of particle ``ids[j]`` in frame ``k``.

    Raises
    ------
    DataError
        Shape mismatch, an empty mask (no labelled pixel), or negative labels.
    """
    st = np.asarray(stack)
    lab = np.asarray(labels)
    if st.ndim != 3:
        raise DataError(f"{source}: stack must be 3D (frames, y, x), got shape {st.shape}")
    if lab.shape != st.shape[1:]:
        raise DataError(
            f"{source}: mask shape {lab.shape} does not match the frame shape {st.shape[1:]}"
        )
    if lab.min(initial=0) < 0:
        raise DataError(f"{source}: mask has negative labels")
    flat = lab.ravel()
    sel = np.flatnonzero(flat)
    if sel.size == 0:
        raise DataError(f"{source}: the particle mask is empty (no labelled pixel)")
    ids, inv, counts = np.unique(flat[sel], return_inverse=True, return_counts=True)
    nt = st.shape[0]
    traces = np.empty((nt, ids.size))
    frames = st.reshape(nt, -1)
    for k in range(nt):
        traces[k] = np.bincount(inv, weights=frames[k, sel], minlength=ids.size)
    traces /= counts
    return traces, ids


@dataclass
class TraceAnalysis:
    """Per-particle and per-segment results of :func:`analyze_traces`.

    Attributes
    ----------
    label
        Segment name (e.g. "charge 1").
    x
        Frame coordinate (s, h or SOC) of the segment.
    normalized
        ``(n_frames, n_particles)`` normalised traces (0 start, 1 end).
    ids
        Particle ids.
    onset
        Per particle: ``x`` at the 50 % crossing (NaN for unchanged particles).
    step_likeness
        Per particle: max slope / mean slope (NaN for unchanged particles).
    changed
        Per particle: whether its change exceeded ``min_change_snr`` x its noise.
    snr
        Per particle: |change| / frame noise.
    onset_iqr, onset_iqr_ci
        Asynchrony (``x`` units) and its bootstrap CI (resampling particles).
    relative_spread
        ``onset_iqr / span``.
    verdict, verdict_confident
        "asynchronous" or "synchronous" (see module docstring), and whether the
        CI lies entirely on the verdict's side of the threshold.
    n_unchanged
        Particles without a detectable transition (excluded from onset stats).
    """

    label: str
    x: np.ndarray
    normalized: np.ndarray = field(repr=False)
    ids: np.ndarray
    onset: np.ndarray
    step_likeness: np.ndarray
    changed: np.ndarray
    snr: np.ndarray
    onset_iqr: float
    onset_iqr_ci: tuple[float, float]
    span: float
    relative_spread: float
    spread_threshold: float
    verdict: str
    verdict_confident: bool
    n_unchanged: int

    def table(self) -> pd.DataFrame:  # noqa: F821
        """Per-particle table (``pandas.DataFrame``)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "segment": self.label,
                "particle": self.ids,
                "onset": self.onset,
                "step_likeness": self.step_likeness,
                "changed": self.changed,
                "snr": self.snr,
            }
        )


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average along axis 0 with edge-shrinking windows."""
    if window <= 1:
        return y
    c = np.cumsum(np.vstack([np.zeros((1, y.shape[1])), y]), axis=0)
    n = y.shape[0]
    h = window // 2
    lo = np.clip(np.arange(n) - h, 0, n)
    hi = np.clip(np.arange(n) + h + 1, 0, n)
    return (c[hi] - c[lo]) / (hi - lo)[:, None]


def analyze_traces(
    traces: np.ndarray,
    x: Sequence[float] | np.ndarray,
    *,
    ids: Sequence[int] | np.ndarray | None = None,
    label: str = "segment",
    n_edge: int | None = None,
    smooth: int = 5,
    min_change_snr: float = 5.0,
    spread_threshold: float = 0.10,
    n_boot: int = 2000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = 0,
) -> TraceAnalysis:
    """Onsets, step-likeness and asynchrony of particle traces in one (dis)charge.

    Parameters
    ----------
    traces
        ``(n_frames, n_particles)`` mean intensities (any unit).
    x
        Coordinate of each frame, strictly increasing: time (s or h) or cell SOC.
    ids
        Particle ids (default 0..n-1).
    label
        Name of the segment.
    n_edge
        Frames averaged at each end to define 0 and 1 (default: 5 % of the frames,
        at least 3).
    smooth
        Moving-average window (frames) applied before locating the crossing and
        the maximum slope (default 5).
    min_change_snr
        A particle with ``|end - start| < min_change_snr * noise`` is unchanged;
        noise is the robust SD of frame-to-frame differences / sqrt(2).
    spread_threshold
        Relative onset IQR (fraction of the span of ``x``) above which the segment
        is "asynchronous" (default 0.10).
    n_boot, confidence, rng
        Bootstrap of the onset IQR.

    Raises
    ------
    DataError
        Shape mismatch, ``x`` not strictly increasing (non-monotone time), fewer
        than 2 * n_edge frames, or no particle with a detectable change.
    """
    tr = np.asarray(traces, dtype=float)
    xv = np.asarray(x, dtype=float)
    if tr.ndim != 2:
        raise DataError(f"{label}: traces must be 2D (frames, particles), got {tr.shape}")
    nt, npart = tr.shape
    if xv.shape != (nt,):
        raise DataError(f"{label}: x has {xv.size} entries but traces have {nt} frames")
    if not np.all(np.isfinite(xv)) or np.any(np.diff(xv) <= 0):
        k = int(np.flatnonzero(~(np.diff(xv) > 0))[0]) + 1 if nt > 1 else 0
        raise DataError(
            f"{label}: time/SOC must be finite and strictly increasing (fails at frame {k})"
        )
    if not np.all(np.isfinite(tr)):
        raise DataError(f"{label}: traces contain non-finite values")
    if not (0 < spread_threshold < 1):
        raise ParameterError(f"spread_threshold = {spread_threshold!r} is outside (0, 1)")
    ne = n_edge if n_edge is not None else max(3, int(round(0.05 * nt)))
    if nt < 2 * ne + 2:
        raise DataError(f"{label}: need at least {2 * ne + 2} frames, got {nt}")
    idv = np.arange(npart) if ids is None else np.asarray(ids)

    start = tr[:ne].mean(axis=0)
    end = tr[-ne:].mean(axis=0)
    change = end - start
    d = np.diff(tr, axis=0)
    noise = 1.4826 * np.median(np.abs(d - np.median(d, axis=0)), axis=0) / math.sqrt(2)
    noise = np.maximum(noise, 1e-12 * np.maximum(np.abs(start), 1.0))
    snr = np.abs(change) / noise
    changed = snr >= min_change_snr
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = (tr - start) / np.where(changed, change, np.nan)
    sm = _smooth(norm, smooth)

    onset = np.full(npart, np.nan)
    step = np.full(npart, np.nan)
    span = float(xv[-1] - xv[0])
    slope = np.diff(sm, axis=0) / np.diff(xv)[:, None]
    for j in np.flatnonzero(changed):
        y = sm[:, j]
        above = np.flatnonzero(y >= 0.5)
        if above.size == 0:
            continue
        k = int(above[0])
        if k == 0:
            onset[j] = xv[0]
        else:
            y0, y1 = y[k - 1], y[k]
            onset[j] = xv[k - 1] + (0.5 - y0) / (y1 - y0) * (xv[k] - xv[k - 1])
        step[j] = float(np.max(slope[:, j]) * span)  # mean slope of 0 -> 1 is 1/span

    ok = np.isfinite(onset)
    if ok.sum() == 0:
        raise DataError(
            f"{label}: no particle changes by more than {min_change_snr:g} x its noise; "
            f"nothing to time"
        )
    o = onset[ok]
    iqr = float(np.subtract(*np.percentile(o, [75, 25])))
    gen = np.random.default_rng(rng)
    if o.size >= 2:
        bs = o[gen.integers(0, o.size, size=(n_boot, o.size))]
        q75, q25 = np.percentile(bs, [75, 25], axis=1)
        a = (1 - confidence) / 2
        lo, hi = np.quantile(q75 - q25, [a, 1 - a])
    else:
        lo, hi = 0.0, float("inf")
    rel = iqr / span
    verdict = "asynchronous" if rel > spread_threshold else "synchronous"
    thr_abs = spread_threshold * span
    confident = bool(lo > thr_abs) if verdict == "asynchronous" else bool(hi <= thr_abs)
    return TraceAnalysis(
        label=label,
        x=xv,
        normalized=norm,
        ids=idv,
        onset=onset,
        step_likeness=step,
        changed=changed,
        snr=snr,
        onset_iqr=iqr,
        onset_iqr_ci=(float(lo), float(hi)),
        span=span,
        relative_spread=rel,
        spread_threshold=spread_threshold,
        verdict=verdict,
        verdict_confident=confident,
        n_unchanged=int((~changed).sum()),
    )


def plot_traces(
    result: TraceAnalysis,
    path: str | Path | None = None,
    *,
    xlabel: str = "time / h",
    max_particles: int = 60,
):
    """Plot normalised traces per particle with their onsets (like Sharma fig. 1c).

    Traces are stacked with a vertical offset per particle (sorted by onset), the
    50 % crossing marked. Returns the matplotlib Figure; saves it when ``path`` is
    given (Agg backend, no display needed).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    order = np.argsort(np.where(np.isfinite(result.onset), result.onset, np.inf))
    order = order[:max_particles]
    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(9, 5), gridspec_kw={"width_ratios": [3, 1]}, constrained_layout=True
    )
    cmap = plt.get_cmap("viridis")
    for r, j in enumerate(order):
        c = cmap(r / max(len(order) - 1, 1))
        y = result.normalized[:, j]
        if not np.all(np.isfinite(y)):
            ax1.plot(result.x, np.full_like(result.x, r * 1.2), color="0.6", lw=0.8, ls=":")
            continue
        ax1.plot(result.x, y + r * 1.2, color=c, lw=1.0)
        if np.isfinite(result.onset[j]):
            ax1.plot(result.onset[j], 0.5 + r * 1.2, "k|", ms=8)
    ax1.set_xlabel(xlabel)
    ax1.set_ylabel("normalized intensity (offset per particle)")
    ax1.set_title(
        f"{result.label}: {result.verdict}, onset IQR = {result.onset_iqr:.3g} "
        f"({100 * result.relative_spread:.0f} % of span)"
    )
    ok = np.isfinite(result.onset)
    ax2.hist(result.onset[ok], bins=min(20, max(3, ok.sum() // 3)), orientation="horizontal")
    ax2.set_ylabel(f"onset ({xlabel})")
    ax2.set_xlabel("particles")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
