"""services.contact_log_entry_create: audited, kept in history, non-clinical and bounded."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import AuditEvent
from patients import services
from patients.models import ContactLogEntry, ContactLogEntryEvent

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
