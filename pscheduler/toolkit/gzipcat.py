"""A gzip stream built from pieces compressed once each, so many streams can share them.

Five hundred clients of the event stream are sent the same bytes in a burst of runs (5,000
events each).  Compressing per connection would cost far more than it saves; compressing
the shared bytes once does not.  Each piece is deflated on its own and ended with a sync
flush: byte-aligned, not final, and referring only to itself, so any sequence of pieces
after a gzip header is a valid deflate stream.  The trailer's CRC-32 of everything sent is
kept per stream by combining the pieces' CRCs (zlib's ``crc32_combine``, which Python's
``zlib`` does not offer) instead of a pass over every byte sent.  A piece that many streams
send carries byte tables for the combination: four lookups per stream instead of a
polynomial product (~17 µs in Python; 500 streams × 25 pieces a burst would be 0.2 s).
"""

from __future__ import annotations

import array
import dataclasses
import struct
import zlib
from dataclasses import dataclass

HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time, OS unknown
_FINAL = zlib.compressobj(wbits=-15).flush()  # an empty last block
_POLY = 0xEDB88320
LEVEL = 6


def _multmodp(a: int, b: int) -> int:
    """a × b modulo the CRC-32 polynomial (bit-reflected, as zlib's crc32.c)."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _x2n_table() -> list[int]:
    table, p = [], 1 << 30  # x^1
    for _ in range(32):
        table.append(p)
        p = _multmodp(p, p)
    return table


_X2N = _x2n_table()


def combine_operator(length: int) -> int:
    """x^(8 × length) modulo the polynomial: what shifting a CRC past ``length`` bytes
    multiplies it by."""
    p, k = 1 << 31, 3
    while length:
        if length & 1:
            p = _multmodp(_X2N[k & 31], p)
        length >>= 1
        k += 1
    return p


def crc32_combine(crc1: int, crc2: int, operator: int) -> int:
    """CRC-32 of A + B from crc(A), crc(B) and ``combine_operator(len(B))``."""
    return _multmodp(operator, crc1) ^ crc2


def _byte_tables(operator: int) -> array.array:
    """The product by ``operator`` is linear in the CRC: tabulated for each of its bytes,
    table ``b`` at ``256 * b``.  One 4 kB array, not four lists of 256 ints: those were 40 kB
    of small objects per shared piece, 64 pieces kept and replaced all through a burst, and
    the API workers' allocator kept the arenas they were scattered over."""
    basis = [_multmodp(operator, 1 << bit) for bit in range(32)]
    tables = array.array("I", bytes(4 * 1024))  # unsigned 32-bit
    for byte in range(4):
        base = 256 * byte
        for value in range(1, 256):
            low = value & -value
            tables[base + value] = (
                tables[base + (value ^ low)] ^ basis[8 * byte + low.bit_length() - 1]
            )
    return tables


@dataclass(frozen=True)
class Piece:
    """``raw`` deflated on its own, with its CRC-32, and how to shift a CRC past it."""

    deflated: bytes
    size: int
    crc: int
    operator: int
    tables: array.array | None = None

    def after(self, crc: int) -> int:
        """The CRC-32 of (what ``crc`` covers) + this piece."""
        if self.tables is None:
            return crc32_combine(crc, self.crc, self.operator)
        t = self.tables
        return (
            t[crc & 255]
            ^ t[256 + ((crc >> 8) & 255)]
            ^ t[512 + ((crc >> 16) & 255)]
            ^ t[768 + (crc >> 24)]
            ^ self.crc
        )


def piece(raw: bytes, level: int = LEVEL) -> Piece:
    """Deflate ``raw`` on its own (sync flush): it can follow any other piece."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    deflated = compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return Piece(deflated, len(raw), zlib.crc32(raw), combine_operator(len(raw)))


def with_tables(part: Piece) -> Piece:
    """The same piece, for many streams to send: its CRC tables cost ~0.5 ms, once."""
    return dataclasses.replace(part, tables=_byte_tables(part.operator))


class Stream:
    """One client's gzip stream: ``send`` each piece in order, then ``end``."""

    def __init__(self) -> None:
        self.crc = 0
        self.size = 0
        self.started = False

    def send(self, part: Piece) -> bytes:
        self.crc = part.after(self.crc)
        self.size += part.size
        if self.started:
            return part.deflated
        self.started = True
        return HEADER + part.deflated

    def end(self) -> bytes:
        head = b"" if self.started else HEADER
        self.started = True
        return head + _FINAL + struct.pack("<II", self.crc, self.size & 0xFFFFFFFF)
