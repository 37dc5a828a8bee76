"""Scheduled questionnaire invitations from the plan's measurement schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from consultations import services as consultation_services
from consultations.tests.factories import plan_for, signed_consultation
from followups import services
from followups.models import QuestionnaireLink
from notifications import backends
from scheduling.tests.factories import AppointmentFactory, appointment_type

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms(settings):
    settings.SMS_BACKEND = "notifications.backends.LocmemSmsBackend"
    settings.SITE_URL = "https://clinic.example"
    backends.outbox.clear()
    return backends.outbox


def _patient_with_plan(**schedule):
    consultation = signed_consultation()
    plan = plan_for(consultation, **({"measurement_schedule": schedule} if schedule else {}))
    consultation_services.plan_transition(plan=plan, to_status="active", by=consultation.signed_by)
    patient = consultation.patient
    patient.phone, patient.sms_opt_in = "+12025550143", True
    patient.sms_consent_at, patient.sms_consent_method = timezone.now(), "verbal"
    patient.save()
    return patient


def _appointment(patient, code="infusion", hours=20):
    start = timezone.now() + timedelta(hours=hours)
    return AppointmentFactory(
        patient=patient, appointment_type=appointment_type(code), start=start, end=start + timedelta(hours=2)
    )


def test_upcoming_infusion_gets_one_pre_infusion_invitation(sms):
    patient = _patient_with_plan()  # schedule: pre_infusion phq9, post_infusion cadss6 (clinician-rated)
    appointment = _appointment(patient)
    assert services.invitations_send_due() == 1
    link = QuestionnaireLink.objects.get(appointment=appointment)
    assert (link.instruments, link.context, link.sent_channels) == (["phq9"], "pre_infusion", "sms")
    assert link.expires_at <= appointment.start
    (message,) = sms
    assert message.body.count("https://clinic.example/followups/q/") == 1
    assert services.invitations_send_due() == 0  # once per appointment
    assert len(sms) == 1


def test_follow_up_visit_uses_the_follow_up_moment(sms):
    patient = _patient_with_plan(follow_up=["phq9", "gad7"], pre_infusion=["phq9"])
    _appointment(patient, code="follow_up")
    services.invitations_send_due()
    assert QuestionnaireLink.objects.get().instruments == ["phq9", "gad7"]


def test_nothing_is_sent_without_a_live_plan_or_outside_the_window(sms):
    patient = _patient_with_plan()
    _appointment(patient, hours=30)  # beyond 24 h
    other = signed_consultation().patient  # no plan
    _appointment(other)
    assert services.invitations_send_due() == 0
    assert not sms


def test_clinician_rated_instruments_are_never_sent(sms):
    patient = _patient_with_plan(pre_infusion=["madrs", "cadss6"])
    _appointment(patient)
    assert services.invitations_send_due() == 0
