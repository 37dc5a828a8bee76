"""Alerts that later stages show on a patient's chair on the board (infusions knows no later stage).

``register_chair_alerts(permission, fn)`` with ``fn(patient_ids) -> {patient_id: [alert, ...]}``: the
board shows each returned alert on the chair of its patient to a clinician who holds ``permission``
(e.g. the follow-up stage's unacknowledged questionnaire safety alerts, registered from its
AppConfig.ready). Registering the same function twice keeps one copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

ChairAlerts = Callable[[set[int]], dict[int, list]]
_PROVIDERS: list[tuple[str, ChairAlerts]] = []


def register_chair_alerts(permission: str, fn: ChairAlerts) -> ChairAlerts:
    if (permission, fn) not in _PROVIDERS:
        _PROVIDERS.append((permission, fn))
    return fn


def alerts_by_patient(user, patient_ids: Iterable[int]) -> dict[int, list]:
    """Every registered provider's alerts that ``user`` may see, by patient; {} when none applies."""
    ids = set(patient_ids)
    found: dict[int, list] = {}
    for permission, fn in list(_PROVIDERS):
        if not user.has_perm(permission):
            continue
        for patient_id, alerts in fn(ids).items():
            found.setdefault(patient_id, []).extend(alerts)
    return found
