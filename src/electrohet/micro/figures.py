"""Figures of a labelled volume (matplotlib, Agg backend): phase profiles, a slice with
phases, and a slice with CBD aggregates coloured by component."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from electrohet.micro.volume import LabelledVolume

_COLORS = {"pore": "#f2f2f2", "cbd": "#2b2b2b", "am": "#3c78b4", "crack": "#d95f02"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_profiles(profiles: dict, path: str | Path) -> Path:
    """Area fraction of each phase versus depth from the collector."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    depth = profiles["depth_m"] * 1e6
    for k, v in profiles.items():
        if k != "depth_m":
            ax.plot(depth, v, label=k, color=_COLORS.get(k) if k != "pore" else "#999999")
    ax.set_xlabel("depth from current collector (um)")
    ax.set_ylabel("area fraction")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def _mid_slice(volume: LabelledVolume, data=None) -> np.ndarray:
    a = volume.data if data is None else data
    k = volume.shape[2] // 2
    s = a[:, :, k]
    return np.asarray(s.compute() if hasattr(s, "compute") else s)


def plot_phase_slice(volume: LabelledVolume, path: str | Path) -> Path:
    """Middle (z, y) slice coloured by phase; the collector is at z = 0."""
    from matplotlib.colors import ListedColormap

    plt = _plt()
    sl = _mid_slice(volume)
    names = list(volume.labels)
    img = np.full(sl.shape, -1)
    for i, k in enumerate(names):
        img[sl == volume.labels[k]] = i
    cmap = ListedColormap([_COLORS.get(k, "#888888") for k in names])
    fig, ax = plt.subplots(figsize=(4, 4), dpi=120)
    ax.imshow(img, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, interpolation="nearest")
    ax.set_title("phases (" + ", ".join(names) + ")", fontsize=8)
    ax.set_xlabel("y (voxel)")
    ax.set_ylabel("z (voxel), collector at 0")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_cbd_aggregates(
    volume: LabelledVolume, path: str | Path, connectivity: int = 26, max_edge: int = 512
) -> Path:
    """CBD aggregates of the middle slice coloured by 3D component.

    Components are labelled on a sub-volume of at most ``max_edge`` voxels per axis
    around the middle slice (memory bound for large volumes).
    """
    from electrohet.micro.connectivity import label_components

    plt = _plt()
    sl = tuple(slice(0, min(n, max_edge)) for n in volume.shape[:2]) + (
        slice(max(0, volume.shape[2] // 2 - max_edge // 2), volume.shape[2] // 2 + max_edge // 2),
    )
    sub = volume.subvolume(sl).compute()
    lab, n = label_components(np.asarray(sub.data) == sub.require("cbd"), connectivity)
    k = volume.shape[2] // 2 - sl[2].start
    img = lab[:, :, k].astype(float)
    rng = np.random.default_rng(0)
    perm = np.concatenate([[0], rng.permutation(n) + 1])
    img = np.where(img > 0, perm[img.astype(int)], np.nan)
    sizes = np.bincount(lab.ravel())
    fig, ax = plt.subplots(figsize=(4, 4), dpi=120)
    ax.imshow(np.asarray(sub.data)[:, :, k] == sub.labels.get("am", -1), cmap="Greys", alpha=0.25)
    ax.imshow(img, cmap="tab20", interpolation="nearest")
    share = sizes[1:].max() / sizes[1:].sum() if n else float("nan")
    ax.set_title(f"CBD aggregates ({connectivity}-conn.), largest share {share:.2f}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
