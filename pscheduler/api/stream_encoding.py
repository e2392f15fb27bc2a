"""How an event stream's bytes go on the wire: as they are, or gzip when the client asks.

Browsers, ``requests`` and curl --compressed all ask for gzip.  Event frames are repetitive
JSON (hrefs, UUIDs, field names) and shrink about tenfold, so a burst of 1,000 runs sends
500 streams a tenth of the bytes to encrypt and push through TCP, and remote clients a tenth
of the bandwidth.  What every stream sends alike (``Shared``: a batch rendered once for all
the streams that take every event) is also compressed once (``gzipcat``); a stream's own
bytes (its preamble, replay, keep-alives) are compressed for it alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from pscheduler.toolkit import gzipcat

KEEPALIVE = b": keepalive\n\n"
_KEEPALIVE_PIECE = gzipcat.piece(KEEPALIVE, shared=True)
OWN_LEVEL = 1  # a stream's own bytes: few, and compressed for it alone


@dataclass(eq=False)
class Shared:
    """Bytes many streams send; the compressed form is made by the first that needs it."""

    raw: bytes
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
        if part.piece is None:  # two streams may both make it: the same bytes either way
            part.piece = gzipcat.piece(part.raw, shared=True)
        return self._stream.send(part.piece)

    def keepalive(self) -> bytes:
        return self._stream.send(_KEEPALIVE_PIECE)

    def end(self) -> bytes:
        return self._stream.end()


def negotiate(accept_encoding) -> Identity | Gzip:
    """gzip if the client accepts it (werkzeug's parsed Accept-Encoding), else identity."""
    return Gzip() if accept_encoding["gzip"] > 0 else Identity()
