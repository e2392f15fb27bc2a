"""Hole 1: privilege from a loopback source.  The node's own archiver sends from the host's
addresses on behalf of whoever posted a task, so an address must never make an operator."""

from __future__ import annotations

import socket
import threading

import pytest

from tests.archiving._helpers import noop_task, wait_archivings


def _pause_archive(url: str) -> dict:
    return {"archiver": "http", "data": {"schema": 1, "op": "put", "_url": url}}


def _post_from(session, node, task: dict) -> str:
    r = session.post(node.url("tasks"), json=task, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _first_run(node, task_url: str) -> dict:
    r = node.session.get(
        task_url + "/runs/first", params={"wait-merged": "true", "wait": "30"}, timeout=45
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_ssrf_pause_through_an_http_archive_does_not_pause_the_node(node, outsider):
    """The issue's repro, with the archiver really running and the default policy."""
    task = noop_task([_pause_archive(node.url("control/pause"))])
    run = _first_run(node, _post_from(outsider, node, task))
    (archiving,) = wait_archivings(node, run["href"], 1, timeout=30)
    assert not archiving["archived"]
    message = archiving["diags"][-1]["message"]
    assert "not allowed" in message and "own API" in message, message
    assert node.get("stat/control/pause").json() == {"is_paused": False}


class _Relay:
    """Forwards every loopback connection to the node's API: an open proxy on the host, the
    way an archive would reach the API if the destination policy let it."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(60)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            upstream = socket.create_connection(self.target, timeout=30)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self.sock.close()


def test_a_request_that_reaches_the_api_from_the_host_itself_is_no_operator(open_node, outsider):
    """Even when an archive does reach the API from 127.0.0.1 (through a relay on the
    host), neither pause nor a PUT on someone else's run is granted."""
    relay = _Relay(("127.0.0.1", open_node.port))
    try:
        url = f"https://127.0.0.1:{relay.port}/pscheduler/control/pause"
        run = _first_run(
            open_node, _post_from(outsider, open_node, noop_task([_pause_archive(url)]))
        )
        (archiving,) = wait_archivings(open_node, run["href"], 1, timeout=30)
        assert relay.accepted >= 1  # the archiver really got to the API
        assert not archiving["archived"]
        assert archiving["diags"][-1]["message"].startswith("Failed to put result: 403")
    finally:
        relay.close()
    assert open_node.get("stat/control/pause").json() == {"is_paused": False}


def test_local_source_without_token_cannot_administer_or_touch_others_tasks(node, outsider, admin):
    assert node.put("control/pause").status_code == 403
    assert node.put("control/resume").status_code == 403
    task_url = _post_from(outsider, node, noop_task([]))
    run = _first_run(node, task_url)
    # From 127.0.0.1 (a host address, not the requester): no writes on that task.
    assert node.session.put(run["href"], json={"part-data-full": {}}, timeout=10).status_code == 403
    assert node.session.delete(run["href"], timeout=10).status_code == 403
    assert node.session.delete(task_url, timeout=10).status_code == 403
    # The requester keeps its rights, and an admin token is an operator wherever it comes from.
    assert node.session.delete(task_url, headers=admin, timeout=10).status_code == 200
    assert outsider.delete(task_url, timeout=10).status_code == 200


@pytest.mark.parametrize("method", ["put", "post"])
def test_node_own_api_is_refused_even_when_loopback_is_allowed(open_node, outsider, method):
    archive = {"archiver": "http", "data": {"op": method, "_url": open_node.url("control/resume")}}
    run = _first_run(open_node, _post_from(outsider, open_node, noop_task([archive])))
    (archiving,) = wait_archivings(open_node, run["href"], 1, timeout=30)
    assert "own API" in archiving["diags"][-1]["message"]
