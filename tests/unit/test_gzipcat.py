"""gzipcat: pieces compressed once each make a valid gzip stream in any order, and the
CRC kept by combining matches zlib's over the whole."""

from __future__ import annotations

import gzip
import random
import zlib

import pytest

from pscheduler.toolkit import gzipcat


def _parts(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [
        rng.randbytes(rng.randint(0, 3000)) + b'{"kind":"run-state"}' * rng.randint(0, 500)
        for _ in range(40)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_crc32_combine_matches_zlib(seed):
    rng = random.Random(seed)
    a, b = rng.randbytes(rng.randint(0, 5000)), rng.randbytes(rng.randint(0, 70000))
    operator = gzipcat.combine_operator(len(b))
    assert gzipcat.crc32_combine(zlib.crc32(a), zlib.crc32(b), operator) == zlib.crc32(a + b)
    shared = gzipcat.with_tables(gzipcat.piece(b))
    assert shared.after(zlib.crc32(a)) == zlib.crc32(a + b)


@pytest.mark.parametrize("seed", range(3))
def test_shared_and_own_pieces_in_any_order_make_one_gzip_stream(seed):
    parts = _parts(seed)
    shared = {i: gzipcat.with_tables(gzipcat.piece(p)) for i, p in enumerate(parts) if i % 3 == 0}
    for order in (parts, parts[::-1]):
        stream = gzipcat.Stream()
        body = b"".join(
            stream.send(shared.get(parts.index(p)) or gzipcat.piece(p, level=1)) for p in order
        )
        body += stream.end()
        assert gzip.decompress(body) == b"".join(order)


def test_each_piece_can_be_read_as_it_arrives():
    """A stream's client decodes every piece as soon as it has it (sync flush), before the
    stream ends: an event is not held back until the next."""
    stream, reader = gzipcat.Stream(), zlib.decompressobj(wbits=31)
    for part in _parts(7):
        assert reader.decompress(stream.send(gzipcat.piece(part))) == part
    assert reader.decompress(stream.end()) == b"" and reader.eof


def test_an_empty_stream_is_a_valid_gzip_stream():
    assert gzip.decompress(gzipcat.Stream().end()) == b""
