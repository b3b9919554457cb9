"""IO round trips and bad-input errors for electrohet.micro.io."""

from __future__ import annotations

import math

import numpy as np
import pytest

from electrohet.errors import DataError, ParameterError
from electrohet.micro.io import load_volume, read_metadata, save_volume
from electrohet.micro.volume import LabelledVolume

LABELS = {"pore": 0, "cbd": 1, "am": 2, "crack": 3}


@pytest.fixture
def vol() -> LabelledVolume:
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4, size=(6, 7, 8), dtype=np.uint8)
    return LabelledVolume(data, voxel_size=(2e-7, 1e-7, 1e-7), labels=LABELS)


@pytest.mark.parametrize("suffix", [".npy", ".tif", ".h5", ".zarr"])
def test_roundtrip(tmp_path, vol, suffix):
    p = save_volume(vol, tmp_path / f"v{suffix}", chunks=4)
    back = load_volume(p)
    assert back.voxel_size == pytest.approx(vol.voxel_size, rel=1e-12)
    assert back.labels == LABELS
    np.testing.assert_array_equal(np.asarray(back.compute().data), vol.data)
    if suffix == ".zarr":
        assert back.is_lazy  # Zarr loads lazily through Dask


def test_raw_orders(tmp_path, vol):
    p = tmp_path / "v.raw"
    vol.data.tofile(p)
    back = load_volume(
        p, labels=LABELS, voxel_size=0.1, voxel_size_unit=1e-6, shape=vol.shape, dtype="uint8"
    )
    np.testing.assert_array_equal(np.asarray(back.data), vol.data)
    assert back.voxel_size == pytest.approx((1e-7,) * 3)
    pf = tmp_path / "f.raw"
    np.asfortranarray(vol.data).ravel(order="F").tofile(pf)
    backf = load_volume(
        pf, labels=LABELS, voxel_size=1e-7, shape=vol.shape, dtype="uint8", order="F"
    )
    np.testing.assert_array_equal(np.asarray(backf.data), vol.data)


def test_tiff_folder_lazy(tmp_path, vol):
    import tifffile

    d = tmp_path / "stack"
    d.mkdir()
    for i, sl in enumerate(vol.data):
        tifffile.imwrite(d / f"s{i:03d}.tif", sl)
    (tmp_path / "meta.toml").write_text(
        "voxel_size_um = [0.2, 0.1, 0.1]\n[labels]\npore = 0\ncbd = 1\nam = 2\ncrack = 3\n"
    )
    back = load_volume(d, metadata=tmp_path / "meta.toml")
    assert back.is_lazy
    np.testing.assert_array_equal(np.asarray(back.compute().data), vol.data)
    assert back.voxel_size == pytest.approx((2e-7, 1e-7, 1e-7))


def test_wrong_raw_shape(tmp_path, vol):
    p = tmp_path / "v.raw"
    vol.data.tofile(p)
    with pytest.raises(DataError, match=r"v\.raw.*336 bytes.*\(6, 7, 9\)"):
        load_volume(p, labels=LABELS, voxel_size=1e-7, shape=(6, 7, 9), dtype="uint8")


def test_unexpected_labels(tmp_path, vol):
    p = save_volume(vol, tmp_path / "v.npy")
    with pytest.raises(DataError, match=r"v\.npy.*unexpected label value\(s\) \[3\]"):
        load_volume(p, labels="pore=0,cbd=1,am=2", voxel_size=1e-7)


def test_empty_phase(vol):
    data = np.where(vol.data == 1, 0, vol.data)
    v = LabelledVolume(data, labels=LABELS, source="x.npy")
    with pytest.raises(DataError, match=r"x\.npy.*'cbd'.*empty"):
        v.validate(require_phases=("cbd",))


@pytest.mark.parametrize("bad", [float("nan"), -1.0, (1e-7, 1e-7), "a,b,c", math.inf])
def test_bad_voxel_size(tmp_path, vol, bad):
    p = save_volume(vol, tmp_path / "v.npy", write_metadata=False)
    with pytest.raises(ParameterError, match="voxel_size"):
        load_volume(p, labels=LABELS, voxel_size=bad)


def test_truncated_tiff(tmp_path, vol):
    p = save_volume(vol, tmp_path / "v.tif", write_metadata=False)
    raw = p.read_bytes()
    t = tmp_path / "trunc.tif"
    t.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"trunc\.tif: cannot read TIFF"):
        load_volume(t, labels=LABELS, voxel_size=1e-7)


def test_bad_label_map_and_metadata(tmp_path):
    with pytest.raises(ParameterError, match="unknown phase 'binder'"):
        LabelledVolume(np.zeros((2, 2, 2), np.uint8), labels={"binder": 1})
    with pytest.raises(ParameterError, match="distinct"):
        LabelledVolume(np.zeros((2, 2, 2), np.uint8), labels={"pore": 1, "am": 1})
    m = tmp_path / "m.toml"
    m.write_text("voxel_size_um = [0.1, nan, 0.1]\n")
    with pytest.raises(ParameterError, match=r"m\.toml: voxel_size_um"):
        read_metadata(m)
    m.write_text("voxelsize = 1\n")
    with pytest.raises(ParameterError, match="unknown key"):
        read_metadata(m)


def test_missing_file_and_float_data(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_volume(tmp_path / "nope.npy", labels=LABELS, voxel_size=1e-7)
    p = tmp_path / "f.npy"
    np.save(p, np.zeros((2, 2, 2)))
    with pytest.raises(DataError, match="float64 is not an integer"):
        load_volume(p, labels=LABELS, voxel_size=1e-7)


class _Marker:
    """Unpickling this writes a file: proof that a payload would have run."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("fmt", [2, 3])
def test_zarr_with_pickle_codec_is_refused_unread(tmp_path, fmt):
    """A crafted store whose codec is pickle must be refused before any chunk is decoded."""
    import json
    import pickle

    store = tmp_path / "evil.zarr"
    store.mkdir()
    marker = tmp_path / "pwned"
    payload = pickle.dumps([_Marker(str(marker))] * 8)
    if fmt == 2:
        meta = {
            "zarr_format": 2,
            "shape": [2, 2, 2],
            "chunks": [2, 2, 2],
            "dtype": "|O",
            "compressor": None,
            "fill_value": 0,
            "filters": [{"id": "pickle", "protocol": 5}],
            "order": "C",
        }
        (store / ".zarray").write_text(json.dumps(meta))
        (store / "0.0.0").write_bytes(payload)
    else:
        meta = {
            "zarr_format": 3,
            "node_type": "array",
            "shape": [2, 2, 2],
            "data_type": "uint8",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 2, 2]}},
            "chunk_key_encoding": {"name": "default"},
            "fill_value": 0,
            "codecs": [{"name": "numcodecs.pickle", "configuration": {"id": "pickle"}}],
        }
        (store / "zarr.json").write_text(json.dumps(meta))
        (store / "c" / "0" / "0").mkdir(parents=True)
        (store / "c" / "0" / "0" / "0").write_bytes(payload)
    with pytest.raises(DataError, match="refused"):
        load_volume(store, labels="pore=0,am=1", voxel_size=1e-7, lazy=False)
    assert not marker.exists()


def test_zarr_object_dtype_in_group_is_refused(tmp_path):
    import json

    store = tmp_path / "g.zarr"
    (store / "vol").mkdir(parents=True)
    (store / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
    meta = {
        "zarr_format": 2,
        "shape": [2, 2, 2],
        "chunks": [2, 2, 2],
        "dtype": "|O",
        "compressor": None,
        "fill_value": 0,
        "filters": None,
        "order": "C",
    }
    (store / "vol" / ".zarray").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="object dtype"):
        load_volume(store, labels="pore=0,am=1", voxel_size=1e-7)


def test_plain_zarr_still_loads(tmp_path, vol):
    p = tmp_path / "ok.zarr"
    save_volume(vol, p)
    back = load_volume(p)
    assert np.array_equal(np.asarray(back.compute().data), np.asarray(vol.data))
