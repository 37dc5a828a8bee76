"""Set-up for care-team tests: directory entries, care-team members with an authorisation, a
course with real signed infusion sessions (doses), PHQ-9 and GAD-7 scores, and adjunct visits."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import factory
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from care_team import services
from care_team.models import CareTeamMember, OutsideProvider, ProgressLetter, SharingAuthorisation
from prescribers.tests.factories import valid_npi
from scheduling.models import AppointmentType
from scheduling.tests.factories import AppointmentFactory, LocationFactory, ResourceFactory


def _staff():
    return UserFactory(role=Role.NURSE, credentials="RN")


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutsideProvider

    name = factory.Sequence(lambda n: f"Dr Avery Quinn {n}")
    role = "psychiatrist"
    npi = factory.Sequence(lambda n: valid_npi(100 + n))
    practice = "Lakeside Psychiatry"
    secure_fax = "(555) 010-2000"
    secure_email = "records@lakeside.example"
    created_by = factory.LazyFunction(_staff)


def member(*, patient, provider: OutsideProvider | None = None, relationship: str = "psychiatrist") -> CareTeamMember:
    return CareTeamMember.objects.create(
        patient=patient,
        provider=provider or ProviderFactory(),
        relationship=relationship,
        added_by=_staff(),
        added_at=timezone.now(),
    )


def authorised(
    *, patient, scope: str = "progress", signed_on: date | None = None, expires_on: date | None = None, **kwargs: Any
) -> SharingAuthorisation:
    """A care-team member whose authorisation to share is in force (signed a week ago)."""
    found = member(patient=patient, **kwargs)
    return SharingAuthorisation.objects.create(
        patient=patient,
        member=found,
        scope=scope,
        signed_on=signed_on or timezone.localdate() - timedelta(days=7),
        expires_on=expires_on,
        recorded_by=_staff(),
        recorded_at=timezone.now(),
    )


def adjunct_type() -> AppointmentType:
    return services.adjunct_type()


def adjunct_visit(*, patient, start=None, **fields: Any):
    location = fields.pop("location", None) or LocationFactory(time_zone="UTC")
    room = fields.pop("resource", None) or ResourceFactory(location=location, kind="room")
    start = start or timezone.now() - timedelta(hours=2)
    return AppointmentFactory(
        patient=patient,
        appointment_type=adjunct_type(),
        location=location,
        resource=room,
        start=start,
        end=start + timedelta(minutes=50),
        **fields,
    )


def draft_letter(*, patient=None, authorisation: SharingAuthorisation | None = None) -> ProgressLetter:
    """A letter drafted on request about a patient with an active plan (no session needed)."""
    from consultations import services as consultation_services
    from consultations.tests.factories import plan_for, signed_consultation

    if authorisation is None:
        consultation = signed_consultation(**({"patient": patient} if patient else {}))
        plan = plan_for(consultation)
        consultation_services.plan_transition(plan=plan, to_status="active", by=consultation.signed_by)
        authorisation = authorised(patient=consultation.patient)
    by = UserFactory(role=Role.NURSE, credentials="RN")
    return services.letter_draft(member=authorisation.member, by=by)


def object_for_route(kwarg: str, patient) -> Any:
    """The object a URL kwarg names, for the access matrix (tests/test_access_matrix.py)."""
    if kwarg == "provider_id":
        return ProviderFactory()
    if kwarg == "member_id":
        return member(patient=patient)
    if kwarg == "authorisation_id":
        return authorised(patient=patient)
    if kwarg == "letter_id":
        return draft_letter(patient=patient)
    if kwarg == "adjunct_id":
        return adjunct_visit(patient=patient)
    raise AssertionError(f"no route object for {kwarg}")


def signed_course(*, nurse_user, verifier, planned: int = 1, patient=None):
    """A course of ``planned`` infusions whose first session is walked to signed through the
    infusions services (a verified dose, PHQ-9 before it), plus a GAD-7; returns the session."""
    from consultations import services as consultation_services
    from consultations.tests.factories import plan_for, signed_consultation
    from infusions import rules as infusion_rules
    from infusions import services as infusion_services
    from infusions.tests.factories import advance, set_policy
    from scheduling.tests.factories import appointment_type

    set_policy()
    consultation = signed_consultation(**({"patient": patient} if patient else {}))
    plan = plan_for(consultation, sessions_planned=planned)
    consultation_services.plan_transition(plan=plan, to_status="active", by=consultation.signed_by)
    location = LocationFactory(time_zone="UTC")
    chair = ResourceFactory(location=location, kind="chair")
    start = timezone.now() - timedelta(minutes=5)
    appointment = AppointmentFactory(
        patient=consultation.patient,
        appointment_type=appointment_type("infusion"),
        location=location,
        resource=chair,
        start=start,
        end=start + timedelta(minutes=120),
    )
    session = infusion_services.session_open(appointment=appointment, by=nurse_user)
    return advance(session, infusion_rules.SessionStatus.SIGNED, nurse_user=nurse_user, verifier=verifier)


def gad7(patient, by, answers=(2, 2, 1, 1, 1, 0, 0)):
    from assessments.models import ResponseContext
    from assessments.services import response_record

    return response_record(patient=patient, code="gad7", answers=list(answers), context=ResponseContext.BASELINE, by=by)
