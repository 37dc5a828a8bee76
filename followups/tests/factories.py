"""Follow-up test data, built through the services (no hand-made rows)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import time_machine

from assessments.models import InstrumentResponse, ResponseContext, ResponseSource
from assessments.services import response_record
from followups import services
from followups.models import BoosterSuggestion, FollowUpVisit, SafetyAlert
from prescribers.tests.factories import prescriber
from scheduling.tests.factories import AppointmentFactory, appointment_type


def phq9_for_total(total: int, *, item9: int = 0) -> list[int]:
    """PHQ-9 answers with ``total`` and item 9 = ``item9`` (items 1–8 fill the rest)."""
    rest = total - item9
    items = []
    for _ in range(8):
        v = min(3, rest)
        items.append(v)
        rest -= v
    assert rest == 0, "total out of range"
    return [*items, item9]


def clinician_user(**kwargs: Any):
    return prescriber(**kwargs)


def follow_up_appointment(*, patient, clinician=None, code: str = "follow_up", **kwargs: Any):
    return AppointmentFactory(patient=patient, appointment_type=appointment_type(code), clinician=clinician, **kwargs)


def visit_for(*, patient, clinician=None) -> FollowUpVisit:
    clinician = clinician or clinician_user()
    return services.visit_open(appointment=follow_up_appointment(patient=patient, clinician=clinician), by=clinician)


@contextmanager
def during_visit(*visits: FollowUpVisit, minutes: int = 20) -> Iterator[datetime]:
    """The clock ``minutes`` into the latest of these visits (factories book them weeks ahead): a
    note is signed once its visit has started. Sign in inside the block (a session from before
    the jump would have timed out)."""
    at = max(v.appointment.start for v in visits) + timedelta(minutes=minutes)
    with time_machine.travel(at, tick=False):
        yield at


def record(
    *, patient, code: str, answers, context: str = ResponseContext.FOLLOW_UP, by=None, at: datetime | None = None
) -> InstrumentResponse:
    if by is None:
        return response_record(
            patient=patient,
            code=code,
            answers=answers,
            context=context,
            by=None,
            source=ResponseSource.PATIENT,
            administered_at=at,
        )
    return response_record(patient=patient, code=code, answers=answers, context=context, by=by, administered_at=at)


def alert_for(*, patient, clinician=None) -> SafetyAlert:
    response = record(patient=patient, code="phq9", answers=phq9_for_total(12, item9=1))
    alert = SafetyAlert.objects.get(response=response)  # raised by the hook on recording
    if clinician is not None:
        SafetyAlert.objects.filter(pk=alert.pk).update(clinician=clinician)
        alert.refresh_from_db()
    return alert


def suggestion_for(*, patient) -> BoosterSuggestion:
    clinician = clinician_user()
    record(patient=patient, code="phq9", answers=phq9_for_total(20), context=ResponseContext.BASELINE, by=clinician)
    record(patient=patient, code="phq9", answers=phq9_for_total(6), by=clinician)
    response = record(patient=patient, code="phq9", answers=phq9_for_total(14), by=clinician)
    suggestion = services.booster_evaluate(response=response)
    assert suggestion is not None
    return suggestion


def object_for_route(kwarg: str, patient) -> Any:
    """The object a URL kwarg names, for the access matrix (tests/test_access_matrix.py)."""
    if kwarg == "visit_id":
        return visit_for(patient=patient)
    if kwarg == "suggestion_id":
        return suggestion_for(patient=patient)
    if kwarg == "alert_id":
        return alert_for(patient=patient)
    raise AssertionError(f"no route object for {kwarg}")
