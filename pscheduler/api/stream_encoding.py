"""How an event stream's bytes go on the wire: as they are, or gzip when the client asks.

Browsers, ``requests`` and curl --compressed all ask for gzip.  Event frames are repetitive
JSON (hrefs, UUIDs, field names) and shrink eightfold (bench/streams.py: 934 MB sent for
7,654 MB of events), so a burst of 1,000 runs gives 500 streams an eighth of the bytes to
encrypt and push through TCP, and remote clients an eighth of the bandwidth.  What every stream sends alike (``Shared``: a batch rendered once for all
the streams that take every event) is also compressed once (``gzipcat``); a stream's own
bytes (its preamble, replay, keep-alives) are compressed for it alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from pscheduler.toolkit import gzipcat

KEEPALIVE = b": keepalive\n\n"
_KEEPALIVE_PIECE = gzipcat.with_tables(gzipcat.piece(KEEPALIVE))
OWN_LEVEL = 1  # bytes for one stream, or a few: 11 times smaller, in 0.4 ms per 95 kB
SHARED_LEVEL = 6  # bytes for every stream: 13 times smaller, in 1.2 ms per 95 kB, once


@dataclass(eq=False)
class Shared:
    """Bytes that streams alike send; compressed by the first that needs it, given the
    CRC tables by the second (most pieces of a filtered stream have no second)."""

    raw: bytes
    level: int = OWN_LEVEL
    piece: gzipcat.Piece | None = None


class Identity:
    content_encoding: str | None = None

    def text(self, raw: bytes) -> bytes:
        return raw

    def shared(self, part: Shared) -> bytes:
        return part.raw

    def keepalive(self) -> bytes:
        return KEEPALIVE

    def end(self) -> bytes:
        return b""


class Gzip:
    content_encoding = "gzip"

    def __init__(self) -> None:
        self._stream = gzipcat.Stream()

    def text(self, raw: bytes) -> bytes:
        return self._stream.send(gzipcat.piece(raw, level=OWN_LEVEL)) if raw else b""

    def shared(self, part: Shared) -> bytes:
        # Two streams may both make it at once: the same bytes either way.
        if part.piece is None:
            part.piece = gzipcat.piece(part.raw, part.level)
        elif part.piece.tables is None:
            part.piece = gzipcat.with_tables(part.piece)
        return self._stream.send(part.piece)

    def keepalive(self) -> bytes:
        return self._stream.send(_KEEPALIVE_PIECE)

    def end(self) -> bytes:
        return self._stream.end()


def negotiate(accept_encoding) -> Identity | Gzip:
    """gzip if the client accepts it (werkzeug's parsed Accept-Encoding), else identity."""
    return Gzip() if accept_encoding["gzip"] > 0 else Identity()
