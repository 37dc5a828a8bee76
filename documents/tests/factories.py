"""Set-up for document tests: real records through the stages' own factories and services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from django.utils import timezone

from assessments.models import ResponseContext
from assessments.services import response_record
from consultations.tests.factories import plan_for, signed_consultation
from documents import services
from documents.models import Document, DocumentKind
from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type


def signed(**overrides: Any):
    """A signed, eligible intake consultation (clean intake plus ``overrides``)."""
    return signed_consultation(**overrides)


# After the factory's baseline PHQ-9 of 10 (moderate): 8, 6, 4, 3, then 3 for any further session.
PHQ9_COURSE = [
    [2, 2, 1, 1, 1, 1, 0, 0, 0],  # 8
    [1, 1, 1, 1, 1, 1, 0, 0, 0],  # 6
    [1, 1, 1, 1, 0, 0, 0, 0, 0],  # 4
    [1, 1, 1, 0, 0, 0, 0, 0, 0],  # 3
]


def course(*, sessions: int = 4, planned: int = 6):
    """A consultation signed and planned ``2 * sessions + 7`` days ago, then ``sessions`` completed
    infusions two days apart, each with a PHQ-9 before it (the factory's baseline is 10)."""
    from consultations.services import plan_transition

    began = timezone.now() - timedelta(days=2 * sessions + 7)
    with time_machine.travel(began, tick=True):
        consultation = signed_consultation()
        plan = plan_for(consultation, sessions_planned=max(sessions, planned))
        plan = plan_transition(plan=plan, by=consultation.signed_by, to_status="active", reason="")
    patient = consultation.patient
    location = LocationFactory(address="1 Main Street, Springfield", phone="+12125550100")
    for n in range(sessions):
        at = began + timedelta(days=2 * n + 3)
        AppointmentFactory(
            patient=patient,
            appointment_type=appointment_type("infusion"),
            location=location,
            start=at,
            end=at + timedelta(hours=2),
            status="completed",
        )
        response_record(
            patient=patient,
            code="phq9",
            answers=PHQ9_COURSE[min(n, len(PHQ9_COURSE) - 1)],
            context=ResponseContext.PRE_INFUSION,
            by=consultation.signed_by,
            administered_at=at,
        )
    return plan


def issued_summary(*, by=None) -> Document:
    consultation = signed_consultation()
    document = services.issue(
        kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=by or consultation.signed_by
    )
    return services.document_render(document_id=document.pk)


def object_for_route(kwarg: str, patient) -> Any:
    """The object a URL kwarg names, for the access matrix (tests/test_access_matrix.py)."""
    if kwarg == "document_id":
        consultation = signed_consultation(patient=patient)
        return services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by)
    raise AssertionError(f"no route object for {kwarg}")
