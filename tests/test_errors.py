import math

import pytest

from electrohet.errors import ParameterError, check_range


def test_check_range_accepts_inside_and_names_key_outside():
    assert check_range("porosity", 0.3, 0, 1, low_inclusive=False, high_inclusive=False) == 0.3
    with pytest.raises(ParameterError, match=r"porosity = 1\.5 .*\(0, 1\)"):
        check_range("porosity", 1.5, 0, 1, low_inclusive=False, high_inclusive=False)
    with pytest.raises(ParameterError, match="thickness_um"):
        check_range("thickness_um", math.nan, 0)
