"""What the patient reported never reaches the clinical record on its own: the intake changes only
when a clinician accepts an item, through the consultations service, audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from consultations.models import Consultation, Medication
from consultations.tests.factories import ConsultationFactory, signed_consultation
from packets import services
from packets.models import ReportedFact, ReportedMedication
from packets.tests.factories import packet_with_history
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def consultation(patient, clinician):
    return ConsultationFactory(patient=patient, clinician=clinician)


def test_the_reported_history_is_not_in_the_record_until_accepted(client, clinician, patient, consultation):
    packet = packet_with_history(patient, answers={"hypertension": True, "stroke_history": False, "pregnant": None})
    consultation.refresh_from_db()
    assert (consultation.hypertension, consultation.stroke_history, consultation.pregnant) == (None, None, None)
    assert not Medication.objects.filter(consultation__patient=patient).exists()

    client.force_login(clinician)
    panel = client.get(reverse("packets:reported", args=[consultation.pk])).content.decode()
    assert "Patient-reported" in panel
    assert "not yet in the record" in panel
    assert "Sertraline" in panel
    # The intake page itself still shows nothing recorded, and the record is unchanged by reading.
    client.get(reverse("consultations:detail", args=[consultation.pk]))
    assert Consultation.objects.get(pk=consultation.pk).hypertension is None
    assert packet.facts.filter(accepted_at__isnull=False).count() == 0


def test_accepting_one_item_writes_that_item_only(client, clinician, patient, consultation):
    packet = packet_with_history(patient)
    fact = ReportedFact.objects.get(packet=packet, field="hypertension")
    version = consultation.version
    client.force_login(clinician)
    response = client.post(reverse("packets:accept-fact", args=[consultation.pk, fact.pk]))
    assert response.status_code == 302
    assert response["Location"].endswith("#reported-history")
    consultation.refresh_from_db()
    assert consultation.hypertension is True
    assert consultation.stroke_history is None  # not accepted: not written
    assert consultation.version == version + 1
    fact.refresh_from_db()
    assert (fact.accepted_by, fact.consultation) == (clinician, consultation)
    event = AuditEvent.objects.filter(action="consultations.consultation.reported_accepted").latest("id")
    assert event.changes["hypertension"] == [None, True]
    assert event.changes["source"] == f"pre-visit packet {packet.pk}"
    # Accepting twice changes nothing more.
    client.post(reverse("packets:accept-fact", args=[consultation.pk, fact.pk]))
    assert Consultation.objects.get(pk=consultation.pk).version == version + 1


def test_a_medicine_is_added_with_the_class_the_clinician_chose(client, clinician, patient, consultation):
    packet = packet_with_history(patient)
    item = ReportedMedication.objects.get(packet=packet)
    client.force_login(clinician)
    client.post(
        reverse("packets:accept-medication", args=[consultation.pk, item.pk]), {"interaction_class": "not-a-class"}
    )
    assert not Medication.objects.filter(consultation=consultation).exists()
    client.post(reverse("packets:accept-medication", args=[consultation.pk, item.pk]), {"interaction_class": "none"})
    added = Medication.objects.get(consultation=consultation)
    assert (added.name, added.dose, added.interaction_class) == ("Sertraline", "50 mg daily", "none")
    assert ReportedMedication.objects.get(pk=item.pk).accepted_at is not None


def test_a_not_sure_answer_cannot_be_accepted(clinician, patient, consultation):
    packet = packet_with_history(patient)
    fact = ReportedFact.objects.get(packet=packet, field="pregnant")
    with pytest.raises(Exception, match="not sure"):
        services.reported_fact_accept(fact_id=fact.pk, consultation=consultation, by=clinician)
    assert Consultation.objects.get(pk=consultation.pk).pregnant is None


def test_another_patients_answer_cannot_be_accepted_into_this_intake(client, clinician, consultation):
    other = packet_with_history(PatientFactory())
    fact = ReportedFact.objects.get(packet=other, field="hypertension")
    client.force_login(clinician)
    client.post(reverse("packets:accept-fact", args=[consultation.pk, fact.pk]))
    assert Consultation.objects.get(pk=consultation.pk).hypertension is None
    assert ReportedFact.objects.get(pk=fact.pk).accepted_at is None


def test_a_signed_intake_takes_nothing_in(client, clinician, patient):
    consultation = signed_consultation(patient=patient)
    packet = packet_with_history(patient)
    fact = ReportedFact.objects.get(packet=packet, field="stroke_history")
    client.force_login(clinician)
    client.post(reverse("packets:accept-fact", args=[consultation.pk, fact.pk]))
    assert ReportedFact.objects.get(pk=fact.pk).accepted_at is None


def test_the_front_desk_never_sees_the_answers(client, frontdesk, patient, consultation):
    packet_with_history(patient)
    client.force_login(frontdesk)
    assert client.get(reverse("packets:reported", args=[consultation.pk])).status_code == 403
    panel = client.get(reverse("packets:patient-panel", args=[patient.pk])).content.decode()
    assert "1 of 5 steps" in panel  # details, history, questionnaires, consent, instructions
    assert "Sertraline" not in panel
    assert "Hypertension" not in panel


def test_the_panel_beside_the_intake_costs_the_same_queries_however_many_answers(
    client, clinician, patient, consultation, django_assert_max_num_queries
):
    packet_with_history(patient, medications=[(f"Medicine {n}", "") for n in range(8)])
    client.force_login(clinician)
    with django_assert_max_num_queries(18):
        response = client.get(reverse("packets:reported", args=[consultation.pk]))
    assert response.status_code == 200
