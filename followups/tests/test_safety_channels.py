"""One safety-signal path: a suicide item raises exactly one alert on every channel.

Every channel records its answers through ``assessments.services.response_record``; the
follow-up stage's hook turns a positive suicide item into a SafetyAlert there, addressed to
the clinician the channel names.
"""

from __future__ import annotations

import pytest
from django.core import mail

from assessments.models import InstrumentResponse, ResponseContext, ResponseSource
from assessments.services import response_record
from consultations import services as consultation_services
from consultations.models import Consultation
from consultations.tests.factories import ConsultationFactory, ensure_protocol_library
from followups import services
from followups.models import FollowUpPolicy, SafetyAlert
from followups.tests.factories import clinician_user, phq9_for_total, visit_for
from infusions import services as infusion_services
from infusions.rules import SessionStatus as Status
from infusions.tests.factories import advance, nurse, open_session

pytestmark = pytest.mark.django_db

PHQ9_ITEM9 = phq9_for_total(12, item9=1)
CSSRS_NO = dict.fromkeys(("q1", "q2", "q3", "q4", "q5", "q6", "q6_past_3_months"), False)


def _only_alert(patient) -> SafetyAlert:
    (alert,) = SafetyAlert.objects.filter(patient=patient)
    newest = InstrumentResponse.objects.filter(patient=patient, instrument="phq9").order_by("-id").first()
    assert alert.response_id == newest.pk
    assert alert.reason == "phq9_item9"
    return alert


def test_intake_item9_raises_one_alert_for_the_consultation_clinician():
    consultation = ConsultationFactory()
    consultation_services.consultation_save(
        consultation=consultation,
        by=consultation.clinician,
        expected_version=consultation.version,
        changes={},
        instruments={"phq9": PHQ9_ITEM9},
        complete=True,
    )
    alert = _only_alert(consultation.patient)
    assert alert.clinician_id == consultation.clinician_id
    assert InstrumentResponse.objects.get(pk=alert.response_id).context == ResponseContext.BASELINE
    # Saving again without changing the answers records nothing new and raises nothing new.
    consultation_services.consultation_save(
        consultation=consultation,
        by=consultation.clinician,
        expected_version=Consultation.objects.get(pk=consultation.pk).version,
        changes={"presenting_problem": "Low mood"},
        complete=True,
    )
    assert SafetyAlert.objects.filter(patient=consultation.patient).count() == 1


def test_infusion_pre_check_item9_raises_one_alert_for_the_appointment_clinician():
    ensure_protocol_library()
    nurse_user = nurse()
    session = open_session(by=nurse_user)
    infusion_services.session_check_in(session=session, by=nurse_user)
    infusion_services.instrument_record(session=session, by=nurse_user, code="phq9", answers=PHQ9_ITEM9)
    alert = _only_alert(session.patient)
    assert alert.clinician_id == session.appointment.clinician_id
    assert InstrumentResponse.objects.get(pk=alert.response_id).context == ResponseContext.PRE_INFUSION


def test_item9_recorded_at_the_chair_during_the_infusion_raises_one_alert():
    ensure_protocol_library()
    nurse_user = nurse()
    session = advance(open_session(by=nurse_user), Status.INFUSING, nurse_user=nurse_user, verifier=nurse())
    infusion_services.instrument_record(session=session, by=nurse_user, code="phq9", answers=PHQ9_ITEM9)
    (alert,) = SafetyAlert.objects.filter(patient=session.patient)
    assert alert.response.answers == PHQ9_ITEM9


def test_follow_up_visit_item9_raises_one_alert_for_the_visit_clinician(patient):
    clinician = clinician_user()
    visit = visit_for(patient=patient, clinician=clinician)
    services.visit_save(
        visit=visit, by=clinician, expected_version=visit.version, changes={}, instruments={"phq9": PHQ9_ITEM9}
    )
    assert _only_alert(patient).clinician == clinician


def test_patient_link_item9_raises_one_alert_for_the_link_clinician(patient, django_capture_on_commit_callbacks):
    clinician = clinician_user(email="dr@example.org")
    new = services.link_create(patient=patient, codes=["phq9", "gad7"], by=clinician)
    link = services.link_exchange(link_id=new.link.pk, date_of_birth=patient.date_of_birth)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.self_report_submit(link=link, answers={"phq9": PHQ9_ITEM9, "gad7": [1] * 7})
    alert = _only_alert(patient)
    assert result.alerts == [alert]
    assert alert.clinician == clinician
    assert InstrumentResponse.objects.get(pk=alert.response_id).source == ResponseSource.PATIENT
    assert [m.to for m in mail.outbox] == [["dr@example.org"]]


def test_the_check_is_idempotent_one_alert_per_response(patient):
    response = response_record(
        patient=patient, code="phq9", answers=PHQ9_ITEM9, context=ResponseContext.FOLLOW_UP, by=clinician_user()
    )
    first = SafetyAlert.objects.get(response=response)
    assert services.safety_check(response=response) == first
    assert services.safety_check(response=response) == first
    assert SafetyAlert.objects.filter(patient=patient).count() == 1


@pytest.mark.parametrize(
    ("code", "answers", "policy", "reason"),
    [
        ("madrs", [3] * 9 + [1], {}, "madrs_item10"),  # default threshold 1 (clinic policy)
        ("madrs", [3] * 9 + [0], {}, None),
        ("madrs", [3] * 9 + [3], {"madrs_item10_alert_min": 4}, None),  # the clinic raised the cut-off
        ("madrs", [3] * 9 + [4], {"madrs_item10_alert_min": 4}, "madrs_item10"),
        ("qids_sr16", [1] * 11 + [1] + [1] * 4, {}, "qids_item12"),
        ("qids_sr16", [1] * 11 + [0] + [1] * 4, {}, None),
        ("qids_sr16", [1] * 11 + [1] + [1] * 4, {"qids_item12_alert_min": 2}, None),
        ("qids_sr16", [3] * 11 + [2] + [3] * 4, {"qids_item12_alert_min": 2}, "qids_item12"),
        ("cssrs_screen", CSSRS_NO | {"q1": True, "q2": True, "q3": True}, {}, "cssrs_moderate"),
        ("cssrs_screen", CSSRS_NO | {"q1": True, "q2": True, "q4": True}, {}, "cssrs_high"),
        ("cssrs_screen", CSSRS_NO | {"q1": True}, {}, None),  # low risk: on the chart, not paged
    ],
)
def test_every_instrument_with_a_suicide_item_alerts_at_the_clinic_threshold(patient, code, answers, policy, reason):
    FollowUpPolicy.objects.update_or_create(pk=1, defaults=policy)
    response_record(patient=patient, code=code, answers=answers, context=ResponseContext.FOLLOW_UP, by=clinician_user())
    assert list(SafetyAlert.objects.filter(patient=patient).values_list("reason", flat=True)) == (
        [reason] if reason else []
    )


# === MADRS and QIDS-SR16 from the staff entry screens ====================================
# Entered where PHQ-9 and GAD-7 are entered by staff (the intake page, the follow-up visit
# page); their suicide items reach the same alert. Threshold: the clinic's (default 1).

MADRS_ITEM10 = [2] * 9 + [1]
QIDS_ITEM12 = [1] * 11 + [1] + [1] * 4
SCALES = [("madrs", MADRS_ITEM10, "madrs_item10"), ("qids_sr16", QIDS_ITEM12, "qids_item12")]


def _items(code: str, answers) -> dict[str, str]:
    return {f"{code}-item_{n}": str(v) for n, v in enumerate(answers, start=1)}


@pytest.mark.parametrize(("code", "answers", "reason"), SCALES)
def test_intake_page_scale_at_threshold_raises_one_alert(client, code, answers, reason):
    from django.urls import reverse

    from consultations.tests.helpers import page_data

    consultation = ConsultationFactory()
    client.force_login(consultation.clinician)
    url = reverse("consultations:detail", args=[consultation.pk])
    assert f'name="{code}-item_1"' in client.get(url).content.decode()  # offered, not required
    client.post(url, page_data(consultation, **_items(code, answers)))
    (alert,) = SafetyAlert.objects.filter(patient=consultation.patient)
    assert (alert.reason, alert.clinician_id) == (reason, consultation.clinician_id)
    assert alert.response.context == ResponseContext.BASELINE


@pytest.mark.parametrize(("code", "answers", "reason"), SCALES)
def test_follow_up_visit_page_scale_at_threshold_raises_one_alert(client, patient, code, answers, reason):
    from django.urls import reverse

    clinician = clinician_user()
    visit = visit_for(patient=patient, clinician=clinician)
    client.force_login(clinician)
    url = reverse("followups:visit-detail", args=[visit.pk])
    assert f'name="{code}-item_1"' in client.get(url).content.decode()
    response = client.post(url, {"version": visit.version, "current_symptoms": "Low", **_items(code, answers)})
    assert response.status_code == 302
    (alert,) = SafetyAlert.objects.filter(patient=patient)
    assert (alert.reason, alert.clinician) == (reason, clinician)
    assert alert.response.context == ResponseContext.FOLLOW_UP


@pytest.mark.parametrize(("code", "answers"), [("madrs", [2] * 9 + [0]), ("qids_sr16", [1] * 11 + [0] + [1] * 4)])
def test_the_scales_below_threshold_raise_nothing_from_the_visit_page(client, patient, code, answers):
    from django.urls import reverse

    clinician = clinician_user()
    visit = visit_for(patient=patient, clinician=clinician)
    client.force_login(clinician)
    url = reverse("followups:visit-detail", args=[visit.pk])
    client.post(url, {"version": visit.version, "current_symptoms": "Low", **_items(code, answers)})
    assert InstrumentResponse.objects.filter(patient=patient, instrument=code).exists()
    assert not SafetyAlert.objects.filter(patient=patient).exists()
