"""The desk reviews the contact details a patient corrected in their packet: each applied to the
record (validated, audited, in the patient's history) or dismissed (audited); never on its own."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from packets import services
from packets.tests.factories import desk_user, new_packet
from patients.models import PatientEvent
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def corrected():
    patient = PatientFactory(city="Salem", email="old@example.org")
    packet = new_packet(patient).packet
    details = services.current_details(patient)
    services.details_submit(
        packet=packet, details={**details, "city": "Boston", "email": "new@example.org", "phone": "not a phone"}
    )
    packet.refresh_from_db()
    return packet


def test_the_desk_applies_one_correction_and_dismisses_another(client, corrected):
    desk = desk_user()
    client.force_login(desk)
    url = reverse("packets:corrections", args=[corrected.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for shown in ("Boston", "Salem", "new@example.org"):
        assert shown in html
    assert AuditEvent.objects.filter(action="packets.corrections.viewed", patient_id=corrected.patient_id).exists()

    client.post(url, {"field": "city", "decision": "applied"})
    client.post(url, {"field": "email", "decision": "dismissed"})
    patient = corrected.patient
    patient.refresh_from_db()
    assert (patient.city, patient.email) == ("Boston", "old@example.org")
    # In the patient's history, by the desk, like any edit.
    assert PatientEvent.objects.filter(pgh_obj=patient, city="Boston").exists()
    assert AuditEvent.objects.filter(action="patients.patient.updated", patient_id=patient.pk).exists()
    assert AuditEvent.objects.filter(action="packets.detail_correction.dismissed", patient_id=patient.pk).exists()
    corrected.refresh_from_db()
    assert corrected.details_decisions["city"]["decision"] == "applied"
    assert corrected.details_decisions["email"]["by"] == desk.pk
    assert [c.field for c in services.pending_corrections(corrected)] == ["phone"]


def test_a_value_the_record_refuses_stays_pending_with_the_reason(client, corrected):
    client.force_login(desk_user())
    url = reverse("packets:corrections", args=[corrected.pk])
    response = client.post(url, {"field": "phone", "decision": "applied"}, follow=True)
    assert response.status_code == 200
    assert "phone" in response.content.decode().lower()
    corrected.refresh_from_db()
    assert "phone" not in corrected.details_decisions
    assert "phone" in [c.field for c in services.pending_corrections(corrected)]


@pytest.mark.parametrize(
    "posted", [{"field": "city", "decision": "maybe"}, {"field": "mrn", "decision": "applied"}, {}]
)
def test_hostile_posts_change_nothing_and_never_500(client, corrected, posted):
    client.force_login(desk_user())
    response = client.post(reverse("packets:corrections", args=[corrected.pk]), posted)
    assert response.status_code == 302
    corrected.patient.refresh_from_db()
    assert corrected.patient.city == "Salem"


def test_a_decided_correction_cannot_be_decided_twice(corrected):
    desk = desk_user()
    services.detail_correction_decide(packet=corrected, field="city", decision="dismissed", by=desk)
    with pytest.raises(Exception, match="already decided"):
        services.detail_correction_decide(packet=corrected, field="city", decision="applied", by=desk)


def test_the_panel_links_to_the_review_while_corrections_wait(client, corrected):
    client.force_login(desk_user())
    panel = client.get(reverse("packets:patient-panel", args=[corrected.patient_id])).content.decode()
    assert "review 3 corrections" in panel
    for field in ("city", "email", "phone"):
        services.detail_correction_decide(packet=corrected, field=field, decision="dismissed", by=desk_user())
    panel = client.get(reverse("packets:patient-panel", args=[corrected.patient_id])).content.decode()
    assert "Contact details changed" not in panel
