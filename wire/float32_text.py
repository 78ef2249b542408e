"""float32 values as decimal text that reads back, directly or through float64, as exactly the same float32s."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
import orjson


@functools.cache
def _row_format(width: int) -> str:
    # 9 significant digits identify every float32 exactly; one format per row keeps it at C speed.
    return ",".join(["%.9g"] * width)


def full_precision(row: npt.NDArray[np.float32]) -> str:
    """The row as comma-separated numbers that parse back to exactly the same float32 values.

    -0.0 is written `-0.0`, not `%.9g`'s `-0`: a JSON reader takes `-0` for the integer 0 and loses the sign.
    """
    text = _row_format(len(row)) % tuple(row.tolist())
    negative_zeros = np.flatnonzero((row == 0) & np.signbit(row))
    if not len(negative_zeros):
        return text
    fields = text.split(",")
    for index in negative_zeros:
        fields[index] = "-0.0"
    return ",".join(fields)


_POWERS_OF_TEN = 10.0 ** np.arange(-60, 61)  # [k + 60] is 10**k (nearest float64)
_NEAR_INTEGER = 1e-5  # in units of the 9th significant digit; the arithmetic below errs by < 1e-6


def double_rounding_risk(values: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Values whose shortest text might read back, through float64, as a neighbouring float32.

    The shortest text d of a float32 x lies inside x's rounding interval, whose ends are x +- half a gap;
    read as float64 it stays inside, except when d is within a float64 rounding of an end: then the second
    rounding, to float32, is a tie and may leave x. A text of at most 9 significant digits is that close to
    an end only if the end itself is within 1e-7 of a 9-digit decimal, so every end that is within 1e-5 of
    one is flagged (about 2 values in 100,000 of uniform data), and so are zero, subnormals and non-finite
    values. scripts/float32_text_roundtrip.py checks the encoder this guards against random and known cases.
    """
    bits = np.abs(values).view(np.uint32)
    exponent = (bits >> 23).astype(np.int32)
    normal = (exponent > 0) & (exponent < 255)
    magnitude = np.abs(values.astype(np.float64))
    half_gap = (bits & np.uint32(0x7F800000)).view(np.float32).astype(np.float64) * 2.0**-24
    power_of_two = (bits & np.uint32(0x7FFFFF)) == 0
    decimal_exponent = ((exponent - 127) * 78913) >> 18  # floor((exponent - 127) * log10 2): exact here
    scale = _POWERS_OF_TEN[np.clip(8 - decimal_exponent, -60, 60) + 60]
    risky = ~normal
    for end in (magnitude + half_gap, magnitude - np.where(power_of_two, 0.5 * half_gap, half_gap)):
        digits = end * scale  # the end in units of its 9th significant digit: in [1e8, 1e10)
        digits = np.where(digits >= 1e9, digits * 0.1, digits)
        fraction = digits - digits.astype(np.int64)
        risky |= (digits < 1e8) | (fraction < _NEAR_INTEGER) | (fraction > 1 - _NEAR_INTEGER)
    return risky


def csv_lines(rows: npt.NDArray[np.float32]) -> list[bytes]:
    """Each row as comma-separated numbers that read back, directly or through float64, as the same float32s.

    orjson writes each float32's shortest text at C speed (0.3 s for 7.8 million values where "%.9g" takes
    2.1 s, and 10% fewer bytes); the rare row holding a value whose shortest text could be rounded twice is
    written with "%.9g" instead.
    """
    if not len(rows):
        return []
    block = np.ascontiguousarray(rows, dtype=np.float32)
    lines = orjson.dumps(block, option=orjson.OPT_SERIALIZE_NUMPY)[2:-2].split(b"],[")
    for index in np.flatnonzero(double_rounding_risk(block).any(axis=1)):
        lines[index] = full_precision(block[index]).encode()
    return lines


def shortest_text(value: np.float32) -> str:
    """One float32 as the shortest positional text that reads back as the same float32 (`7.2033820`)."""
    return np.format_float_positional(value, unique=True, trim="0")
