"""Typed domain errors.  The web layer maps each to its HTTP status; the CLI and daemons use
the same types.  Messages are written for the person who sent the request."""

from __future__ import annotations


class DomainError(Exception):
    status = 500
    default = "Unknown internal error"

    def __init__(self, message: str = ""):
        message = message or self.default
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    default = "Bad request"
    status = 400


class Forbidden(DomainError):
    default = "Forbidden"
    status = 403


class NotFound(DomainError):
    default = "Resource not found."
    status = 404


class Conflict(DomainError):
    default = "Request would create a conflict."
    status = 409


class Gone(DomainError):
    default = "Gone"
    status = 410


class Unprocessable(DomainError):
    """422: the request is well-formed but cannot be carried out (no tool, limits broken)."""

    status = 422


class UpstreamError(DomainError):
    """Another host (a participant) failed us; the message names the host."""

    status = 502
