import math

import pytest

from electrohet.errors import ParameterError, check_range


def test_check_range_accepts_inside_and_names_key_outside():
    assert check_range("porosity", 0.3, 0, 1, low_inclusive=False, high_inclusive=False) == 0.3
    with pytest.raises(ParameterError, match=r"porosity = 1\.5 .*\(0, 1\)"):
        check_range("porosity", 1.5, 0, 1, low_inclusive=False, high_inclusive=False)
    with pytest.raises(ParameterError, match="thickness_um"):
        check_range("thickness_um", math.nan, 0)


def test_output_error_from_os_error_is_one_clear_line():
    import errno

    from electrohet.errors import ElectrohetError, OutputError

    full = OutputError.from_os_error(OSError(errno.ENOSPC, "No space left"), "run.nc")
    assert isinstance(full, ElectrohetError)
    assert (
        str(full)
        == "cannot write run.nc: disk full (or file-size limit reached); no file was left behind"
    )
    big = OutputError.from_os_error(OSError(errno.EFBIG, "File too large"), "a.npy")
    assert "disk full" in str(big)
    ro = OutputError.from_os_error(OSError(errno.EROFS, "Read-only file system", "/x/y"))
    assert "/x/y" in str(ro) and "permission denied" in str(ro)
