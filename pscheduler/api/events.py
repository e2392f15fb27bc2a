"""``GET /pscheduler/events``: the node's event log as Server-Sent Events.

Query: ``task=<uuid>``, ``test=<type>``, ``kind=<kind>`` (each repeatable or comma-separated),
``since=<id>`` (same as the ``Last-Event-ID`` header, which wins).  Each event is

    id: <resume id>
    event: <kind>
    data: {"id": .., "time": .., "kind": .., "task": .., "run": .., "test": .., "data": {..}}

A stream holds a request thread only until its ``ready`` event is written; then the process's
stream writer carries it (stream_writer.py).  Each process serves at most
``STREAMS_PER_PROCESS`` streams; one more gets 503 with Retry-After.  A client that accepts
gzip gets the stream gzipped (stream_encoding.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict

from flask import Blueprint, Response, request

from pscheduler.api import context, stream_encoding, stream_writer
from pscheduler.api.doc import UUID, doc, query, text_error
from pscheduler.api.responses import root_url, text
from pscheduler.events import log as events
from pscheduler.toolkit import heap

bp = Blueprint("events", __name__)

# A stream costs its socket, a subscription and at most stream_writer.BUFFER_MAX of unsent
# bytes; 1,024 per process lets 1,000 clients land on one worker (the kernel does not spread
# connections evenly over the workers).
STREAMS_PER_PROCESS = 1024
KEEPALIVE = 10.0  # seconds between comments on a quiet stream (finds departed clients)
RETRY_MS = 2000

_slots = threading.BoundedSemaphore(STREAMS_PER_PROCESS)


_FRAMES_KEPT = 4096
_frames: OrderedDict[tuple, str] = OrderedDict()
_frames_lock = threading.Lock()


def _frame(event: events.Event, resume: int, root: str) -> str:
    """The event as SSE text, made once for every stream that sends it: with 500 streams
    open, serialising each event per stream cost the API most of its CPU (issue 14).  The
    query made the JSON (migration 062); the hrefs, which depend on the URL the client used,
    go in before its closing brace."""
    key = (event.id, resume, root)
    with _frames_lock:
        text = _frames.get(key)
    if text is not None:
        return text
    body = event.json
    if event.task:
        href = f"{json.dumps(root)[1:-1]}/tasks/{event.task}"
        runs = f',"run-href":"{href}/runs/{event.run}"' if event.run else ""
        body = f'{body[:-1]},"task-href":"{href}"{runs}}}'
    text = f"id: {resume}\nevent: {event.kind}\ndata: {body}\n\n"
    with _frames_lock:
        _frames[key] = text
        while len(_frames) > _FRAMES_KEPT:
            _frames.popitem(last=False)
    return text


_BATCHES_KEPT = 64
_batches: OrderedDict[tuple, stream_encoding.Shared] = OrderedDict()


def _batch(
    batch: list[events.Event], resume: int, root: str, filters: events.Filters
) -> stream_encoding.Shared:
    """A stream that takes every event sends, at a given moment, the same slice of the hub's
    sequence as every other such stream: its bytes are made once, by the first of them.  With
    500 streams, making each event's frame per stream kept an API worker's GIL busy (39,000
    deliveries a second in bench/scale.py).  A slice is known by its ends and length."""
    key = (batch[0].id, batch[-1].id, len(batch), resume, root, filters)
    with _frames_lock:
        data = _batches.get(key)
    if data is None:
        raw = "".join(_frame(e, min(e.id, resume), root) for e in batch).encode()
        level = stream_encoding.SHARED_LEVEL if filters.everything else stream_encoding.OWN_LEVEL
        data = stream_encoding.Shared(raw, level)
        with _frames_lock:
            _batches[key] = data
            while len(_batches) > _BATCHES_KEPT:
                _batches.popitem(last=False)
    return data


def _forget_rendered() -> None:
    """The last stream of the process has gone: the rendered events (up to ~9 MB) are of no
    use to anyone until the next, so a worker that once served 500 streams does not keep them."""
    with _frames_lock:
        _frames.clear()
        _batches.clear()
    heap.trim()


class _Held:
    """What one stream holds (a slot of the process's streams and its subscription), given
    back exactly once: by the request when the stream ends in its thread, by the writer
    when it was handed over."""

    def __init__(self, hub: events.Hub) -> None:
        self.hub = hub
        self.sub: events.Subscription | None = None
        self.handed_over = False
        self._held = True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if not self._held:
                return
            self._held = False
        if self.sub is not None:
            self.hub.close(self.sub)
            if self.hub.subscribers == 0:
                _forget_rendered()
        _slots.release()

    def release_unless_handed_over(self) -> None:
        if not self.handed_over:
            self.release()


def _renderer(filters: events.Filters, replayed: set[int], root: str, enc):
    """How a stream turns the events it takes into wire bytes: one write for everything that
    arrived since the last one (under load a few large TLS records instead of one per
    event), shared by every stream with the same filters.  A stream that replayed events
    renders its own only for a batch that holds one of them (a late commit the hub read
    after the replay), and forgets them once the hub no longer reads such late commits:
    500 dashboards reconnecting with Last-Event-ID would otherwise each compress every
    batch of a burst, and keep up to REPLAY_MAX ids each for good."""
    forget_at = time.monotonic() + events.GAP_TTL

    def render(batch: list[events.Event], resume: int) -> bytes:
        if replayed and time.monotonic() > forget_at:
            replayed.clear()
        if not replayed or not any(event.id in replayed for event in batch):
            return enc.shared(_batch(batch, resume, root, filters))
        return enc.text(
            "".join(
                _frame(event, min(event.id, resume), root)
                for event in batch
                if event.id not in replayed
            ).encode()
        )

    return render


def _farewell(enc):
    def farewell(sub: events.Subscription) -> bytes | None:
        if sub.overflowed:
            note = {"reason": "client too slow; reconnect with Last-Event-ID"}
            return enc.text(f"event: reset\ndata: {json.dumps(note)}\n\n".encode())
        return None

    return farewell


def _replayed(rows: list[events.Event], root: str, enc):
    """Replayed frames, TAKE_MAX to a write (one compressed piece each when gzipped)."""
    for start in range(0, len(rows), events.TAKE_MAX):
        part = rows[start : start + events.TAKE_MAX]
        yield enc.text("".join(_frame(row, row.id, root) for row in part).encode())


def _stream(db, filters: events.Filters, after, root: str, held: _Held, detach, enc):
    try:
        yield from _stream_parts(db, filters, after, root, held, detach, enc)
        last = b"" if held.handed_over else enc.end()
        if last:
            yield last
    finally:
        held.release_unless_handed_over()


def _stream_parts(db, filters: events.Filters, after, root: str, held: _Held, detach, enc):
    def say(text: str) -> bytes:
        return enc.text(text.encode())

    sub, upto = held.hub.open(filters)
    held.sub = sub
    yield say(f"retry: {RETRY_MS}\n: pscheduler events\n\n")
    replayed: set[int] = set()
    resume = sub.resume_id
    if after is not None and after < upto:
        rows, purged = events.replay(db, filters, after, upto)
        if purged:
            note = {"reason": "events before this one were purged", "after": after}
            yield say(f"event: reset\ndata: {json.dumps(note)}\n\n")
        replayed.update(row.id for row in rows)
        yield from _replayed(rows, root, enc)
        if rows and len(rows) >= events.REPLAY_MAX:
            note = {"reason": "too many events to replay", "after": rows[-1].id}
            yield say(f"event: reset\ndata: {json.dumps(note)}\n\n")
            return
        resume = max(resume, rows[-1].id) if rows else resume
    ready = {"resume": max(resume, after or 0) if after is not None else resume}
    yield say(f"id: {ready['resume']}\nevent: ready\ndata: {json.dumps(ready)}\n\n")
    render = _renderer(filters, replayed, root, enc)
    farewell = _farewell(enc)
    # Everything so far has been written: from here the process's writer carries the
    # stream and this thread goes back to serving requests (stream_writer.py).
    handover = detach() if detach is not None else None
    if handover is not None:
        sock, chunked = handover
        held.handed_over = True
        stream_writer.writer().add(
            stream_writer.Stream(
                sock,
                chunked,
                sub,
                render,
                farewell,
                held.release,
                KEEPALIVE,
                comment=enc.keepalive,
                trailer=enc.end,
            )
        )
        return
    while not sub.closed:  # a server that cannot hand over: the stream keeps this thread
        batch, resume = sub.take(KEEPALIVE)
        last = farewell(sub)
        if last:
            yield last
            return
        data = render(batch, resume) if batch else enc.keepalive()
        if data:
            yield data


@doc(
    "Server-sent events: task and run changes as they happen",
    {
        200: {
            "description": "An endless `text/event-stream`; each event has an `id`"
            " to resume from with `Last-Event-ID`.  Gzipped (`Content-Encoding: gzip`)"
            " if the request's `Accept-Encoding` allows it",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        400: text_error("A bad filter"),
        503: text_error("Too many streams on this process (with `Retry-After`)"),
    },
    [
        query("task", {"type": "array", "items": UUID}, "Only these tasks' events (repeatable)"),
        query(
            "test",
            {"type": "array", "items": {"type": "string"}},
            "Only events of tasks of these test types (repeatable)",
        ),
        query(
            "kind",
            {"type": "array", "items": {"type": "string"}},
            "Only events of these kinds (repeatable)",
        ),
        query("since", {"type": "string"}, "As `Last-Event-ID`, for clients without it"),
        {
            "name": "Last-Event-ID",
            "in": "header",
            "description": "Resume after this event id",
            "schema": {"type": "string"},
        },
    ],
)
@bp.get("/events")
def event_stream():
    filters = events.parse_filters(
        request.args.getlist("task"), request.args.getlist("test"), request.args.getlist("kind")
    )
    after = events.parse_last_id(request.headers.get("Last-Event-ID", request.args.get("since")))
    if not _slots.acquire(blocking=False):
        return text(
            503,
            f"Too many event streams on this process (at most {STREAMS_PER_PROCESS});"
            " try again shortly.",
            headers={"Retry-After": "5"},
        )
    held = _Held(events.hub(context.config().dsn or ""))
    detach = request.environ.get("pscheduler.detach")
    enc = stream_encoding.negotiate(request.accept_encodings)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Vary": "Accept-Encoding"}
    if enc.content_encoding:
        headers["Content-Encoding"] = enc.content_encoding
    response = Response(
        _stream(context.db(), filters, after, root_url(), held, detach, enc),
        mimetype="text/event-stream",
        headers=headers,
    )
    # A stream whose generator never ran (the client left first) still gives its slot back.
    response.call_on_close(held.release_unless_handed_over)
    return response
