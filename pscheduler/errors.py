"""Typed domain errors.  The web layer maps each to its HTTP status; the CLI and daemons use
the same types.  Messages are written for the person who sent the request."""

from __future__ import annotations


class DomainError(Exception):
    status = 500

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    status = 400


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Gone(DomainError):
    status = 410


class Unprocessable(DomainError):
    """422: the request is well-formed but cannot be carried out (no tool, limits broken)."""

    status = 422


class NotImplementedYet(DomainError):
    status = 501


class UpstreamError(DomainError):
    """Another host (a participant) failed us; the message names the host."""

    status = 502
