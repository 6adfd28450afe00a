"""Read the IDX format of (Fashion-)MNIST, gzipped or not."""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """The array an IDX file holds; a damaged file fails with a sentence naming it."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # a cut-off download, or not gzip at all
        raise ValueError(f"{path} is truncated or corrupt: cannot decompress it ({type(exc).__name__}: "
                         f"{exc}); copy the file again") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise ValueError(f"{path} is not an IDX file")
    ndim, itemsize = data[3], np.dtype(_DTYPES[data[2]]).itemsize
    if len(data) < 4 + 4 * ndim:
        raise ValueError(f"{path} is truncated: its header ends after {len(data)} bytes")
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    body = data[4 + 4 * ndim:]
    arr = np.frombuffer(body[:len(body) - len(body) % itemsize], dtype=_DTYPES[data[2]])
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(shape))} values, found {arr.size}")
    return arr.reshape(shape)
