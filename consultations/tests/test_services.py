"""Consultation and plan services: decisions, permissions, audit, appointments, lifecycle."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consents.models import ConsentSignature, ConsentWithdrawal
from consents.tests.factories import ConsentVersionFactory
from consultations import services
from consultations.models import Consultation, PlanStatusChange
from consultations.tests.factories import (
    ConsultationFactory,
    depression_protocol,
    fill_clean_intake,
    plan_for,
    record_baseline,
    signed_consultation,
)
from scheduling.models import AppointmentStatus
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


def _sign(consultation, decision, **kwargs):
    return services.consultation_sign(
        consultation=consultation, by=consultation.clinician, decision=decision, justifications={}, **kwargs
    )


# --- Opening ---------------------------------------------------------------------------


def test_opening_a_booked_consultation_creates_its_intake_once(clinician):
    appointment = AppointmentFactory(clinician=clinician)
    first = services.consultation_open(appointment=appointment, by=clinician)
    again = services.consultation_open(appointment=appointment, by=clinician)
    assert first == again
    assert first.patient == appointment.patient
    assert first.clinician == clinician
    assert (
        AuditEvent.objects.filter(action="consultations.consultation.opened", patient_id=first.patient_id).count() == 1
    )


def test_opening_a_checked_in_consultation_starts_the_visit_and_signing_completes_it(clinician):
    appointment = AppointmentFactory(clinician=clinician, start=timezone.now(), status=AppointmentStatus.CHECKED_IN)
    appointment.end = appointment.start + timezone.timedelta(hours=1)
    appointment.save()
    consultation = services.consultation_open(appointment=appointment, by=clinician)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.IN_PROGRESS
    fill_clean_intake(consultation)
    _sign(Consultation.objects.get(pk=consultation.pk), "eligible")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED


def test_only_a_consultation_appointment_opens_an_intake(clinician):
    from scheduling.tests.factories import appointment_type

    infusion = AppointmentFactory(appointment_type=appointment_type("infusion"), clinician=clinician)
    with pytest.raises(ValidationError, match="Only a consultation appointment"):
        services.consultation_open(appointment=infusion, by=clinician)


def test_the_front_desk_cannot_open_save_screen_or_sign(frontdesk):
    consultation = ConsultationFactory()
    with pytest.raises(PermissionDenied):
        services.consultation_open(appointment=AppointmentFactory(), by=frontdesk)
    with pytest.raises(PermissionDenied):
        services.consultation_save(
            consultation=consultation, by=frontdesk, expected_version=1, changes={}, complete=True
        )
    with pytest.raises(PermissionDenied):
        services.consultation_screen(consultation=consultation, by=frontdesk)
    with pytest.raises(PermissionDenied):
        _sign_as(consultation, frontdesk)


def _sign_as(consultation, user):
    return services.consultation_sign(consultation=consultation, by=user, decision="eligible", justifications={})


def test_the_administrator_role_reads_but_cannot_write_or_sign():
    administrator = UserFactory(role=Role.ADMINISTRATOR)  # the role, not a superuser
    consultation = fill_clean_intake(ConsultationFactory())
    assert administrator.has_perm("consultations.view_consultation")
    with pytest.raises(PermissionDenied):
        _sign_as(consultation, administrator)
    with pytest.raises(PermissionDenied):
        services.consultation_draft_save(consultation=consultation, by=administrator, data={})


# --- Decisions -------------------------------------------------------------------------


def test_a_clean_intake_signs_eligible_with_the_snapshot_and_hash():
    signed = _sign(fill_clean_intake(ConsultationFactory()), "eligible")
    assert signed.status == "signed"
    assert signed.screening_outcome == "eligible"
    assert signed.signed_content["screening"]["findings"] == []
    assert signed.signed_content["intake"]["bp_systolic_mmhg"] == 120
    assert {r["instrument"] for r in signed.signed_content["instruments"]} == {"phq9", "gad7"}
    event = AuditEvent.objects.get(action="consultations.consultation.signed", object_id=str(signed.pk))
    assert event.data_category == "clinical"
    assert event.changes["content_sha256"] == signed.content_sha256


def test_an_absolute_finding_allows_only_an_ineligible_decision():
    consultation = fill_clean_intake(ConsultationFactory(), aneurysmal_vascular_disease=True)
    with pytest.raises(services.SignRefused) as refused:
        _sign(consultation, "eligible_override")
    assert "CI-02" in refused.value.problems["decision"]
    signed = _sign(consultation, "ineligible")
    assert signed.decision == "ineligible"
    assert signed.screening_outcome == "ineligible"


def test_each_relative_finding_needs_its_own_justification():
    consultation = fill_clean_intake(
        ConsultationFactory(), bp_systolic_mmhg=150, bp_diastolic_mmhg=92, medications_complete=None
    )
    with pytest.raises(services.SignRefused) as refused:
        services.consultation_sign(
            consultation=consultation,
            by=consultation.clinician,
            decision="eligible_override",
            justifications={"CI-05": "Re-measured; accepted."},
        )
    assert set(refused.value.problems) == {"justify_CI_14", "justify_CI_15"}  # medication list not complete
    signed = services.consultation_sign(
        consultation=consultation,
        by=consultation.clinician,
        decision="eligible_override",
        justifications={
            "CI-05": "Re-measured; accepted.",
            "CI-14": "Pharmacy record checked.",
            "CI-15": "Pharmacy record checked.",
            "CI-99": "ignored: not a finding",
        },
    )
    assert set(signed.justifications) == {"CI-05", "CI-14", "CI-15"}


def test_needs_review_cannot_be_signed_as_plain_eligible():
    consultation = fill_clean_intake(ConsultationFactory(), bp_systolic_mmhg=150, bp_diastolic_mmhg=92)
    with pytest.raises(services.SignRefused) as refused:
        _sign(consultation, "eligible")
    assert "justification" in refused.value.problems["decision"]


def test_declining_an_eligible_patient_needs_a_reason():
    consultation = fill_clean_intake(ConsultationFactory())
    with pytest.raises(services.SignRefused) as refused:
        _sign(consultation, "ineligible")
    assert "decision_note" in refused.value.problems
    assert _sign(consultation, "ineligible", decision_note="Prefers to try ECT first.").decision == "ineligible"


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        ("unsigned", "consent is not signed"),
        ("outdated", "a new version was published"),
        ("withdrawn", "withdrawn by the patient"),
        ("nothing published", "no treatment consent is published"),
    ],
)
def test_proceeding_needs_a_current_signed_treatment_consent(situation, expected):
    """The intake reads informed consent from the consents app alone: signed, on the latest version."""
    if situation == "unsigned":
        ConsentVersionFactory()
    consultation = fill_clean_intake(ConsultationFactory(), consented=situation in ("outdated", "withdrawn"))
    if situation == "outdated":
        ConsentVersionFactory(published_at=timezone.now() - timedelta(hours=1))
    elif situation == "withdrawn":
        signature = ConsentSignature.objects.get(patient=consultation.patient)
        ConsentWithdrawal.objects.create(
            signature=signature,
            patient=consultation.patient,
            reason="Changed their mind",
            withdrawn_at=timezone.now(),
            recorded_by=signature.recorded_by,
        )
    with pytest.raises(services.SignRefused) as refused:
        _sign(consultation, "eligible")
    assert expected in refused.value.problems["consent"]


def test_a_consent_signed_on_the_current_version_lets_the_intake_proceed():
    consultation = fill_clean_intake(ConsultationFactory())
    assert _sign(consultation, "eligible").decision == "eligible"


def test_proceeding_needs_the_baseline_instruments_for_the_indication():
    consultation = fill_clean_intake(ConsultationFactory(), indications=["ptsd", "crps"])
    with pytest.raises(services.SignRefused) as refused:
        _sign(consultation, "eligible")
    assert "PCL-5" in refused.value.problems["instruments"]
    assert "NRS" in refused.value.problems["instruments"]
    record_baseline(consultation, "pcl5", [1] * 20)
    record_baseline(consultation, "nrs_pain", [6])
    assert _sign(consultation, "eligible").is_signed


def test_a_positive_item_9_needs_the_cssrs_screener(clinician):
    consultation = fill_clean_intake(ConsultationFactory(clinician=clinician))
    record_baseline(consultation, "phq9", [2, 2, 1, 2, 1, 1, 1, 0, 1])
    with pytest.raises(services.SignRefused) as refused:
        services.consultation_sign(
            consultation=consultation,
            by=clinician,
            decision="eligible_override",
            justifications={"PD-03": "will do"},
        )
    assert "C-SSRS" in refused.value.problems["instruments"]


@pytest.mark.parametrize(
    ("cssrs", "level"),
    [
        ({"q1": True, "q2": True, "q3": True}, "moderate"),
        ({"q1": True, "q2": True, "q4": True}, "high"),
    ],
)
def test_a_moderate_or_high_cssrs_at_intake_needs_a_documented_decision_and_raises_one_alert(clinician, cssrs, level):
    from followups.models import SafetyAlert

    consultation = fill_clean_intake(ConsultationFactory(clinician=clinician))
    record_baseline(consultation, "phq9", [2, 2, 1, 2, 1, 1, 1, 0, 1])
    no = dict.fromkeys(("q1", "q2", "q3", "q4", "q5", "q6", "q6_past_3_months"), False)
    record_baseline(consultation, "cssrs_screen", no | cssrs)
    result = services.consultation_screen(consultation=consultation, by=clinician)
    (finding,) = [f for f in result.findings if f.rule_id == "PD-04"]
    assert (finding.klass, finding.fact) == ("relative", f"C-SSRS screener risk: {level}")
    with pytest.raises(services.SignRefused) as refused:
        _sign(consultation, "eligible_override")
    assert "justify_PD_04" in refused.value.problems
    signed = services.consultation_sign(
        consultation=consultation,
        by=clinician,
        decision="eligible_override",
        justifications={"PD-04": "Seen by the psychiatrist today."},
    )
    assert signed.justifications["PD-04"] == "Seen by the psychiatrist today."
    # One alert each for the positive item 9 and the screener, both to the intake clinician.
    alerts = SafetyAlert.objects.filter(patient=consultation.patient)
    assert sorted(alerts.values_list("reason", flat=True)) == sorted(["phq9_item9", f"cssrs_{level}"])
    assert set(alerts.values_list("clinician", flat=True)) == {clinician.pk}


def _born(today, years: int, *, days: int = 0):
    """A date of birth that makes the patient ``years`` old on ``today`` + ``days``."""
    from datetime import date, timedelta

    day = 28 if (today.month, today.day) == (2, 29) else today.day
    return date(today.year - years, today.month, day) + timedelta(days=days)


@pytest.mark.parametrize(
    ("case", "years", "days", "expected"),
    [
        ("twelve years old", 12, 0, ("absolute", "ineligible")),
        ("eighteen tomorrow", 18, 1, ("absolute", "ineligible")),
        ("eighteen today", 18, 0, (None, "eligible")),
        ("forty", 40, 0, (None, "eligible")),
        ("seventy: above the clinic's review age", 70, 0, ("relative", "needs_review")),
    ],
)
def test_screening_reads_the_age_from_the_date_of_birth(case, years, days, expected):
    today = timezone.localdate()
    consultation = fill_clean_intake(ConsultationFactory())
    patient = consultation.patient
    patient.date_of_birth = _born(today, years, days=days)
    patient.save(update_fields=["date_of_birth"])
    result = services.consultation_screen(consultation=consultation, by=consultation.clinician, today=today)
    age = [str(f.klass) for f in result.findings if f.rule_id == "CI-17"]
    assert (age[0] if age else None, str(result.outcome)) == expected


def test_a_minor_is_a_review_when_the_clinic_policy_says_so():
    from consultations.models import ScreeningPolicy

    ScreeningPolicy.objects.update_or_create(pk=1, defaults={"minor_absolute": False})
    consultation = fill_clean_intake(ConsultationFactory())
    today = timezone.localdate()
    consultation.patient.date_of_birth = _born(today, 16)
    consultation.patient.save(update_fields=["date_of_birth"])
    result = services.consultation_screen(consultation=consultation, by=consultation.clinician, today=today)
    assert [(f.rule_id, str(f.klass)) for f in result.findings] == [("CI-17", "relative")]


@pytest.mark.parametrize(
    ("case", "bp", "expected"),
    [
        ("hard stop, normal re-measure", (250, 140, 120, 80), [("CI-04", "relative")]),
        ("hard stop, re-measure above review", (185, 105, 150, 92), [("CI-04", "relative"), ("CI-05", "relative")]),
        ("hard stop, re-measure still above", (185, 105, 190, 100), [("CI-04", "absolute")]),
        ("review only, normal re-measure", (150, 92, 120, 80), []),
    ],
)
def test_a_first_reading_over_the_hard_stop_stays_a_finding_after_a_normal_remeasure(case, bp, expected):
    consultation = fill_clean_intake(
        ConsultationFactory(),
        bp_systolic_mmhg=bp[0],
        bp_diastolic_mmhg=bp[1],
        bp_remeasure_systolic_mmhg=bp[2],
        bp_remeasure_diastolic_mmhg=bp[3],
    )
    result = services.consultation_screen(consultation=consultation, by=consultation.clinician)
    assert [(f.rule_id, str(f.klass)) for f in result.findings] == expected
    consultation.refresh_from_db()
    assert (consultation.bp_systolic_mmhg, consultation.bp_diastolic_mmhg) == bp[:2]  # the first reading is kept


def test_the_kept_first_reading_needs_the_prescribers_justification_to_proceed():
    consultation = fill_clean_intake(
        ConsultationFactory(),
        bp_systolic_mmhg=250,
        bp_diastolic_mmhg=140,
        bp_remeasure_systolic_mmhg=120,
        bp_remeasure_diastolic_mmhg=80,
    )
    with pytest.raises(services.SignRefused) as refused:
        _sign(consultation, "eligible_override")
    assert "justify_CI_04" in refused.value.problems
    signed = services.consultation_sign(
        consultation=consultation,
        by=consultation.clinician,
        decision="eligible_override",
        justifications={"CI-04": "Arrived running late; three readings at rest below 130/85."},
    )
    assert signed.justifications == {"CI-04": "Arrived running late; three readings at rest below 130/85."}


@pytest.mark.parametrize(
    ("case", "answers", "missing"),
    [
        ("childbearing potential unknown", {"childbearing_potential": None}, ("childbearing_potential",)),
        (
            "childbearing potential, pregnancy unknown",
            {"childbearing_potential": True, "pregnant": None, "breastfeeding": False},
            ("pregnant",),
        ),
    ],
)
def test_unknown_pregnancy_status_at_intake_needs_an_answer_or_a_documented_decision(case, answers, missing):
    consultation = fill_clean_intake(ConsultationFactory(), **answers)
    result = services.consultation_screen(consultation=consultation, by=consultation.clinician)
    (finding,) = [f for f in result.findings if f.rule_id == "CI-07"]
    assert (str(finding.klass), finding.missing_facts) == ("monitor", missing)
    assert str(result.outcome) == "needs_review"
    with pytest.raises(services.SignRefused) as refused:
        _sign(consultation, "eligible_override")
    assert "justify_CI_07" in refused.value.problems


def test_signing_clears_every_draft():
    consultation = fill_clean_intake(ConsultationFactory())
    services.consultation_draft_save(consultation=consultation, by=consultation.clinician, data={"x": ["1"]})
    signed = _sign(consultation, "eligible")
    assert not signed.drafts.exists()


def test_a_stale_save_is_refused():
    consultation = ConsultationFactory()
    with pytest.raises(services.StaleConsultation):
        services.consultation_save(
            consultation=consultation,
            by=consultation.clinician,
            expected_version=consultation.version + 5,
            changes={"presenting_problem": "x"},
            complete=True,
        )


def test_an_autosave_from_a_page_older_than_my_own_save_is_refused():
    consultation = fill_clean_intake(ConsultationFactory())  # version 2, saved by its clinician
    with pytest.raises(services.StalePage):
        services.consultation_draft_save(
            consultation=consultation, by=consultation.clinician, data={"version": ["1"], "presenting_problem": ["x"]}
        )


def test_amendments_are_only_for_signed_consultations(clinician):
    with pytest.raises(ValidationError):
        services.amendment_add(
            consultation=ConsultationFactory(), by=clinician, kind="amends", section="other", reason="r", text="t"
        )


# --- Plans -----------------------------------------------------------------------------


def test_a_plan_needs_a_signed_consultation_that_proceeds():
    draft = fill_clean_intake(ConsultationFactory())
    with pytest.raises(ValidationError, match="Sign the consultation"):
        plan_for(draft)
    ineligible = signed_consultation(decision="ineligible")
    with pytest.raises(ValidationError, match="not eligible"):
        plan_for(ineligible)


def test_a_plan_stays_inside_its_protocol():
    consultation = signed_consultation()
    with pytest.raises(ValidationError):
        plan_for(consultation, dose=Decimal("0.75"))
    with pytest.raises(ValidationError):
        plan_for(consultation, indication="gad")
    plan = plan_for(consultation)
    assert plan.protocol == depression_protocol()
    assert plan.dose_unit == "mg_per_kg"
    assert plan.status == "draft"


def test_the_plan_lifecycle_follows_its_table_and_records_who_and_when():
    plan = plan_for(signed_consultation())
    by = plan.created_by
    for status in ("active", "on_hold", "active", "completed", "maintenance"):
        plan = services.plan_transition(plan=plan, to_status=status, by=by, reason="patient travelling")
    with pytest.raises(ValidationError):
        services.plan_transition(plan=plan, to_status="draft", by=by)
    with pytest.raises(ValidationError, match="reason"):
        services.plan_transition(plan=plan, to_status="discontinued", by=by)
    plan = services.plan_transition(plan=plan, to_status="discontinued", by=by, reason="Moved away")
    changes = list(PlanStatusChange.objects.filter(plan=plan).values_list("to_status", flat=True))
    assert changes == ["draft", "active", "on_hold", "active", "completed", "maintenance", "discontinued"]
    assert AuditEvent.objects.filter(action="consultations.plan.discontinued", changes__reason="Moved away").exists()


def test_a_patient_has_one_live_plan_at_a_time():
    first = plan_for(signed_consultation())
    services.plan_transition(plan=first, to_status="active", by=first.created_by)
    second_consultation = fill_clean_intake(ConsultationFactory(patient=first.patient))
    second_consultation = _sign(second_consultation, "eligible")
    second = plan_for(second_consultation)
    with pytest.raises(ValidationError, match="already has a live plan"):
        services.plan_transition(plan=second, to_status="active", by=second.created_by)


def test_infusions_read_the_active_plan_and_not_one_on_hold():
    from consultations import selectors

    draft = plan_for(signed_consultation())
    plan = services.plan_transition(plan=draft, to_status="active", by=draft.created_by)
    assert selectors.active_plan_for(plan.patient) == plan
    held = services.plan_transition(plan=plan, to_status="on_hold", by=plan.created_by, reason="Holiday")
    assert selectors.active_plan_for(plan.patient) is None
    assert selectors.live_plan_for(plan.patient) == held


def test_rows_from_a_bound_formset_save_through_the_intake_service():
    """The formset's rows carry the row's own fields; the service sets the parent."""
    from django.http import QueryDict

    from consultations.forms import MedicationFormSet, TrialFormSet, child_rows

    consultation = ConsultationFactory()
    data = QueryDict(mutable=True)
    data.update(
        {
            "med-TOTAL_FORMS": "2",
            "med-INITIAL_FORMS": "0",
            "med-0-name": "Theophylline",
            "med-0-interaction_class": "theophylline",
            "med-1-name": "Lamotrigine",
            "med-1-dose": "100 mg bd",
            "med-1-interaction_class": "lamotrigine",
            "trial-TOTAL_FORMS": "1",
            "trial-INITIAL_FORMS": "0",
            "trial-0-drug": "Venlafaxine",
            "trial-0-duration_weeks": "10",
            "trial-0-response": "none",
        }
    )
    medications = MedicationFormSet(data, instance=consultation, prefix="med")
    trials = TrialFormSet(data, instance=consultation, prefix="trial")
    assert medications.is_valid()
    assert trials.is_valid()
    assert all("consultation" not in row["data"] for row in child_rows(medications) + child_rows(trials))

    services.consultation_save(
        consultation=consultation,
        by=consultation.clinician,
        expected_version=consultation.version,
        changes={},
        medications=child_rows(medications),
        trials=child_rows(trials),
        complete=True,
    )
    assert sorted(consultation.medications.values_list("interaction_class", flat=True)) == [
        "lamotrigine",
        "theophylline",
    ]
    assert consultation.antidepressant_trials.get().drug == "Venlafaxine"
    result = services.consultation_screen(consultation=consultation, by=consultation.clinician)
    assert "CI-14" in {f.rule_id for f in result.findings}


def test_an_intake_signed_without_a_check_in_completes_its_visit_with_the_check_in_logged(clinician):
    from scheduling.models import AppointmentStatusChange

    appointment = AppointmentFactory(clinician=clinician, status=AppointmentStatus.BOOKED)
    consultation = services.consultation_open(appointment=appointment, by=clinician)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED  # opening is not arriving
    fill_clean_intake(consultation)
    _sign(Consultation.objects.get(pk=consultation.pk), "eligible")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED
    moves = AppointmentStatusChange.objects.filter(appointment=appointment).order_by("id")
    assert [(m.from_status, m.to_status, m.by) for m in moves][-3:] == [
        ("booked", "checked_in", clinician),
        ("checked_in", "in_progress", clinician),
        ("in_progress", "completed", clinician),
    ]
    assert moves.last().reason == "Intake signed"
