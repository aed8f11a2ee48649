"""Exceptions for the errors gantry serve answers with."""

from __future__ import annotations

from typing import Any, Optional


class GantryError(Exception):
    """An error answer of gantry serve (or a failure to reach it).

    ``code`` is the server's error code (``session_busy``, ``bad_env``, ...), ``message`` its
    message, ``status`` the HTTP status and ``request_id`` the id the server logged the request under.
    """

    def __init__(self, message: str, *, code: str = "", status: int = 0, request_id: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        if self.code:
            return f"{self.message} ({self.code}, HTTP {self.status})"
        return self.message


class BadRequest(GantryError):
    """400: the request's shape or values cannot be used."""


class Unauthorized(GantryError):
    """401: no token, or an unknown one."""


class Forbidden(GantryError):
    """403: the token may not do this."""


class NotFound(GantryError):
    """404: no such session (or endpoint)."""


class SessionBusy(GantryError):
    """409: the session is running another action."""


class SessionExpired(GantryError):
    """410: the session ended after its idle timeout."""


class TooLarge(GantryError):
    """413: body, code or batch over the server's limit."""


class TooManySessions(GantryError):
    """429: the server's or the token's session limit."""


class Unavailable(GantryError):
    """503: draining, or a runtime that cannot start or run."""


class DeviceError(GantryError):
    """502: a device answered a stop with an error."""


class ServerStartError(GantryError):
    """A local gantry serve could not be started."""


_BY_STATUS: dict[int, type[GantryError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: SessionBusy,
    410: SessionExpired,
    413: TooLarge,
    429: TooManySessions,
    502: DeviceError,
    503: Unavailable,
}


def error_from_body(status: int, body: Any, fallback: str = "") -> GantryError:
    """The exception for an error answer with status and decoded JSON body."""
    cls = _BY_STATUS.get(status, GantryError)
    err: dict[str, Any] = {}
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
    message = str(err.get("message") or fallback or f"HTTP {status}")
    return cls(message, code=str(err.get("code", "")), status=status, request_id=str(err.get("request_id", "")))


def error_from_item(item: dict[str, Any]) -> GantryError:
    """The exception for a failed item of a batch answer ({"code", "message"})."""
    code = str(item.get("code", ""))
    status = {
        "session_busy": 409,
        "session_expired": 410,
        "unknown_session": 404,
        "command_too_long": 400,
        "bad_env": 400,
        "quota": 429,
        "too_many_sessions": 429,
    }.get(code, 0)
    cls: type[GantryError] = _BY_STATUS.get(status, GantryError)
    return cls(str(item.get("message", code)), code=code, status=status)


def optional_str(v: Optional[Any]) -> str:
    return "" if v is None else str(v)
