"""A small Server-Sent Events client for ``GET /pscheduler/events``, for ``monitor`` and ``watch``.

Speaks only the public API (no server module): ``open_stream`` returns ``None`` when the
server has no event stream (an original pScheduler host, or an older node), so the caller
falls back to polling.  ``follow`` reconnects with ``Last-Event-ID`` after a dropped
connection, so no event inside the server's retention is lost.

    stream = open_stream("https://host/pscheduler", task=uuid)
    if stream is None:
        ...poll as before...
    for event in stream:           # Event(id, kind, data)
        if event.kind == "run-state": ...
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests


@dataclass
class Event:
    id: str | None
    kind: str
    data: dict = field(default_factory=dict)


def parse(lines: Iterator[str]) -> Iterator[Event]:
    """SSE framing: fields until a blank line; comments (``:``) and unknown fields ignored."""
    event_id: str | None = None
    kind = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                text = "\n".join(data)
                try:
                    body = json.loads(text)
                except ValueError:
                    body = {"text": text}
                yield Event(event_id, kind, body if isinstance(body, dict) else {"value": body})
            kind, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "id":
            event_id = value
        elif name == "event":
            kind = value
        elif name == "data":
            data.append(value)


class EventStream:
    """An open stream; iterate for events, ``close()`` when done.  ``last_id`` resumes."""

    def __init__(self, response: requests.Response):
        self.response = response
        self.last_id: str | None = None

    def __iter__(self) -> Iterator[Event]:
        lines = self.response.iter_lines(decode_unicode=True)
        for event in parse(line if line is not None else "" for line in lines):
            if event.id is not None:
                self.last_id = event.id
            yield event

    def close(self) -> None:
        """Ends the stream, also from another thread blocked reading it."""
        with contextlib.suppress(Exception):
            sock = self.response.raw._connection.sock  # urllib3 2: the live socket
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self.response.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _session() -> requests.Session:
    session = requests.Session()
    session.verify = False
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify=False
    return session


def open_stream(
    base: str,
    task: str | None = None,
    test: str | None = None,
    kinds: list[str] | None = None,
    last_id: str | None = None,
    timeout: float = 10.0,
    session: requests.Session | None = None,
) -> EventStream | None:
    """Connect to ``<base>/events`` (base ends in ``/pscheduler``); None if not offered.

    Connection errors other than "no such resource" propagate, so the caller can tell a
    server that is down from one that only lacks the stream.
    """
    params: dict[str, str] = {}
    if task:
        params["task"] = task
    if test:
        params["test"] = test
    if kinds:
        params["kind"] = ",".join(kinds)
    headers = {"Accept": "text/event-stream"}
    if last_id is not None:
        headers["Last-Event-ID"] = str(last_id)
    session = session or _session()
    response = session.get(
        base.rstrip("/") + "/events",
        params=params,
        headers=headers,
        stream=True,
        timeout=(timeout, 60.0),  # the server comments every 10 s, so 60 s of silence = dead
        verify=False,
    )
    content_type = response.headers.get("Content-Type", "")
    if response.status_code in (404, 405, 501) or (
        response.status_code == 200 and not content_type.startswith("text/event-stream")
    ):
        response.close()
        return None
    if response.status_code != 200:
        message = response.text.strip()
        response.close()
        raise requests.HTTPError(f"{response.status_code}: {message}", response=response)
    return EventStream(response)


def follow(base: str, retries: int = 5, **kw) -> Iterator[Event] | None:
    """Events forever, reconnecting with Last-Event-ID; None if the server has no stream."""
    stream = open_stream(base, **kw)
    if stream is None:
        return None

    def events() -> Iterator[Event]:
        nonlocal stream
        failures = 0
        while True:
            try:
                for event in stream:
                    failures = 0
                    yield event
            except requests.RequestException:
                pass
            finally:
                stream.close()
            failures += 1
            if failures > retries:
                return
            time.sleep(min(5.0, 0.5 * failures))
            with contextlib.suppress(requests.RequestException):
                again = open_stream(base, **{**kw, "last_id": stream.last_id})
                if again is None:
                    return
                stream = again

    return events()
