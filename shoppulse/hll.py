"""HyperLogLog: a small, mergeable distinct-count sketch for visitors and sessions.

Exact distinct sets do not roll up by addition (a visitor seen in two minutes is
one visitor of the hour). A sketch does: the sketch of a union is the
register-wise maximum of the sketches of its parts, so 5-minute, hourly, daily
and all-stores windows merge minute sketches exactly (the merged registers are
bit-for-bit those of a sketch fed every item directly); only the final
``count()`` is an estimate.

- **Hash.** ``hashlib.blake2b(item.encode("utf-8"), digest_size=8)`` read as a
  big-endian unsigned 64-bit integer. It is deterministic across processes,
  machines and Python versions (unlike ``hash()``, which is salted per process),
  so sketches built by different workers merge. It is also the dominant cost of
  ``add`` (about 0.5 µs of the ~0.7 µs per call on CPython 3.11). Changing
  the hash changes every register, so it would need a new serialization format.
- **Registers.** The top ``precision`` bits of the hash pick one of
  ``m = 2**precision`` registers; the register keeps the maximum "rank" (1 +
  number of leading zeros) of the remaining ``q = 64 - precision`` bits, a value
  in ``0..q+1`` that fits one byte.
- **Estimator.** Ertl's improved estimator (O. Ertl, *New cardinality estimation
  algorithms for HyperLogLog sketches*, 2017, arXiv:1702.01284, algorithm 6). It
  needs no empirical bias tables or range thresholds: it behaves like linear
  counting for small sets, like the raw HyperLogLog estimate in the middle, and,
  with a 64-bit hash, needs no large-range correction (the 2**32 correction of
  the original paper exists only for 32-bit hashes). Its relative standard error
  is about ``1.04 / sqrt(m)`` over the whole range (1.6 % at the default
  precision 12, 4096 registers, 4 KiB).

>>> a = HyperLogLog()
>>> a.update(f"visitor-{i}" for i in range(1_000))
>>> b = HyperLogLog()
>>> b.update(f"visitor-{i}" for i in range(500, 2_000))
>>> a.count(), b.count(), (a | b).count()
(1010, 1474, 2010)
>>> round(a.relative_standard_error, 4)
0.0163
>>> HyperLogLog.from_base64(a.to_base64()) == a
True
>>> HyperLogLog().to_base64()  # empty sketches are one header byte
'TA=='
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from functools import cache
from hashlib import blake2b
from typing import Final

import numpy as np

MIN_PRECISION: Final = 4
MAX_PRECISION: Final = 16
DEFAULT_PRECISION: Final = 12

#: Serialization header: format in bits 7..5, precision in bits 4..0.
_FORMAT_DENSE: Final = 1  # header, then m register bytes
_FORMAT_SPARSE: Final = 2  # header, then (uint16 big-endian index, uint8 value) per non-zero
_SPARSE_ENTRY: Final = 3
_ALPHA_INF: Final = 1.0 / (2.0 * math.log(2.0))

# Measured on CPython 3.11.7, one core of the dev container (AMD EPYC), 24-character
# ids, precision 12: ``add`` ~1.45 million/s (~0.69 µs; blake2b + encode + from_bytes
# alone are ~0.49 µs), ``update`` ~1.9 million/s (~0.52 µs, no per-item method call).
# merge ~12 µs, count ~72 µs, to_base64 ~6 µs dense / ~15 µs sparse, from_base64
# ~31 µs dense.


class HyperLogLog:
    """A HyperLogLog sketch with ``2**precision`` one-byte registers.

    ``merge`` (and ``|``) returns a new sketch; ``merge_into`` (and ``|=``)
    updates in place. Sketches merge only with sketches of the same precision.
    Instances are mutable and therefore unhashable; ``==`` compares precision and
    registers.

    >>> h = HyperLogLog(precision=10)
    >>> h.count()
    0
    >>> h.add("session-1"); h.add("session-1"); h.add("session-2")
    >>> h.count()
    2
    >>> h.merge(HyperLogLog(precision=12))
    Traceback (most recent call last):
    ...
    ValueError: cannot merge HyperLogLog sketches of precision 10 and 12
    """

    __slots__ = ("_precision", "_q", "_q1", "_rank_mask", "_registers")

    def __init__(self, precision: int = DEFAULT_PRECISION) -> None:
        if not isinstance(precision, int) or not MIN_PRECISION <= precision <= MAX_PRECISION:
            raise ValueError(
                f"precision must be an int in {MIN_PRECISION}..{MAX_PRECISION}, got {precision!r}"
            )
        self._precision = precision
        self._q = 64 - precision  # hash bits left for the rank; also the index shift
        self._q1 = self._q + 1  # the largest rank (all q bits zero)
        self._rank_mask = (1 << self._q) - 1
        self._registers = bytearray(1 << precision)

    # -- feeding -----------------------------------------------------------------

    def add(self, item: str) -> None:
        """Add one item (UTF-8 encoded; a lone surrogate raises ``UnicodeEncodeError``)."""
        h = int.from_bytes(blake2b(item.encode(), digest_size=8).digest())
        index = h >> self._q
        rank = self._q1 - (h & self._rank_mask).bit_length()
        if rank > self._registers[index]:
            self._registers[index] = rank

    def update(self, items: Iterable[str]) -> None:
        """Add every item of ``items`` (same result as calling ``add`` on each)."""
        registers = self._registers
        q = self._q
        q1 = self._q1
        rank_mask = self._rank_mask
        from_bytes = int.from_bytes
        for item in items:
            h = from_bytes(blake2b(item.encode(), digest_size=8).digest())
            index = h >> q
            rank = q1 - (h & rank_mask).bit_length()
            if rank > registers[index]:
                registers[index] = rank

    # -- merging -----------------------------------------------------------------

    def merge(self, other: HyperLogLog) -> HyperLogLog:
        """A new sketch of the union of both sketches' items (register-wise max)."""
        out = self.copy()
        out.merge_into(other)
        return out

    def merge_into(self, other: HyperLogLog) -> None:
        """Fold ``other`` into this sketch in place (register-wise max)."""
        self._check_compatible(other)
        self._registers[:] = _bytewise_max(self._registers, other._registers)

    def __or__(self, other: object) -> HyperLogLog:
        if not isinstance(other, HyperLogLog):
            return NotImplemented
        return self.merge(other)

    def __ior__(self, other: object) -> HyperLogLog:
        if not isinstance(other, HyperLogLog):
            return NotImplemented
        self.merge_into(other)
        return self

    def copy(self) -> HyperLogLog:
        out = HyperLogLog(self._precision)
        out._registers[:] = self._registers
        return out

    def _check_compatible(self, other: HyperLogLog) -> None:
        if other._precision != self._precision:
            raise ValueError(
                "cannot merge HyperLogLog sketches of precision "
                f"{self._precision} and {other._precision}"
            )

    # -- reading -----------------------------------------------------------------

    @property
    def precision(self) -> int:
        return self._precision

    @property
    def num_registers(self) -> int:
        return len(self._registers)

    @property
    def registers(self) -> bytes:
        """A copy of the registers (one byte each, rank ``0..65 - precision``)."""
        return bytes(self._registers)

    @property
    def relative_standard_error(self) -> float:
        """``1.04 / sqrt(m)``: the estimate's relative standard error."""
        return 1.04 / math.sqrt(len(self._registers))

    def is_empty(self) -> bool:
        return not any(self._registers)

    def estimate(self) -> float:
        """The estimated number of distinct items, unrounded (Ertl's improved estimator)."""
        registers = self._registers
        m = len(registers)
        q = self._q
        zeros = registers.count(0)
        if zeros == m:
            return 0.0
        z = m * _tau(1.0 - registers.count(q + 1) / m)
        for k in range(q, 0, -1):
            z = 0.5 * (z + registers.count(k))
        z += m * _sigma(zeros / m)
        return _ALPHA_INF * m * m / z

    def count(self) -> int:
        """The estimated number of distinct items, rounded to an int."""
        return round(self.estimate())

    # -- serialization -----------------------------------------------------------

    def to_base64(self) -> str:
        """A compact, canonical ASCII form for JSON (equal sketches give equal strings).

        One header byte (format in bits 7..5, precision in bits 4..0), then either
        the ``m`` register bytes (dense) or, when shorter, one 3-byte entry per
        non-zero register: big-endian ``uint16`` index and ``uint8`` rank (sparse).
        An empty sketch is the header byte alone.
        """
        registers = self._registers
        nonzero = len(registers) - registers.count(0)
        if nonzero * _SPARSE_ENTRY < len(registers):
            # Vectorised: a Python loop over the registers took ~250 µs a sketch, and the
            # worker encodes a sketch of every open minute on every provisional beat.
            ranks = np.frombuffer(registers, dtype=np.uint8)
            index = np.flatnonzero(ranks)
            entries = np.empty((len(index), _SPARSE_ENTRY), dtype=np.uint8)
            entries[:, 0] = index >> 8
            entries[:, 1] = index & 0xFF
            entries[:, 2] = ranks[index]
            raw = bytes([_FORMAT_SPARSE << 5 | self._precision]) + entries.tobytes()
        else:
            raw = bytes([_FORMAT_DENSE << 5 | self._precision]) + registers
        return base64.b64encode(raw).decode("ascii")

    @classmethod
    def from_base64(cls, text: str) -> HyperLogLog:
        """Rebuild a sketch from ``to_base64``; ``ValueError`` on malformed input."""
        try:
            raw = base64.b64decode(text, validate=True)
        except ValueError as exc:  # binascii.Error is a ValueError
            raise ValueError(f"HyperLogLog: not base64: {exc}") from None
        if not raw:
            raise ValueError("HyperLogLog: empty payload")
        fmt, precision = raw[0] >> 5, raw[0] & 0x1F
        out = cls(precision)  # validates the precision
        body = raw[1:]
        m = len(out._registers)
        if fmt == _FORMAT_DENSE:
            if len(body) != m:
                raise ValueError(f"HyperLogLog: dense body has {len(body)} bytes, expected {m}")
            out._registers[:] = body
        elif fmt == _FORMAT_SPARSE:
            if len(body) % _SPARSE_ENTRY:
                raise ValueError("HyperLogLog: sparse body is not a whole number of entries")
            previous = -1
            for offset in range(0, len(body), _SPARSE_ENTRY):
                index = int.from_bytes(body[offset : offset + 2])
                rank = body[offset + 2]
                if not previous < index < m or rank == 0:
                    raise ValueError("HyperLogLog: sparse entries must be ascending and non-zero")
                out._registers[index] = rank
                previous = index
        else:
            raise ValueError(f"HyperLogLog: unknown format {fmt}")
        if out._registers.translate(None, bytes(range(out._q1 + 1))):  # any byte > q1 left?
            raise ValueError(f"HyperLogLog: a register exceeds the maximum rank {out._q1}")
        return out

    @classmethod
    def from_registers(cls, precision: int, registers: bytes) -> HyperLogLog:
        """A sketch with these registers (``2**precision`` bytes, as :attr:`registers` gives);
        ``ValueError`` when they do not fit the precision.

        >>> h = HyperLogLog(precision=4); h.add("a")
        >>> HyperLogLog.from_registers(4, h.registers) == h
        True
        """
        out = cls(precision)
        if len(registers) != len(out._registers):
            raise ValueError(f"HyperLogLog: {len(registers)} registers, expected {1 << precision}")
        if registers.translate(None, bytes(range(out._q1 + 1))):
            raise ValueError(f"HyperLogLog: a register exceeds the maximum rank {out._q1}")
        out._registers[:] = registers
        return out

    # -- dunder ------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HyperLogLog):
            return NotImplemented
        return self._precision == other._precision and self._registers == other._registers

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"HyperLogLog(precision={self._precision}, estimate={self.count()})"


@cache
def _high_bits(size: int) -> int:
    """``0x8080…80`` of ``size`` bytes, as an int."""
    return int.from_bytes(b"\x80" * size)


def _bytewise_max(a: bytes | bytearray, b: bytes | bytearray) -> bytes:
    """Byte-wise ``max`` of two equal-length buffers whose bytes are all below 128.

    SWAR on Python big ints (~35x faster than ``bytes(map(max, a, b))`` at 4 KiB):
    per byte, ``(x | 0x80) - y`` keeps bit 7 set exactly when ``x >= y`` and never
    borrows from the next byte, so that bit selects ``x`` or ``y``.

    >>> list(_bytewise_max(bytes([0, 5, 61, 7, 127]), bytes([1, 5, 2, 9, 0])))
    [1, 5, 61, 9, 127]
    """
    size = len(a)
    high = _high_bits(size)
    x = int.from_bytes(a)
    y = int.from_bytes(b)
    x_wins = (((x | high) - y) & high) >> 7  # 0x01 in each byte where x >= y
    return (y ^ ((x ^ y) & (x_wins * 0xFF))).to_bytes(size)


def _sigma(x: float) -> float:
    """Ertl's sigma(x) = x + sum_{k>=1} x^(2^k) * 2^(k-1), for the share of zero registers."""
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    """Ertl's tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 * 2^-k) / 3, for saturated registers."""
    if x in (0.0, 1.0):
        return 0.0
    y = 1.0
    z = 1.0 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == previous:
            return z / 3.0
