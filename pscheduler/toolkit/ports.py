"""Free local ports, for a program a tool or a test starts to listen on."""

from __future__ import annotations

import socket


def free_ports(count: int, host: str = "") -> list[int]:
    """``count`` distinct free ports, ascending.

    The sockets are held bound together: one at a time, the kernel may hand out the same
    port twice (nuttcp then refuses a control port equal to its data port).  Ascending keeps
    a control port (the first) below the data ports a program numbers upwards from the next.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets = [socket.socket(family) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        return sorted(sock.getsockname()[1] for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def free_port(host: str = "") -> int:
    return free_ports(1, host)[0]
