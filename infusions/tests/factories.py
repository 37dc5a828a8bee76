"""Set-up helpers for infusion tests: a booked infusion today for a patient with an
active plan, and a session walked to any status through the services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consultations import services as consultation_services
from consultations.tests.factories import plan_for, signed_consultation
from infusions import rules, services
from infusions.models import InfusionPolicy, InfusionSession, RescueDrug
from scheduling.rules import local_day_bounds
from scheduling.tests.factories import AppointmentFactory, LocationFactory, ResourceFactory, appointment_type

S = rules.SessionStatus
PHQ9_CLEAR = [1, 1, 1, 1, 0, 0, 0, 0, 0]
PHQ9_ITEM9 = [1, 1, 1, 1, 0, 0, 0, 0, 1]
ALDRETE_FULL = [2, 2, 2, 2, 2]
ALDRETE_LOW = [1, 1, 2, 1, 2]
# A recovery reading that meets every discharge criterion (awake, dissociation resolved).
RECOVERED = {"sbp_mmhg": 126, "dbp_mmhg": 80, "hr_bpm": 74, "spo2_pct": 98, "rr_per_min": 14, "moaas": 5, "cadss6": 0}


def nurse(**kwargs):
    return UserFactory(role=Role.NURSE, credentials="RN", **kwargs)


def set_policy(**fields: Any) -> InfusionPolicy:
    policy, _ = InfusionPolicy.objects.get_or_create(pk=1)
    for name, value in {"min_observation_min": 30, **fields}.items():
        setattr(policy, name, value)
    policy.save()
    return policy


def infusion_appointment(*, patient=None, by=None, location=None, chair=None, start=None):
    """An infusion booked today at a chair for a patient with an active plan."""
    consultation = signed_consultation(patient=patient, **({"by": by} if by else {}))
    plan = plan_for(consultation)
    consultation_services.plan_transition(plan=plan, to_status="active", by=consultation.signed_by)
    location = location or LocationFactory(time_zone="UTC")
    chair = chair or ResourceFactory(location=location, kind="chair")
    if start is None:
        # Five minutes ago, but never on the local day before: check-in is refused then.
        now = timezone.now()
        midnight, _ = local_day_bounds(timezone.localtime(now, ZoneInfo(location.time_zone)).date(), location.time_zone)
        start = max(now - timedelta(minutes=5), midnight)
    return AppointmentFactory(
        patient=consultation.patient,
        appointment_type=appointment_type("infusion"),
        location=location,
        resource=chair,
        start=start,
        end=start + timedelta(minutes=120),
    )


def open_session(*, by, **kwargs) -> InfusionSession:
    return services.session_open(appointment=infusion_appointment(**kwargs), by=by)


def clean_precheck(at=None, **overrides) -> dict[str, Any]:
    at = at or timezone.now()
    return {
        "last_clear_liquid_at": at - timedelta(hours=3),
        "last_light_meal_at": at - timedelta(hours=9),
        "last_fatty_meal_at": at - timedelta(hours=12),
        "escort_present": True,
        "escort_name": "Sam Rivera",
        "escort_phone": "555-0100",
        "childbearing_potential": False,
        "medications_changed": False,
        "sbp_mmhg": 124,
        "dbp_mmhg": 78,
        "hr_bpm": 72,
        "spo2_pct": 98,
        "weight_kg": Decimal("80.0"),
        **overrides,
    }


def advance(session: InfusionSession, to: S, *, nurse_user, verifier) -> InfusionSession:
    """Walk a session along the happy path up to ``to`` through the services, from where it is
    (e.g. on from cleared after a test drew the dose through the ledger)."""
    order = [S.PRE_CHECK, S.CLEARED, S.INFUSING, S.COMPLETED, S.RECOVERING, S.DISCHARGE_READY, S.DISCHARGED, S.SIGNED]
    current = InfusionSession.objects.get(pk=session.pk).status
    current = S.COMPLETED if current == S.STOPPED_EARLY else current  # recovery follows either end
    first = order.index(current) + 1 if current in order else 0
    for step in order[first : order.index(to) + 1]:
        session = InfusionSession.objects.get(pk=session.pk)
        if step == S.PRE_CHECK:
            session = services.session_check_in(session=session, by=nurse_user)
        elif step == S.CLEARED:
            services.instrument_record(session=session, by=nurse_user, code="phq9", answers=PHQ9_CLEAR)
            services.precheck_record(session=session, by=nurse_user, data=clean_precheck())
            calc = services.dose_calculate(
                session=session, by=nurse_user, vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("96")
            )
            services.dose_verify(calculation=calc, by=verifier, fingerprint=calc.fingerprint)
            session = services.precheck_clear(session=session, by=nurse_user)
        elif step == S.INFUSING:
            session = services.session_transition(session=session, to=S.INFUSING, by=nurse_user, container_lot="LOT-1")
        elif step == S.COMPLETED:
            # The planned duration has run (completion is refused before the recorded
            # delivery has run the planned dose).
            InfusionSession.objects.filter(pk=session.pk).update(
                started_at=timezone.now() - timedelta(minutes=session.plan.infusion_minutes + 1)
            )
            session = InfusionSession.objects.get(pk=session.pk)
            services.reading_record(
                session=session,
                by=nurse_user,
                taken_at=timezone.now(),
                values={"sbp_mmhg": 130, "dbp_mmhg": 80, "hr_bpm": 80, "spo2_pct": 97},
            )
            session = services.session_transition(
                session=session,
                to=S.COMPLETED,
                by=nurse_user,
                planned_dose_delivered=True,
                at=timezone.now(),
            )
        elif step == S.RECOVERING:
            session = services.session_transition(session=session, to=S.RECOVERING, by=nurse_user)
        elif step == S.DISCHARGE_READY:
            # Back-date the end so the minimum observation time has passed.
            InfusionSession.objects.filter(pk=session.pk).update(
                ended_at=timezone.now() - timedelta(minutes=45), started_at=timezone.now() - timedelta(minutes=90)
            )
            services.reading_record(
                session=session,
                by=nurse_user,
                taken_at=timezone.now(),
                values=RECOVERED,
            )
            services.instrument_record(session=session, by=nurse_user, code="aldrete", answers=ALDRETE_FULL)
            session = services.discharge_details_record(
                session=session,
                by=nurse_user,
                escort_present=True,
                escort_name="Sam Rivera",
                escort_phone="555-0100",
                instructions_given=True,
            )
        elif step == S.DISCHARGED:
            session = services.session_discharge(session=session, by=nurse_user)
        elif step == S.SIGNED:
            session = services.session_sign(session=session, by=nurse_user)
    return InfusionSession.objects.get(pk=session.pk)


_ROUTE_SESSIONS: dict[int, InfusionSession] = {}


def object_for_route(kwarg: str, patient) -> Any:
    """What a URL kwarg names, for the access matrix (tests/test_access_matrix.py): one
    session in pre-check with a dose and an alert, shared by the kwargs of one URL."""
    if kwarg == "code":
        return "aldrete"
    if kwarg == "location_id":
        location = LocationFactory(time_zone="UTC")
        ResourceFactory(location=location, kind="chair")
        return location.pk
    session = _ROUTE_SESSIONS.get(patient.pk)
    if session is None:
        by = nurse()
        set_policy()
        session = open_session(by=by, patient=patient)
        services.session_check_in(session=session, by=by)
        services.precheck_record(session=session, by=by, data=clean_precheck())
        services.dose_calculate(session=session, by=by, vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("96"))
        services.reading_record(
            session=session, by=by, taken_at=timezone.now(), values={"sbp_mmhg": 190, "dbp_mmhg": 95}
        )
        _ROUTE_SESSIONS[patient.pk] = session
    if kwarg == "session_id":
        return session.pk
    if kwarg == "dose_id":
        return session.dose_calculations.get().pk
    if kwarg == "infusion_alert_id":
        return session.alerts.first().pk
    if kwarg in ("adverse_event_id", "rescue_dose_id"):
        event = session.adverse_events.first()
        if event is None:
            midazolam = rescue_drug("Midazolam", controlled=True, dea_schedule="CIV")
            event = services.adverse_event_record(
                session=session,
                by=nurse(),
                kind="emergence",
                severity="mild",
                onset_at=timezone.now(),
                action_taken="Reassurance; midazolam",
                outcome="ongoing",
                drugs=[{"formulary": midazolam, "dose": Decimal("1"), "given_at": timezone.now()}],
            )
        return event.pk if kwarg == "adverse_event_id" else event.drugs.get().pk
    raise AssertionError(f"no route object for {kwarg}")


def rescue_drug(name: str = "Ondansetron", **fields: Any) -> RescueDrug:
    """A formulary item (the migration seeds the clinic's list; this finds or makes one)."""
    defaults = {"dose_unit": "mg", "route": "iv", **fields}
    drug, _ = RescueDrug.objects.update_or_create(name=name, defaults=defaults)
    return drug
