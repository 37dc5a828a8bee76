"""Prepare tomorrow: the next clinic day's visits with what each chart still lacks."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consents.models import ConsentKind, ConsentPolicy, ConsentVersion
from consents.tests.factories import ConsentSignatureFactory, ConsentVersionFactory
from consultations.models import StandingOrder, TreatmentPlan
from consultations.tests.factories import depression_protocol, signed_record
from followups.models import QuestionnaireLink
from patients.tests.factories import PatientFactory
from reports.selectors.prepare import LABS_FINDING, clinic_day_after, prepare_day
from scheduling import rules as schedule_rules
from scheduling.models import Closure
from scheduling.tests.conftest import local_day
from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type

pytestmark = pytest.mark.django_db
ZONE = "America/New_York"


@pytest.fixture
def site():
    return LocationFactory(name="Midtown", time_zone=ZONE)


@pytest.fixture
def day():
    return local_day(3, ZONE)


def _book(site, day, *, patient=None, kind="infusion", minute=0, **kwargs):
    start = schedule_rules.to_utc(day, time(9, 0), ZONE, fold=0) + timedelta(minutes=minute)
    return AppointmentFactory(
        patient=patient or PatientFactory(),
        location=site,
        appointment_type=appointment_type(kind),
        start=start,
        end=start + timedelta(minutes=30),
        **kwargs,
    )


def _treatment_version():
    return ConsentVersion.objects.filter(kind=ConsentKind.TREATMENT).first() or ConsentVersionFactory()


def _intake(patient, *, consent=True):
    intake = signed_record(patient=patient, clinician=UserFactory(role=Role.PRESCRIBER))
    if consent:
        ConsentSignatureFactory(patient=patient, version=_treatment_version())
    return intake


def _plan(intake, *, status="active", order=True, schedule=None):
    plan = TreatmentPlan.objects.create(
        consultation=intake,
        patient=intake.patient,
        indication="mdd",
        protocol=depression_protocol(),
        dose=Decimal("0.5"),
        dose_unit="mg_per_kg",
        infusion_minutes=40,
        max_dose_mg=Decimal("50"),
        sessions_planned=6,
        sessions_per_week=2,
        measurement_schedule=schedule or {},
        status=status,
        created_by=intake.signed_by,
    )
    if order:
        StandingOrder.objects.create(
            plan=plan,
            number=1,
            dose=plan.dose,
            dose_unit=plan.dose_unit,
            infusion_minutes=40,
            weight_basis="actual",
            max_dose_mg=plan.max_dose_mg,
            max_rate_mg_per_kg_per_h=Decimal("0.75"),
            sessions_planned=6,
            signed_by=intake.signed_by,
            signed_at=timezone.now(),
        )
    return plan


def _ready_patient(site, day, minute=0):
    patient = PatientFactory()
    _plan(_intake(patient))
    return _book(site, day, patient=patient, minute=minute, escort_confirmed_at=timezone.now())


def _by_patient(day):
    return {v.appointment.patient_id: v for v in prepare_day(day=day)}


def test_each_visit_lists_what_its_chart_still_lacks(site, day):
    ready = _ready_patient(site, day)
    first = _book(site, day, minute=30)  # no intake, no plan, no escort
    unsigned = PatientFactory()
    _plan(_intake(unsigned, consent=False), order=False, schedule={"pre_infusion": ["phq9", "cadss6"]})
    unsigned_visit = _book(site, day, patient=unsigned, minute=60, escort_confirmed_at=timezone.now())
    QuestionnaireLink.objects.create(
        patient=unsigned,
        instruments=["phq9"],
        appointment=unsigned_visit,
        token_sha256="a" * 64,
        created_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=1),
    )
    intake_visit = _book(site, day, kind="consultation", minute=90)
    cancelled = _book(site, day, minute=120, status="cancelled", cancel_reason="Patient unwell")
    _book(site, day + timedelta(days=1))  # another day

    visits = _by_patient(day)
    assert set(visits) == {a.patient_id for a in (ready, first, unsigned_visit, intake_visit)}
    assert cancelled.patient_id not in visits
    assert visits[ready.patient_id].readiness.ready
    assert visits[ready.patient_id].readiness.notes == ("First infusion",)
    assert [m.text for m in visits[first.patient_id].readiness.missing] == [
        "No signed intake consultation",
        "Ketamine treatment (off-label use) consent not signed",
        "No treatment plan",
        "Escort home not confirmed",
    ]
    assert [m.text for m in visits[unsigned_visit.patient_id].readiness.missing] == [
        "Ketamine treatment (off-label use) consent not signed",
        "Standing order not signed",
        "Questionnaire sent, not answered yet (PHQ-9)",  # cadss6 is given in clinic, not a self-report
    ]
    assert [m.text for m in visits[intake_visit.patient_id].readiness.missing] == [
        "Ketamine treatment (off-label use) consent to sign before the intake decision"
    ]
    links = dict((m.text, url) for m, url in visits[unsigned_visit.patient_id].items)
    plan = TreatmentPlan.objects.get(patient=unsigned)
    assert links["Standing order not signed"] == reverse("consultations:plan-detail", args=[plan.pk])
    chart = reverse("patients:detail", args=[unsigned.pk])
    assert links["Ketamine treatment (off-label use) consent not signed"] == f"{chart}#consents"


def test_the_consents_app_decides_what_a_visit_lacks(site, day):
    """A new version asks for a new signature before the next infusion; a kind the clinic
    requires by policy is asked for; the intake's own consent box no longer counts."""
    visit = _ready_patient(site, day)
    assert _by_patient(day)[visit.patient_id].readiness.ready
    ConsentVersionFactory(published_at=timezone.now() - timedelta(hours=1))
    (item,) = _by_patient(day)[visit.patient_id].readiness.missing
    assert (item.text, item.blocking) == ("Ketamine treatment (off-label use) consent: a new version to sign", True)
    ConsentPolicy.objects.update_or_create(pk=1, defaults={"require_treatment": False, "require_financial": True})
    ConsentVersionFactory(kind=ConsentKind.FINANCIAL, title="Financial policy")
    (item,) = _by_patient(day)[visit.patient_id].readiness.missing
    assert item.text == "Financial policy consent not signed"


def test_tomorrow_is_the_next_day_a_site_is_open(site):
    today = local_day(0, ZONE)
    # Every weekday's hours but one ended today: the site is next open on that one.
    site.opening_hours.exclude(weekday=(today + timedelta(days=2)).weekday()).update(effective_until=today)
    assert clinic_day_after(today) == today + timedelta(days=2)
    Closure.objects.create(location=site, starts_on=today + timedelta(days=2), ends_on=today + timedelta(days=2))
    assert clinic_day_after(today) == today + timedelta(days=9)


# --- The page -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.NURSE, 200), (Role.PRESCRIBER, 200), (Role.FRONT_DESK, 403), (Role.ADMINISTRATOR, 403), (None, 403)],
)
def test_only_clinical_staff_prepare_the_day(client_as, site, day, role, status):
    """Minimum necessary: what a chart lacks (an unsigned order, a safety alert) is clinical. The
    front desk already has tomorrow's arrivals, escorts and outstanding questionnaires on its home;
    an administrator (not a superuser) runs the clinic, not the charts."""
    visit = _book(site, day)
    response = client_as(UserFactory(role=role)).get(reverse("reports:prepare"), {"day": day.isoformat()})
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert visit.patient.display_name in body
        assert "No signed intake consultation" in body
        assert LABS_FINDING[:40] in body


def test_the_page_is_audited_as_a_query_over_several_charts(client_as, nurse, site, day):
    _book(site, day)
    client_as(nurse).get(reverse("reports:prepare"), {"day": day.isoformat()})
    event = AuditEvent.objects.get(action="reports.prepare_day.viewed")
    assert (event.verb, event.data_category, event.actor) == ("query", "clinical", nurse)


@pytest.mark.parametrize("typed", ["next tuesday", "2026-02-30", "1999-01-01"])
def test_a_bad_day_is_answered_at_the_field_and_kept(client_as, nurse, typed):
    response = client_as(nurse).get(reverse("reports:prepare"), {"day": typed})
    body = response.content.decode()
    assert response.status_code == 400
    assert 'aria-invalid="true"' in body
    assert f'value="{typed}"' in body


def test_without_a_day_the_page_shows_the_next_open_day(client_as, nurse, site):
    today = timezone.localdate()
    response = client_as(nurse).get(reverse("reports:prepare"))
    assert response.status_code == 200
    assert response.context["day"] == clinic_day_after(today)


@pytest.mark.parametrize("count", [5, 50])
def test_the_page_costs_the_same_queries_however_many_patients(
    client_as, nurse, site, day, django_assert_max_num_queries, count
):
    for n in range(count):
        if n % 2:
            _ready_patient(site, day, minute=n)
        else:
            _book(site, day, minute=n, clinician=UserFactory(role=Role.NURSE))
    client = client_as(nurse)
    client.get(reverse("reports:prepare"), {"day": day.isoformat()})  # warm the session and permission caches
    with django_assert_max_num_queries(12):
        response = client.get(reverse("reports:prepare"), {"day": day.isoformat()})
    assert response.status_code == 200
    assert len(response.context["visits"]) == count


def test_a_scoped_clinician_prepares_their_own_locations_day(site, day, scope_to):
    here = _book(site, day, kind="consultation")
    _book(LocationFactory(name="Uptown", time_zone=ZONE), day, kind="consultation")
    nurse = scope_to(UserFactory(role=Role.NURSE), site)
    assert [v.appointment.pk for v in prepare_day(day=day, locations_of=nurse)] == [here.pk]
    assert len(prepare_day(day=day)) == 2
