"""Read and write labelled volumes: TIFF (multi-page or a folder of slices), NumPy
``.npy``, raw binary, Zarr and HDF5.

Metadata (voxel size, label map) is given in the call or read from a small TOML file::

    voxel_size_um = [0.1, 0.1, 0.1]   # (z, y, x)
    thickness_axis = 0
    collector_at_start = true
    [labels]
    pore = 0
    cbd = 1
    am = 2
    crack = 3

Zarr arrays and TIFF folders are loaded lazily as Dask arrays (``lazy=True``, the default
for these formats); everything else is read into memory (``.npy`` and raw via a
read-only memory map).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from electrohet.errors import DataError, ParameterError
from electrohet.micro.volume import LabelledVolume, is_dask, parse_label_map, parse_voxel_size

_TIFF_SUFFIXES = (".tif", ".tiff")


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Read a metadata TOML (voxel size in um, label map, orientation).

    Returns
    -------
    dict
        Keys ``voxel_size`` (m, tuple), ``labels`` (dict) and, if present,
        ``thickness_axis`` and ``collector_at_start``.

    Raises
    ------
    DataError
        The file is missing or not valid TOML.
    ParameterError
        A key has a bad value (the message names the file and key).
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise DataError(f"metadata file {p} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"metadata file {p} is not valid TOML: {exc}") from None
    allowed = {"voxel_size_um", "voxel_size_m", "labels", "thickness_axis", "collector_at_start"}
    unknown = set(raw) - allowed
    if unknown:
        raise ParameterError(
            f"{p}: unknown key(s) {sorted(unknown)}; allowed keys are {sorted(allowed)}"
        )
    out: dict[str, Any] = {}
    if "voxel_size_um" in raw:
        out["voxel_size"] = parse_voxel_size(
            raw["voxel_size_um"], unit=1e-6, key=f"{p}: voxel_size_um"
        )
    elif "voxel_size_m" in raw:
        out["voxel_size"] = parse_voxel_size(raw["voxel_size_m"], key=f"{p}: voxel_size_m")
    if "labels" in raw:
        if not isinstance(raw["labels"], dict):
            raise ParameterError(f"{p}: [labels] must be a table like pore = 0")
        out["labels"] = parse_label_map(raw["labels"], source=f"{p}: [labels]")
    if "thickness_axis" in raw:
        out["thickness_axis"] = raw["thickness_axis"]
    if "collector_at_start" in raw:
        out["collector_at_start"] = bool(raw["collector_at_start"])
    return out


def _format_of(p: Path) -> str:
    if p.is_dir():
        if (p / "zarr.json").exists() or (p / ".zarray").exists() or (p / ".zgroup").exists():
            return "zarr"
        if any(f.suffix.lower() in _TIFF_SUFFIXES for f in p.iterdir()):
            return "tiff-folder"
        raise DataError(f"{p}: folder is neither a Zarr store nor a folder of TIFF slices")
    suf = p.suffix.lower()
    if suf in _TIFF_SUFFIXES:
        return "tiff"
    if suf == ".npy":
        return "npy"
    if suf in (".h5", ".hdf5", ".hdf"):
        return "hdf5"
    if suf == ".zarr":
        return "zarr"
    if suf in (".raw", ".bin", ".dat"):
        return "raw"
    raise DataError(
        f"{p}: cannot tell the format from the suffix {suf!r}; allowed: .tif/.tiff, "
        ".npy, .raw/.bin/.dat, .zarr, .h5/.hdf5, or a folder of TIFF slices"
    )


def load_volume(
    path: str | Path,
    *,
    labels: Mapping[str, int] | str | None = None,
    voxel_size: Any = None,
    voxel_size_unit: float = 1.0,
    metadata: str | Path | None = None,
    shape: tuple[int, int, int] | None = None,
    dtype: str | np.dtype | None = None,
    order: str = "C",
    key: str | None = None,
    lazy: bool | None = None,
    validate: bool = True,
    thickness_axis: int | None = None,
    collector_at_start: bool | None = None,
) -> LabelledVolume:
    """Load a labelled volume from disk.

    Parameters
    ----------
    path
        File or folder.  The format follows the suffix (``.tif``, ``.npy``, ``.raw``,
        ``.zarr``, ``.h5``) or the folder content (Zarr store or TIFF slices).
    labels
        Label map (``{"pore": 0, ...}`` or ``"pore=0,cbd=1,am=2"``).  Overrides the
        metadata file and attributes stored with Zarr/HDF5 data.
    voxel_size
        Voxel size (z, y, x) in units of ``voxel_size_unit`` (default metres).
    voxel_size_unit
        Conversion factor to m, e.g. ``1e-6`` when ``voxel_size`` is in um.
    metadata
        Optional TOML file with ``voxel_size_um`` and ``[labels]``; by default a file
        ``<path>.toml`` next to the data is used when it exists.
    shape, dtype, order
        Required for raw files: the array shape (z, y, x), dtype and memory order
        (``"C"``: x fastest; ``"F"``: z fastest).
    key
        Dataset/array name inside an HDF5 file or Zarr group.
    lazy
        Return a Dask array (default True for Zarr and TIFF folders, False otherwise).
    validate
        Check that only mapped labels occur (one pass over the data).

    Returns
    -------
    LabelledVolume

    Raises
    ------
    DataError
        Missing/truncated/corrupt file, wrong raw size, non-integer data or labels not
        in the map.
    ParameterError
        Bad voxel size or label map.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p} does not exist")
    fmt = _format_of(p)
    meta: dict[str, Any] = {}
    meta_path = Path(metadata) if metadata is not None else Path(str(p) + ".toml")
    if metadata is not None or meta_path.exists():
        meta = read_metadata(meta_path)

    attrs: dict[str, Any] = {}
    if fmt == "tiff":
        data = _read_tiff(p)
    elif fmt == "tiff-folder":
        data = _read_tiff_folder(p, lazy=True if lazy is None else lazy)
    elif fmt == "npy":
        data = _read_npy(p)
    elif fmt == "raw":
        data = _read_raw(p, shape, dtype, order)
    elif fmt == "zarr":
        data, attrs = _read_zarr(p, key, lazy=True if lazy is None else lazy)
    else:
        data, attrs = _read_hdf5(p, key, lazy=bool(lazy))

    if lazy and not is_dask(data):
        import dask.array as da

        data = da.from_array(data, chunks="auto")

    lab = labels if labels is not None else meta.get("labels", attrs.get("labels"))
    if lab is None:
        raise ParameterError(
            f"{p}: no label map given; pass labels='pore=0,cbd=1,am=2,crack=3' or write a "
            f"metadata file {meta_path}"
        )
    if voxel_size is not None:
        vs = parse_voxel_size(voxel_size, unit=voxel_size_unit)
    elif "voxel_size" in meta:
        vs = meta["voxel_size"]
    elif "voxel_size_m" in attrs:
        vs = parse_voxel_size(attrs["voxel_size_m"], key=f"{p}: attribute voxel_size_m")
    else:
        raise ParameterError(f"{p}: no voxel size given; pass voxel_size=(dz, dy, dx)")
    ax = (
        thickness_axis
        if thickness_axis is not None
        else meta.get("thickness_axis", attrs.get("thickness_axis", 0))
    )
    cs = (
        collector_at_start
        if collector_at_start is not None
        else meta.get("collector_at_start", attrs.get("collector_at_start", True))
    )
    vol = LabelledVolume(
        data=data,
        voxel_size=vs,
        labels=parse_label_map(lab, source=f"{p}: labels"),
        thickness_axis=int(ax),
        collector_at_start=bool(cs),
        source=str(p),
    )
    if validate:
        vol.validate()
    return vol


# ----------------------------------------------------------------------- readers
def _check_int(p: Path, data: Any) -> Any:
    if data.dtype == bool:
        return data.astype(np.uint8)
    if not np.issubdtype(data.dtype, np.integer):
        raise DataError(f"{p}: data type {data.dtype} is not an integer label type")
    return data


def _read_tiff(p: Path) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(p) as tif:
            n_pages = len(tif.pages)
            data = tif.asarray()
            expected = None
            if n_pages > 1:
                expected = n_pages
    except Exception as exc:  # tifffile raises many types for corrupt files
        raise DataError(f"{p}: cannot read TIFF ({type(exc).__name__}: {exc})") from None
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise DataError(f"{p}: TIFF holds an array of shape {data.shape}, expected (z, y, x)")
    if expected is not None and data.shape[0] != expected:
        raise DataError(
            f"{p}: cannot read TIFF (truncated or corrupt: {expected} readable pages, "
            f"but the image description asks for {data.shape[0]} slices)"
        )
    return _check_int(p, data)


def _read_tiff_folder(p: Path, *, lazy: bool) -> Any:
    import tifffile

    files = sorted(f for f in p.iterdir() if f.suffix.lower() in _TIFF_SUFFIXES)
    try:
        first = tifffile.imread(files[0])
    except Exception as exc:
        raise DataError(f"{files[0]}: cannot read TIFF slice ({exc})") from None
    if first.ndim != 2:
        raise DataError(f"{files[0]}: a slice must be 2D, got shape {first.shape}")
    _check_int(files[0], first)

    def read_slice(f: Path) -> np.ndarray:
        try:
            a = tifffile.imread(f)
        except Exception as exc:
            raise DataError(f"{f}: cannot read TIFF slice ({exc})") from None
        if a.shape != first.shape or a.dtype != first.dtype:
            raise DataError(
                f"{f}: slice shape/dtype {a.shape}/{a.dtype} differs from the first slice "
                f"{first.shape}/{first.dtype}"
            )
        return a

    if not lazy:
        return np.stack([read_slice(f) for f in files])
    import dask
    import dask.array as da

    parts = [
        da.from_delayed(dask.delayed(read_slice)(f), shape=first.shape, dtype=first.dtype)
        for f in files
    ]
    return da.stack(parts)


def _read_npy(p: Path) -> np.ndarray:
    try:
        data = np.load(p, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(f"{p}: cannot read .npy ({exc})") from None
    if data.ndim != 3:
        raise DataError(f"{p}: .npy array has shape {data.shape}, expected 3D (z, y, x)")
    return _check_int(p, data)


def _read_raw(p: Path, shape: Any, dtype: Any, order: str) -> np.ndarray:
    if shape is None or dtype is None:
        raise ParameterError(f"{p}: raw files need shape=(nz, ny, nx) and dtype (e.g. 'uint8')")
    if order not in ("C", "F"):
        raise ParameterError(f"{p}: order = {order!r}; allowed: 'C' (x fastest) or 'F'")
    try:
        shape = tuple(int(s) for s in shape)
        dt = np.dtype(dtype)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{p}: bad shape {shape!r} or dtype {dtype!r} ({exc})") from None
    if len(shape) != 3 or min(shape) <= 0:
        raise ParameterError(f"{p}: shape = {shape} must be three positive integers")
    expected = int(np.prod(shape)) * dt.itemsize
    actual = p.stat().st_size
    if actual != expected:
        raise DataError(
            f"{p}: file has {actual} bytes but shape {shape} with dtype {dt} needs {expected}"
        )
    return _check_int(p, np.memmap(p, dtype=dt, mode="r", shape=shape, order=order))


#: Codec ids that decode to Python objects (pickle can run code on load); refused.
_UNSAFE_ZARR_CODECS = frozenset(
    {"pickle", "json2", "msgpack2", "vlen-utf8", "vlen-bytes", "vlen-array", "categorize"}
)


def _codec_ids(meta: dict) -> list[str]:
    ids: list[str] = []
    for key in ("compressor", "filters", "codecs", "object_codec"):
        val = meta.get(key)
        items = val if isinstance(val, list) else [val]
        for item in items:
            if isinstance(item, dict):
                name = item.get("id", item.get("name"))
                if isinstance(name, str):
                    ids.append(name.lower().removeprefix("numcodecs."))
                conf = item.get("configuration")
                if isinstance(conf, dict):
                    ids += _codec_ids(conf)
            elif isinstance(item, str):
                ids.append(item.lower().removeprefix("numcodecs."))
    return ids


def check_zarr_safe(p: str | Path) -> None:
    """Refuse a Zarr store whose arrays use an object dtype or an object codec.

    The metadata files (``.zarray``, ``zarr.json``) are read as plain JSON *before* Zarr
    opens the store, so a crafted store with a pickle codec is rejected without any of
    its chunks being decoded (unpickling untrusted data can execute code).

    Raises
    ------
    DataError
        Object dtype or a codec among :data:`_UNSAFE_ZARR_CODECS`.
    """
    import json
    import os

    root = Path(p)
    for dirpath, dirnames, filenames in os.walk(root):
        metas = [f for f in filenames if f in (".zarray", "zarr.json", ".zgroup")]
        if not metas and Path(dirpath) != root:
            dirnames[:] = []  # a chunk folder: nothing below holds metadata
            continue
        for f in metas:
            fp = Path(dirpath) / f
            try:
                meta = json.loads(fp.read_text())
            except (OSError, ValueError) as exc:
                raise DataError(f"{fp}: unreadable Zarr metadata ({exc})") from None
            if not isinstance(meta, dict):
                raise DataError(f"{fp}: Zarr metadata is not a JSON object")
            dtype = meta.get("dtype", meta.get("data_type"))
            if isinstance(dtype, str) and (dtype.lstrip("|<>=") in ("O", "object")):
                raise DataError(
                    f"{fp}: Zarr array has object dtype {dtype!r}; refused (objects are "
                    "unpickled on read); labelled volumes need an integer dtype"
                )
            bad = sorted(set(_codec_ids(meta)) & _UNSAFE_ZARR_CODECS)
            if bad:
                raise DataError(
                    f"{fp}: Zarr codec(s) {bad} decode Python objects and are refused; "
                    "store the volume with an integer dtype and a numeric codec"
                )


def _read_zarr(p: Path, key: str | None, *, lazy: bool) -> tuple[Any, dict]:
    import zarr

    check_zarr_safe(p)
    try:
        node = zarr.open(str(p), mode="r")
    except Exception as exc:
        raise DataError(f"{p}: cannot open Zarr store ({exc})") from None
    if isinstance(node, zarr.Group):
        names = sorted(node.array_keys())
        if key is None:
            if len(names) != 1:
                raise ParameterError(f"{p}: Zarr group holds arrays {names}; pass key=<name>")
            key = names[0]
        if key not in names:
            raise ParameterError(f"{p}: key = {key!r} not found; available: {names}")
        node = node[key]
    attrs = dict(node.attrs)
    if lazy:
        import dask.array as da

        data = da.from_zarr(node)
    else:
        data = node[...]
    return _check_int(p, data), attrs


def _read_hdf5(p: Path, key: str | None, *, lazy: bool) -> tuple[Any, dict]:
    try:
        import h5py
    except ImportError:  # pragma: no cover
        raise DataError("reading HDF5 needs h5py (pip install h5py)") from None
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise DataError(f"{p}: cannot open HDF5 file ({exc})") from None
    names: list[str] = []
    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    if key is None:
        if len(names) != 1:
            f.close()
            raise ParameterError(f"{p}: HDF5 file holds datasets {names}; pass key=<name>")
        key = names[0]
    if key not in names:
        f.close()
        raise ParameterError(f"{p}: key = {key!r} not found; available: {names}")
    dset = f[key]
    attrs = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in dset.attrs.items()}
    if "labels" in attrs and isinstance(attrs["labels"], str):
        attrs["labels"] = parse_label_map(attrs["labels"], source=f"{p}: attribute labels")
    if lazy:
        import dask.array as da

        data = da.from_array(dset, chunks=dset.chunks or "auto")  # keeps the file open
    else:
        data = dset[...]
        f.close()
    return _check_int(p, data), attrs


# ----------------------------------------------------------------------- writers
def _labels_str(labels: Mapping[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


def save_volume(
    volume: LabelledVolume,
    path: str | Path,
    *,
    chunks: int | tuple[int, int, int] = 128,
    write_metadata: bool = True,
) -> Path:
    """Write ``volume`` to ``path`` (format from the suffix: .zarr, .npy, .tif, .h5, .raw).

    Zarr and HDF5 carry voxel size and labels as attributes; for the other formats a
    sidecar ``<path>.toml`` is written when ``write_metadata`` is True.  Dask arrays are
    written chunk by chunk to Zarr (bounded memory).
    """
    p = Path(path)
    suf = p.suffix.lower()
    attrs = {
        "voxel_size_m": list(volume.voxel_size),
        "labels": dict(volume.labels),
        "thickness_axis": volume.thickness_axis,
        "collector_at_start": volume.collector_at_start,
    }
    if suf == ".zarr":
        import zarr

        ch = (chunks,) * 3 if isinstance(chunks, int) else tuple(chunks)
        ch = tuple(min(c, s) for c, s in zip(ch, volume.shape, strict=True))
        arr = zarr.create_array(
            str(p), shape=volume.shape, chunks=ch, dtype=volume.data.dtype, overwrite=True
        )
        arr.attrs.update(attrs)
        if volume.is_lazy:
            import dask.array as da

            da.to_zarr(volume.data.rechunk(ch), arr)
        else:
            arr[...] = np.asarray(volume.data)
        return p
    data = np.asarray(volume.compute().data)
    if suf == ".npy":
        np.save(p, data)
    elif suf in _TIFF_SUFFIXES:
        import tifffile

        tifffile.imwrite(p, data)
    elif suf in (".h5", ".hdf5"):
        import h5py

        with h5py.File(p, "w") as f:
            d = f.create_dataset("labels", data=data, chunks=True, compression="gzip")
            d.attrs["voxel_size_m"] = list(volume.voxel_size)
            d.attrs["labels"] = _labels_str(volume.labels)
            d.attrs["thickness_axis"] = volume.thickness_axis
            d.attrs["collector_at_start"] = volume.collector_at_start
        return p
    elif suf in (".raw", ".bin", ".dat"):
        data.tofile(p)
    else:
        raise ParameterError(
            f"{p}: unknown output suffix {suf!r}; allowed: .zarr, .npy, .tif, .h5, .raw"
        )
    if write_metadata:
        write_metadata_toml(volume, Path(str(p) + ".toml"))
    return p


def write_metadata_toml(volume: LabelledVolume, path: str | Path) -> Path:
    """Write the voxel size (um), label map and orientation as a small TOML file."""
    vs = ", ".join(f"{v * 1e6:.9g}" for v in volume.voxel_size)
    lines = [
        f"voxel_size_um = [{vs}]",
        f"thickness_axis = {volume.thickness_axis}",
        f"collector_at_start = {'true' if volume.collector_at_start else 'false'}",
        "[labels]",
        *[f"{k} = {v}" for k, v in volume.labels.items()],
    ]
    p = Path(path)
    p.write_text("\n".join(lines) + "\n")
    return p
