"""The labelled-volume container shared by all of :mod:`electrohet.micro`.

A :class:`LabelledVolume` holds a 3D integer array (NumPy or Dask), the voxel size in
metres along (z, y, x) and a label map telling which integer is pore, CBD, active
material (AM) or crack.  By convention axis 0 (z) is the through-thickness axis and the
current collector lies at index 0 (``collector_at_start=True``); both can be changed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from electrohet.errors import DataError, ParameterError

#: Phase names understood by the metrics.  ``crack`` voxels lie inside particles and
#: are electrolyte filled; ``cbd`` is the carbon-binder domain.
PHASES: tuple[str, ...] = ("pore", "cbd", "am", "crack")

ArrayLike = Any  # numpy.ndarray | dask.array.Array


def is_dask(data: Any) -> bool:
    """Return True when ``data`` is a Dask array (without importing dask eagerly)."""
    return type(data).__module__.startswith("dask.")


def parse_label_map(labels: Mapping[str, int] | str, *, source: str = "labels") -> dict[str, int]:
    """Validate a label map ``{"pore": 0, "cbd": 1, "am": 2, "crack": 3}``.

    Parameters
    ----------
    labels
        Mapping phase name -> integer label, or a string ``"pore=0,cbd=1,am=2"``.
    source
        Where the map came from (file name or argument name), used in error messages.

    Returns
    -------
    dict
        Validated map with keys among :data:`PHASES` and distinct non-negative integers.

    Raises
    ------
    ParameterError
        Unknown phase name, non-integer or negative label, or duplicate labels.
    """
    if isinstance(labels, str):
        parsed: dict[str, Any] = {}
        for item in labels.split(","):
            item = item.strip()
            if not item:
                continue
            if "=" not in item:
                raise ParameterError(
                    f"{source}: entry {item!r} is not of the form name=integer "
                    f"(allowed names: {', '.join(PHASES)})"
                )
            k, v = item.split("=", 1)
            parsed[k.strip()] = v.strip()
        labels = parsed
    out: dict[str, int] = {}
    for name, value in labels.items():
        if name not in PHASES:
            raise ParameterError(
                f"{source}: unknown phase {name!r}; allowed phases are {', '.join(PHASES)}"
            )
        try:
            iv = int(value)
            if isinstance(value, float) and value != iv:
                raise ValueError
        except (TypeError, ValueError):
            raise ParameterError(
                f"{source}: label of {name!r} = {value!r} is not an integer"
            ) from None
        if iv < 0:
            raise ParameterError(f"{source}: label of {name!r} = {iv} must be >= 0")
        out[name] = iv
    if not out:
        raise ParameterError(f"{source}: the label map is empty; give at least one phase")
    values = list(out.values())
    if len(set(values)) != len(values):
        raise ParameterError(f"{source}: labels must be distinct, got {out}")
    return out


def parse_voxel_size(voxel_size: Any, *, unit: float = 1.0, key: str = "voxel_size") -> tuple:
    """Validate a voxel size and return ``(dz, dy, dx)`` in metres.

    Parameters
    ----------
    voxel_size
        One number (isotropic) or three numbers (z, y, x), or a string ``"0.1,0.1,0.2"``.
    unit
        Factor converting the given numbers to metres (``1e-6`` for micrometres).
    key
        Name used in error messages.

    Raises
    ------
    ParameterError
        Not 1 or 3 numbers, or any value NaN, infinite or not strictly positive.
    """
    if isinstance(voxel_size, str):
        try:
            vals = [float(v) for v in voxel_size.split(",") if v.strip()]
        except ValueError:
            raise ParameterError(
                f"{key} = {voxel_size!r} is not a comma-separated list of numbers"
            ) from None
    elif np.isscalar(voxel_size):
        vals = [voxel_size]
    else:
        vals = list(voxel_size)
    if len(vals) == 1:
        vals = vals * 3
    if len(vals) != 3:
        raise ParameterError(f"{key} = {voxel_size!r} must have 1 or 3 values (z, y, x)")
    out = []
    for v in vals:
        try:
            f = float(v) * unit
        except (TypeError, ValueError):
            raise ParameterError(f"{key} = {voxel_size!r} contains a non-number {v!r}") from None
        if not math.isfinite(f) or f <= 0:
            raise ParameterError(
                f"{key} = {voxel_size!r}: every value must be finite and > 0 (got {v!r})"
            )
        out.append(f)
    return tuple(out)


@dataclass(frozen=True)
class LabelledVolume:
    """A segmented 3D electrode volume.

    Attributes
    ----------
    data
        Integer array (NumPy or Dask) of shape (nz, ny, nx).
    voxel_size
        Voxel edge lengths (dz, dy, dx) in m.
    labels
        Phase name -> integer label (keys among ``pore, cbd, am, crack``).
    thickness_axis
        Axis running through the electrode thickness (default 0).
    collector_at_start
        True when the current collector touches index 0 of ``thickness_axis``.
    source
        File or description the volume came from (for messages).
    """

    data: ArrayLike
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    labels: dict[str, int] = field(default_factory=lambda: {"pore": 0, "cbd": 1, "am": 2})
    thickness_axis: int = 0
    collector_at_start: bool = True
    source: str = "<array>"

    def __post_init__(self) -> None:
        if getattr(self.data, "ndim", None) != 3:
            raise DataError(
                f"{self.source}: a volume must be 3D (z, y, x), got shape "
                f"{getattr(self.data, 'shape', None)}"
            )
        if not np.issubdtype(self.data.dtype, np.integer) and self.data.dtype != bool:
            raise DataError(f"{self.source}: labels must be integers, got dtype {self.data.dtype}")
        object.__setattr__(self, "voxel_size", parse_voxel_size(self.voxel_size))
        object.__setattr__(self, "labels", parse_label_map(self.labels, source=self.source))
        if self.thickness_axis not in (0, 1, 2):
            raise ParameterError(f"thickness_axis = {self.thickness_axis!r}; allowed: 0, 1, 2")

    # ------------------------------------------------------------------ basics
    @property
    def shape(self) -> tuple[int, int, int]:
        """Number of voxels along (z, y, x)."""
        return tuple(int(s) for s in self.data.shape)

    @property
    def is_lazy(self) -> bool:
        """True when the data is a Dask array."""
        return is_dask(self.data)

    @property
    def voxel_volume(self) -> float:
        """Volume of one voxel in m^3."""
        dz, dy, dx = self.voxel_size
        return dz * dy * dx

    @property
    def size_m(self) -> tuple[float, float, float]:
        """Physical extent (z, y, x) in m."""
        return tuple(n * h for n, h in zip(self.shape, self.voxel_size, strict=True))

    def label(self, phase: str) -> int | None:
        """Integer label of ``phase`` or None when the phase is not in the map."""
        return self.labels.get(phase)

    def require(self, phase: str) -> int:
        """Integer label of ``phase``; raise :class:`ParameterError` if it is not mapped."""
        if phase not in self.labels:
            raise ParameterError(
                f"{self.source}: phase {phase!r} is not in the label map {self.labels}"
            )
        return self.labels[phase]

    def with_data(self, data: ArrayLike) -> LabelledVolume:
        """Same metadata, new data (e.g. a sub-volume)."""
        return replace(self, data=data)

    def subvolume(self, slices: tuple[slice, slice, slice]) -> LabelledVolume:
        """Crop to ``slices`` (keeps voxel size and labels)."""
        return replace(self, data=self.data[slices])

    def compute(self) -> LabelledVolume:
        """Return an in-memory copy (computes a Dask array)."""
        if self.is_lazy:
            return replace(self, data=np.asarray(self.data.compute()))
        return self

    def oriented(self, data: ArrayLike | None = None) -> ArrayLike:
        """``data`` (default: the volume) transposed so the thickness axis is axis 0 and
        the collector lies at index 0."""
        a = self.data if data is None else data
        if self.thickness_axis != 0:
            a = (
                a.swapaxes(0, self.thickness_axis)
                if is_dask(a)
                else np.swapaxes(a, 0, self.thickness_axis)
            )
        if not self.collector_at_start:
            a = a[::-1]
        return a

    # -------------------------------------------------------------- validation
    def unique_labels(self) -> np.ndarray:
        """Sorted distinct integers present (computes chunk by chunk for Dask)."""
        if self.is_lazy:
            import dask.array as da

            return np.asarray(da.unique(self.data).compute())
        return np.unique(np.asarray(self.data))

    def validate(self, *, require_phases: tuple[str, ...] = ()) -> LabelledVolume:
        """Check that only mapped labels occur and that required phases are not empty.

        Raises
        ------
        DataError
            An integer in the data is not in the label map, or a required phase is
            absent from the volume.
        """
        present = self.unique_labels()
        allowed = set(self.labels.values())
        unexpected = [int(v) for v in present if int(v) not in allowed]
        if unexpected:
            raise DataError(
                f"{self.source}: unexpected label value(s) {unexpected}; the label map "
                f"allows {sorted(allowed)} ({self.labels})"
            )
        for phase in require_phases:
            lab = self.require(phase)
            if lab not in set(int(v) for v in present):
                raise DataError(
                    f"{self.source}: phase {phase!r} (label {lab}) is empty in this volume"
                )
        return self


#: fewest voxels along each axis of a volume that ``micro analyze`` and ``voxel
#: simulate`` accept (a 2D image or a one-voxel-thick slab is not an electrode volume)
MIN_VOXELS_PER_AXIS = 2


def require_3d(shape: tuple, source: object, command: str) -> None:
    """Refuse a volume that is not 3D with at least :data:`MIN_VOXELS_PER_AXIS` voxels
    along each axis (one rule for ``micro analyze`` and ``voxel simulate``).

    Raises
    ------
    DataError
        Naming the source, its shape and the rule.
    """
    shp = tuple(int(v) for v in shape)
    if len(shp) != 3 or min(shp) < MIN_VOXELS_PER_AXIS:
        raise DataError(
            f"{source}: shape {shp} is not a 3D volume; {command} needs at least "
            f"{MIN_VOXELS_PER_AXIS} voxels along each axis (a 2D image or a one-voxel-thick "
            "slab is refused)"
        )
