"""Errors the use cases raise; the web layer maps each to one HTTP status."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class; `field` names the input at fault when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(ServiceError):
    """An id that does not exist (404)."""


class ConflictError(ServiceError):
    """A name clash, a stale version or a row still referenced (409)."""


class ValidationFailed(ServiceError):
    """Input that parses but makes no sense together (422)."""
