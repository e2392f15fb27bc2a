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

Commands that wait use ``Waiter`` instead: "nap until something about task T happens, then
look again", which is a plain sleep against servers without the stream.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import requests

from pscheduler.toolkit.vocabulary import FINAL_STATES


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


class Follow:
    """Events forever from an open stream, reconnecting with Last-Event-ID; ``close()`` ends
    it, also from another thread."""

    def __init__(self, base: str, stream: EventStream, retries: int, kw: dict):
        self.base, self.stream, self.retries, self.kw = base, stream, retries, kw
        self.closed = False

    def __iter__(self) -> Iterator[Event]:
        failures = 0
        while not self.closed:
            try:
                for event in self.stream:
                    failures = 0
                    yield event
            except requests.RequestException:
                pass
            finally:
                self.stream.close()
            failures += 1
            if self.closed or failures > self.retries:
                return
            time.sleep(min(5.0, 0.5 * failures))
            if self.closed:
                return
            with contextlib.suppress(requests.RequestException):
                again = open_stream(self.base, **{**self.kw, "last_id": self.stream.last_id})
                if again is None:
                    return
                self.stream = again

    def close(self) -> None:
        self.closed = True
        self.stream.close()


def follow(base: str, retries: int = 5, **kw) -> Follow | None:
    """Events forever, reconnecting with Last-Event-ID; None if the server has no stream."""
    stream = open_stream(base, **kw)
    return None if stream is None else Follow(base, stream, retries, kw)


SAFETY_S = 10.0  # with a live stream, look again this often anyway (a lost event costs this)
READY_S = 5.0  # wait this long for the server to confirm the subscription


class Waiter:
    """Wakes a waiting command when the server reports something (about one task, if asked).

    Commands wait as "nap, then look again".  On a node with ``/events`` the nap ends as soon
    as a matching event arrives (or after ``SAFETY_S``); on a server without the stream
    (``live`` is False) it is a plain sleep of the caller's polling interval, so the same code
    polls original pScheduler hosts.  Events are read by a thread into a queue and signalled
    on a pipe, so ``fileno()`` can join a ``select`` (``monitor`` waits for keys and events).
    """

    def __init__(
        self,
        base: str | None,
        task: str | None = None,
        test: str | None = None,
        kinds: list[str] | None = None,
        debug=None,
    ):
        debug = debug or (lambda message: None)
        self.queue: collections.deque[Event] = collections.deque(maxlen=10000)
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._follow: Follow | None = None
        self._thread: threading.Thread | None = None
        if base:
            try:
                self._follow = follow(base, task=task, test=test, kinds=kinds)
            except (requests.RequestException, OSError) as exc:
                debug(f"Event stream unavailable ({exc}); polling")
        self.live = self._follow is not None
        if not self.live:
            debug("No event stream; polling")
            return
        debug(f"Following the event stream at {base}/events")
        ready = threading.Event()
        self._thread = threading.Thread(target=self._pump, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(READY_S)

    @classmethod
    def for_task(cls, task_url: str, debug=None) -> Waiter:
        """Events about the task at ``https://host/pscheduler/tasks/<uuid>``."""
        base, _, rest = task_url.partition("/tasks/")
        return cls(base if rest else None, task=rest.strip("/").split("/")[0], debug=debug)

    def _pump(self, ready: threading.Event) -> None:
        try:
            for event in self._follow:
                if event.kind == "ready":
                    ready.set()
                    continue
                self.queue.append(event)
                self._signal()
        except Exception:  # noqa: BLE001 - a broken stream means polling, never a crash
            pass
        finally:
            self.live = False  # gone for good: callers fall back to polling
            ready.set()
            self._signal()

    def _signal(self) -> None:
        with contextlib.suppress(OSError):  # a full pipe already says "look"
            os.write(self._write, b".")

    def fileno(self) -> int:
        return self._read

    def take(self) -> list[Event]:
        """The events that arrived since the last look (the pipe drained too)."""
        while select.select([self._read], [], [], 0)[0]:
            if not os.read(self._read, 4096):
                break
        events = []
        while self.queue:
            events.append(self.queue.popleft())
        return events

    def wait(self, timeout: float, match: Callable[[Event], bool] | None = None) -> Event | None:
        """The first event that matches (or a ``reset``: events may be lost, so look again)
        within ``timeout`` seconds, else None.  Without a stream: sleeps, returns None."""
        end = time.monotonic() + timeout
        while True:
            while self.queue:
                event = self.queue.popleft()
                if match is None or event.kind == "reset" or match(event):
                    return event
            left = end - time.monotonic()
            if left <= 0:
                return None
            if not self.live:
                if self._follow is None:
                    time.sleep(left)
                return None  # a stream that just died: the caller looks now, then polls
            if select.select([self._read], [], [], left)[0]:
                os.read(self._read, 4096)

    def nap(
        self,
        poll_s: float,
        match: Callable[[Event], bool] | None = None,
        limit_s: float | None = None,
    ) -> Event | None:
        """Until a matching event (at most ``SAFETY_S``) with a stream; ``poll_s`` without;
        never longer than ``limit_s``."""
        timeout = SAFETY_S if self.live else poll_s
        return self.wait(timeout if limit_s is None else max(0.0, min(timeout, limit_s)), match)

    def until(self, match: Callable[[Event], bool]) -> Callable[[float], bool]:
        """A sleep function for ``common.wait_until``: True, then always True, once a matching
        event arrived; a plain sleep without a stream."""
        seen = False

        def pause(seconds: float) -> bool:
            nonlocal seen
            seen = seen or self.wait(seconds, match) is not None
            return seen

        return pause

    def close(self) -> None:
        if self._follow is not None:
            self._follow.close()
        if self._thread is not None:
            self._thread.join(2.0)
            if self._thread.is_alive():
                return  # leave the pipe to the process's end rather than close it under a writer
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._read = self._write = -1

    def __enter__(self) -> Waiter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_over(run_uuid: str) -> Callable[[Event], bool]:
    """Matches the events that end a run: its merged result or a final state."""

    def match(event: Event) -> bool:
        if event.data.get("run") != run_uuid:
            return False
        if event.kind in ("result-merged", "run-nonstart", "run-deleted"):
            return True
        new = (event.data.get("data") or {}).get("new")
        return event.kind == "run-state" and new in FINAL_STATES

    return match


def run_placed(event: Event) -> bool:
    """A new run of the task, or the task's end."""
    return event.kind in ("run-placed", "run-nonstart", "task-cancelled")
