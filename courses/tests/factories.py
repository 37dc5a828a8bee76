"""Set-up for course tests: a patient with an active plan and a signed standing order, and
infusions already given (rows written directly: test set-up only, with the amounts a test
sums by hand)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from consultations import services as consultation_services
from consultations.selectors import current_order
from consultations.services.orders import order_sign
from consultations.tests.factories import plan_for, signed_consultation
from courses.models import CoursePolicy
from infusions.models import DoseCalculation, InfusionSession
from scheduling.models import AppointmentStatus
from scheduling.tests.factories import AppointmentFactory, LocationFactory, ResourceFactory, appointment_type


def set_course_policy(**fields) -> CoursePolicy:
    policy, _ = CoursePolicy.objects.get_or_create(pk=1)
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()
    return policy


def course(*, patient=None, sessions_planned: int = 6, min_interval_hours: int | None = None, location=None):
    """A patient on an active depression plan with version 1 of its standing order signed."""
    consultation = signed_consultation(**({"patient": patient} if patient else {}))
    plan = plan_for(consultation, sessions_planned=sessions_planned)
    prescriber = consultation.signed_by
    consultation_services.plan_transition(plan=plan, to_status="active", by=prescriber)
    order = current_order(plan) or order_sign(plan=plan, by=prescriber)
    if min_interval_hours:
        order = order_sign(
            plan=plan, by=prescriber, reason="Space the infusions", changes={"min_interval_hours": min_interval_hours}
        )
    location = location or LocationFactory(time_zone="America/New_York")
    return SimpleNamespace(
        patient=consultation.patient,
        plan=plan,
        order=order,
        prescriber=prescriber,
        location=location,
        chair=ResourceFactory(location=location, kind="chair"),
    )


def given_infusion(
    c,
    *,
    started_at: datetime,
    delivered_mg: Decimal | str,
    weight_kg: Decimal | str = "80",
    dose_mg: Decimal | str = "40",
    stopped_early: bool = False,
) -> InfusionSession:
    """An infusion of ``c``'s plan given at ``started_at``: the pump delivered ``delivered_mg``
    of a ``dose_mg`` bag calculated on ``weight_kg`` (stopped early when it delivered less)."""
    delivered, dose, weight = Decimal(delivered_mg), Decimal(dose_mg), Decimal(weight_kg)
    appointment = AppointmentFactory(
        patient=c.patient,
        appointment_type=appointment_type("infusion"),
        location=c.location,
        resource=c.chair,
        start=started_at,
        end=started_at + timedelta(minutes=120),
        status=AppointmentStatus.COMPLETED,
    )
    session = InfusionSession.objects.create(
        appointment=appointment,
        patient=c.patient,
        plan=c.plan,
        order=c.order,
        status="stopped_early" if stopped_early else "completed",
        stop_reason_code="patient_request" if stopped_early else "",
        started_at=started_at,
        ended_at=started_at + timedelta(minutes=40),
        created_by=c.prescriber,
    )
    calc = DoseCalculation.objects.create(
        session=session,
        order=c.order,
        form="mg_per_kg",
        weight_kg=weight,
        mg_per_kg=(dose / weight).quantize(Decimal("0.0001")),
        duration_min=Decimal(40),
        uncapped_dose_mg=dose,
        max_mg=Decimal(50),
        capped=False,
        ordered_dose_mg=dose,
        vial_mg_per_ml=Decimal(10),
        drug_volume_ml=dose / 10,
        dose_mg=dose,
        diluent_ml=Decimal(100) - dose / 10,
        total_volume_ml=Decimal(100),
        final_mg_per_ml=(dose / 100).quantize(Decimal("0.001")),
        rate_ml_per_h=Decimal(150),
        mg_per_kg_per_h=Decimal("0.75"),
        steps=[],
        fingerprint="set-up",
        plan=c.plan,
        calculated_by=c.prescriber,
        calculated_at=started_at - timedelta(minutes=20),
    )
    InfusionSession.objects.filter(pk=session.pk).update(
        started_dose=calc, delivered_mg=delivered, delivered_ml=(delivered / dose * 100).quantize(Decimal("0.01"))
    )
    session.refresh_from_db()
    return session


def object_for_route(kwarg: str, patient):
    """What a URL kwarg names, for the access matrix (tests/test_access_matrix.py)."""
    from django.utils import timezone

    from accounts.tests.factories import UserFactory
    from courses.models import CourseFinding, MaintenanceRescreen

    if kwarg == "finding_id":
        return CourseFinding.objects.create(
            patient=patient,
            kind="urinary",
            message="Urinary symptoms at the pre-check.",
            source="[S23]",
            created_at=timezone.now(),
        )
    return MaintenanceRescreen.objects.create(
        patient=patient, outcome="needs_review", state="review", recorded_by=UserFactory(), recorded_at=timezone.now()
    )
