"""The patient's steps: each saved as it is sent and resumable from the link; the baseline
questionnaires scored by assessments with the same safety alert as every channel; clear field
errors, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from assessments.models import InstrumentResponse, ResponseContext, ResponseSource
from followups.models import SafetyAlert
from packets import services
from packets.models import Packet, ReportedFact, ReportedMedication
from packets.tests.factories import GAD7_CLEAR, PHQ9_CLEAR, new_packet
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

DETAILS = {
    "phone": "(202) 555-0142",
    "email": "jordan@example.com",
    "emergency_contact_name": "Sam Sample",
    "emergency_contact_phone": "(202) 555-0199",
    "emergency_contact_relationship": "Sister",
}


def _open(client, new, patient):
    client.get(reverse("packets:link-open", args=[new.token]))
    return client.post(reverse("packets:link-verify"), {"date_of_birth": patient.date_of_birth.isoformat()})


def _answers(code: str, values: list[int]) -> dict:
    return {f"{code}-item_{n}": str(v) for n, v in enumerate(values, start=1)}


def _history_post(**overrides) -> dict:
    from consultations.services.reported import reportable_facts  # lazy: the questions of the model

    data = {f"fact_{field}": "no" for field, _ in reportable_facts()}
    data.update(overrides)
    return data


@pytest.fixture
def new(patient):
    return new_packet(patient)


def test_each_step_is_saved_as_sent_and_the_patient_resumes_where_they_stopped(client, new, patient):
    _open(client, new, patient)
    response = client.post(reverse("packets:step", args=["details"]), DETAILS)
    assert response.status_code == 302
    packet = Packet.objects.get(pk=new.packet.pk)
    assert packet.details_at is not None
    assert packet.reported_details["emergency_contact_name"] == "Sam Sample"
    assert packet.details_changed  # the desk is told; the record is not changed by the patient
    patient.refresh_from_db()
    assert patient.emergency_contact_name != "Sam Sample"

    # Later, on another phone: the same link, the date of birth again, and the next step is offered.
    later = Client()
    _open(later, new, patient)
    hub = later.get(reverse("packets:hub")).content.decode()
    assert f'href="{reverse("packets:step", args=["history"])}">Continue' in hub.replace("\n", "")
    assert "Done" in hub


def test_history_is_kept_apart_from_the_record(client, new, patient):
    _open(client, new, patient)
    data = _history_post(fact_hypertension="yes", fact_pregnant="not_sure", med_1_name="Sertraline", med_1_dose="50 mg")
    response = client.post(reverse("packets:step", args=["history"]), data)
    assert response.status_code == 302
    assert ReportedFact.objects.get(packet=new.packet, field="hypertension").answer is True
    assert ReportedFact.objects.get(packet=new.packet, field="pregnant").answer is None
    assert list(ReportedMedication.objects.filter(packet=new.packet).values_list("name", "dose")) == [
        ("Sertraline", "50 mg")
    ]


def test_history_questions_are_the_intakes_own(client, new, patient):
    from consultations.models import DIRECT_FACTS  # lazy: compared with the intake model itself

    _open(client, new, patient)
    page = client.get(reverse("packets:step", args=["history"])).content.decode()
    assert "Hypertension" in page
    assert "Pre-eclampsia or eclampsia" in page
    assert 'name="fact_bp_systolic_mmhg"' not in page  # vitals are measured, not asked
    assert all(f'name="fact_{f}"' in page for f in ("stroke_history", "heart_failure") if f in DIRECT_FACTS)


def test_a_positive_phq9_item_9_raises_the_same_safety_alert_as_every_channel(client, patient, clinician):
    appointment = AppointmentFactory(patient=patient, clinician=clinician)
    new = new_packet(patient, appointment=appointment)
    _open(client, new, patient)
    phq9 = [1, 1, 1, 1, 1, 1, 1, 1, 2]
    response = client.post(
        reverse("packets:step", args=["questionnaires"]), {**_answers("phq9", phq9), **_answers("gad7", GAD7_CLEAR)}
    )
    assert response.status_code == 302
    stored = InstrumentResponse.objects.get(patient=patient, instrument="phq9")
    assert (stored.source, stored.context, stored.subject) == (
        ResponseSource.PATIENT,
        ResponseContext.BASELINE,
        new.packet,
    )
    alert = SafetyAlert.objects.get(response=stored)
    assert alert.clinician_id == clinician.pk  # the booked clinician is told first
    hub = client.get(response["Location"]).content.decode()
    assert 'id="crisis-resources"' in hub
    assert "988" in hub


def test_clear_answers_raise_no_alert_and_the_reason_adds_its_questionnaire(client, patient):
    new = new_packet(patient, reason="ptsd")
    assert new.packet.instruments == ["phq9", "gad7", "pcl5"]
    _open(client, new, patient)
    page = client.get(reverse("packets:step", args=["questionnaires"])).content.decode()
    assert "PCL-5" in page or "PTSD" in page
    result = services.questionnaires_submit(
        packet=new.packet, answers={"phq9": PHQ9_CLEAR, "gad7": GAD7_CLEAR, "pcl5": [0] * 20}
    )
    assert not result.crisis
    assert not SafetyAlert.objects.filter(patient=patient).exists()


def test_instructions_are_acknowledged_with_the_escort_and_the_last_step_completes_the_packet(client, new, patient):
    _open(client, new, patient)
    client.post(reverse("packets:step", args=["details"]), DETAILS)
    client.post(reverse("packets:step", args=["history"]), _history_post())
    client.post(
        reverse("packets:step", args=["questionnaires"]),
        {**_answers("phq9", PHQ9_CLEAR), **_answers("gad7", GAD7_CLEAR)},
    )
    # No consent document published: the consent step has nothing to sign and is done on the way.
    assert client.get(reverse("packets:step", args=["consent"]))["Location"] == reverse("packets:hub")
    page = client.get(reverse("packets:step", args=["instructions"])).content.decode()
    assert "hours before your appointment" in page
    response = client.post(
        reverse("packets:step", args=["instructions"]),
        {"acknowledged": "on", "escort_name": "Sam Sample", "escort_phone": "(202) 555-0199"},
    )
    assert response["Location"] == reverse("packets:done")
    packet = Packet.objects.get(pk=new.packet.pk)
    assert packet.completed_at is not None
    assert (packet.escort_name, packet.escort_phone) == ("Sam Sample", "+12025550199")
    assert "hours before your appointment" in packet.instructions_text
    assert "complete" in client.get(reverse("packets:done")).content.decode()


@pytest.mark.parametrize(
    ("step", "data", "message"),
    [
        ("details", {"emergency_contact_phone": "not a phone"}, "Enter a phone number"),
        ("details", {"email": "nope", "emergency_contact_name": "x" * 400}, "Enter an e-mail address"),
        ("history", {"fact_hypertension": "maybe"}, "Choose yes, no or not sure"),
        ("history", {"med_1_dose": "10 mg"}, "Enter the medicine"),
        ("questionnaires", {"phq9-item_1": "9"}, "is not an answer to this item"),
        ("instructions", {"escort_phone": "(202) 555-0199"}, "Tick the box"),
        ("instructions", {"acknowledged": "on", "escort_name": "Sam", "escort_phone": "12"}, "Enter a phone number"),
    ],
)
def test_bad_input_is_a_field_error_never_a_500(client, new, patient, step, data, message):
    _open(client, new, patient)
    response = client.post(reverse("packets:step", args=[step]), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert getattr(Packet.objects.get(pk=new.packet.pk), f"{step}_at") is None


def test_an_unknown_step_is_404(client, new, patient):
    _open(client, new, patient)
    assert client.get(reverse("packets:step", args=["consent-forms"])).status_code == 404
