"""services.contact_log_entry_create: audited, kept in history, non-clinical and bounded."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import AuditEvent
from patients import services
from patients.models import ContactLogEntry, ContactLogEntryEvent
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_it_logs_a_contact_with_an_audit_entry_and_history(frontdesk, patient):
    entry = services.contact_log_entry_create(
        patient=patient, by=frontdesk, channel="phone", direction="out", summary="  Left   voicemail. "
    )
    assert entry.summary == "Left voicemail."
    assert entry.by == frontdesk
    assert abs(entry.at - timezone.now()) < timedelta(seconds=5)
    event = AuditEvent.objects.get(action="patients.contact_log_entry.created")
    assert event.patient_id == patient.pk
    assert event.changes["summary"] == [None, "Left voicemail."]
    assert ContactLogEntryEvent.objects.filter(pgh_obj=entry, pgh_label="insert").exists()


def test_the_system_may_log_messages_it_sent(patient):
    entry = services.contact_log_entry_create(
        patient=patient, by=None, channel="sms", direction="out", summary="Reminder sent for 12/01 10:00."
    )
    assert entry.by is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"summary": "   "}, "summary"),
        ({"summary": "x" * 301}, "summary"),
        ({"channel": "pigeon"}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"at": timezone.now() + timedelta(hours=2)}, "at"),
    ],
)
def test_invalid_entries_are_refused_at_the_field(frontdesk, patient, overrides, field):
    values = {"channel": "phone", "direction": "in", "summary": "Called back."} | overrides
    with pytest.raises(ValidationError) as caught:
        services.contact_log_entry_create(patient=patient, by=frontdesk, **values)
    assert field in caught.value.message_dict
    assert not ContactLogEntry.objects.exists()


def test_a_batch_of_entries_is_validated_and_audited_like_single_ones(patient):
    other = PatientFactory()
    entries = services.contact_log_entries_create(
        entries=[
            {"patient": patient, "by": None, "channel": "sms", "direction": "out", "summary": " Reminder   sent. "},
            {"patient": other, "by": None, "channel": "email", "direction": "out", "summary": "Reminder sent."},
        ]
    )
    assert [e.summary for e in entries] == ["Reminder sent.", "Reminder sent."]
    events = AuditEvent.objects.filter(action="patients.contact_log_entry.created").order_by("id")
    assert [(e.patient_id, e.object_id) for e in events] == [
        (patient.pk, str(entries[0].pk)),
        (other.pk, str(entries[1].pk)),
    ]
    assert ContactLogEntryEvent.objects.filter(pgh_label="insert").count() == 2


def test_one_invalid_entry_refuses_the_whole_batch(patient):
    good = {"patient": patient, "by": None, "channel": "sms", "direction": "out", "summary": "Sent."}
    with pytest.raises(ValidationError) as caught:
        services.contact_log_entries_create(entries=[good, {**good, "channel": "pigeon"}])
    assert "channel" in caught.value.message_dict
    assert not ContactLogEntry.objects.exists()
    assert not AuditEvent.objects.exists()
