"""What later apps do with every stored instrument response.

``register_response_hook(fn)`` with ``fn(response, subject)``: called by
``assessments.services.response_record`` for every response it stores, inside the same
transaction, whatever the channel (intake, infusion day, follow-up visit, the patient's
link). ``subject`` is what the response was filed against (a consultation, a session, a
visit, a link) or None. The follow-up stage registers its safety check here from its
AppConfig.ready, so that a suicide item raises an alert through one code path while this
cross-stage app imports no stage app. Registering the same function twice keeps one copy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assessments.models import InstrumentResponse

ResponseHook = Callable[["InstrumentResponse", Any], None]  # (response, subject or None)
_HOOKS: list[ResponseHook] = []


def register_response_hook(fn: ResponseHook) -> ResponseHook:
    if fn not in _HOOKS:
        _HOOKS.append(fn)
    return fn


def unregister_response_hook(fn: ResponseHook) -> None:
    if fn in _HOOKS:
        _HOOKS.remove(fn)


def response_recorded(response, subject) -> None:
    for hook in list(_HOOKS):
        hook(response, subject)
