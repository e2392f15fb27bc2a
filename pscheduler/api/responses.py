"""Response helpers with the original's exact bodies and types (spec/api.md §0.2)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request

from pscheduler.api import context
from pscheduler.api.args import arg_boolean


def dumps(data: Any, pretty: bool | None = None) -> str:
    if pretty is None:
        pretty = arg_boolean("pretty")
    if pretty:
        return (
            json.dumps(data, sort_keys=True, indent=4, separators=(", ", ": "), default=str) + "\n"
        )
    return json.dumps(data, separators=(",", ":"), default=str) + "\n"


def ok_json(data: Any, status: int = 200) -> Response:
    return Response(dumps(data), status=status, mimetype="application/json")


def ok_json_text(encoded: str) -> Response:
    """JSON the database already encoded: sent as it is, re-encoded only for ``pretty``."""
    if arg_boolean("pretty"):
        return ok_json(json.loads(encoded))
    return Response(encoded + "\n", status=200, mimetype="application/json")


def ok(message: str = "OK", mimetype: str | None = None) -> Response:
    return Response(message + "\n", status=200, mimetype=mimetype or "text/html")


def encodable(message: str) -> str:
    """The message with anything UTF-8 cannot carry (lone surrogates) escaped: an error
    message may quote whatever a client sent."""
    return message.encode("utf-8", "backslashreplace").decode("utf-8")


def text(status: int, message: str, headers: dict | None = None) -> Response:
    return Response(
        encodable(message).rstrip("\n") + "\n",
        status=status,
        mimetype="text/plain",
        headers=headers,
    )


def see_other(url: str) -> Response:
    return Response(url + "\n", status=303, mimetype="text/html", headers={"Location": url})


def host_url() -> str:
    """``<scheme>://<host>[:port]`` of this node (see ``context.public_host``)."""
    return f"{request.scheme}://{context.public_host()}{request.script_root}"


def base_url() -> str:
    """The request URL without its query, as the hrefs the original builds."""
    return (host_url() + request.path).rstrip("/")


def root_url() -> str:
    """``<scheme>://<host>[:port]/pscheduler``, as the client reached us."""
    return host_url() + "/pscheduler"
