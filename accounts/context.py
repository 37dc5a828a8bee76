"""Who is asking, from where: set once per request, read by the audit writer and logs."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip_address: str | None = None
    user_agent: str = ""


_EMPTY = RequestContext()  # outside a request: commands, tasks, the shell
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("grace_request_context", default=None)


def current() -> RequestContext:
    return _current.get() or _EMPTY


def bind(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)
