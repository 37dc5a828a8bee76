"""How the consent step reaches the signing pages, without packets importing the app that owns them.

``register_consent_step(fn)`` with ``fn(packet) -> ConsentStep | None``: what the patient of this
packet has to sign before their visit, as the consent app says it (None: nothing to sign online).
While no function is registered the packet has no consent step: the consent is taken at the visit,
as before. The consent app registers from its AppConfig.ready and, once the patient has signed,
calls ``packets.services.consent_step_done`` so the packet's progress shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ConsentStep:
    url: str  # the signing page the patient is handed over to (token-free, in their scoped session)
    done: bool  # every consent the visit needs is signed in its current version


ConsentStepFn = Callable[[Any], ConsentStep | None]
_CONSENT_STEP: list[ConsentStepFn] = []


def register_consent_step(fn: ConsentStepFn) -> ConsentStepFn:
    if fn not in _CONSENT_STEP:
        _CONSENT_STEP.append(fn)
    return fn


def unregister_consent_step(fn: ConsentStepFn) -> None:
    if fn in _CONSENT_STEP:
        _CONSENT_STEP.remove(fn)


def consent_online() -> bool:
    return bool(_CONSENT_STEP)


def consent_step(packet: Any) -> ConsentStep | None:
    for fn in list(_CONSENT_STEP):
        if (step := fn(packet)) is not None:
            return step
    return None
