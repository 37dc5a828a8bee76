"""services.patient_change_status: deactivation instead of deletion, from a transition table."""

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import get_resolver

from accounts.models import AuditEvent
from patients import services
from patients.models import ContactLogEntry, Patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_deactivating_keeps_the_record_with_who_when_and_why(frontdesk, patient):
    changed = services.patient_change_status(patient=patient, by=frontdesk, status="inactive", reason="Moved to Ohio")
    assert (changed.status, changed.status_reason) == ("inactive", "Moved to Ohio")
    assert changed.status_changed_at is not None
    event = AuditEvent.objects.get(action="patients.patient.status_changed")
    assert event.changes == {"status": ["active", "inactive"], "status_reason": ["", "Moved to Ohio"]}
    assert event.actor == frontdesk


@pytest.mark.parametrize(("start", "to"), [("deceased", "inactive"), ("active", "active"), ("active", "gone")])
def test_moves_outside_the_table_are_refused(frontdesk, start, to):
    patient = PatientFactory(status=start)
    with pytest.raises(ValidationError) as caught:
        services.patient_change_status(patient=patient, by=frontdesk, status=to, reason="because")
    assert "status" in caught.value.message_dict
    patient.refresh_from_db()
    assert patient.status == start


def test_a_reason_is_required(frontdesk, patient):
    with pytest.raises(ValidationError) as caught:
        services.patient_change_status(patient=patient, by=frontdesk, status="deceased", reason="  ")
    assert "reason" in caught.value.message_dict


def test_nothing_in_the_app_deletes_a_patient_or_a_contact():
    site_admins = {model: model_admin for model, model_admin in admin.site._registry.items()}
    for model in (Patient, ContactLogEntry):
        assert not site_admins[model].has_delete_permission(request=None)
        assert not site_admins[model].has_change_permission(request=None)
    patient_routes = [str(p.pattern) for p in get_resolver().url_patterns if "patients" in str(p.pattern)]
    assert patient_routes
    assert not any("delete" in name for name in dir(services))
