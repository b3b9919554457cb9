"""Block-wise evaluation of reductions on NumPy or Dask arrays (bounded memory).

A reduction is a function ``func(block, origin) -> small result`` applied to each chunk
(``origin`` = global index of the block's first voxel); the small results are gathered
and combined by the caller.  NumPy arrays are treated as a single block, so in-memory and
chunked paths run the same code.  Dask uses whatever scheduler is active (threads by
default, a ``dask.distributed`` client when one is set up).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from electrohet.micro.volume import is_dask


def block_origins(chunks: tuple[tuple[int, ...], ...]) -> list[tuple[int, int, int]]:
    """Global origin of every block, in C order of the block grid."""
    starts = [np.concatenate([[0], np.cumsum(c)[:-1]]).astype(int) for c in chunks]
    return [tuple(int(v) for v in o) for o in itertools.product(*starts)]


def map_blocks_reduce(data: Any, func: Callable[[np.ndarray, tuple], Any]) -> list[Any]:
    """Apply ``func(block, origin)`` to each block; return the list of results."""
    if not is_dask(data):
        return [func(np.asarray(data), (0, 0, 0))]
    import dask

    blocks = data.to_delayed().ravel()
    origins = block_origins(data.chunks)
    tasks = [dask.delayed(func)(b, o) for b, o in zip(blocks, origins, strict=True)]
    return list(dask.compute(*tasks))


def boundary_slabs(data: Any, axis: int) -> list[tuple[int, Any]]:
    """Chunk-boundary positions ``k`` along ``axis`` with lazy 2-plane slabs [k-1, k+1)."""
    if not is_dask(data):
        return []
    edges = np.cumsum(data.chunks[axis])[:-1]
    out = []
    for k in edges:
        sl = [slice(None)] * 3
        sl[axis] = slice(int(k) - 1, int(k) + 1)
        out.append((int(k), data[tuple(sl)]))
    return out
