"""Who is asking, from where: set once per request, read by the audit writer and logs."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip_address: str | None = None
    user_agent: str = ""
    # Bound once the session and the user are known (LocationContextMiddleware): the signed-in
    # user's id and the site they work at, for the logs and for the audit chain a write joins.
    user_id: int | None = None
    location_id: int | None = None


# The session key under which the site a user works at is kept (the calendar's chosen site).
LOCATION_SESSION_KEY = "scheduling_location"

_EMPTY = RequestContext()  # outside a request: commands, tasks, the shell
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("grace_request_context", default=None)


def current() -> RequestContext:
    return _current.get() or _EMPTY


def bind(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def bind_where(*, user_id: int | None, location_id: int | None) -> contextvars.Token:
    """Add who and where to the current request's context (the request id and address stay)."""
    return _current.set(replace(current(), user_id=user_id, location_id=location_id))


def reset(token: contextvars.Token) -> None:
    _current.reset(token)
