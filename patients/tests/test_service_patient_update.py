"""services.patient_update: audit old/new, history, consent, optimistic locking."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from patients import services
from patients.models import PatientEvent
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

GIVEN = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)


@pytest.fixture
def consenting(db):
    return PatientFactory(sms_opt_in=True, sms_consent_at=GIVEN, sms_consent_method="written")


def test_it_saves_changes_with_old_and_new_values_in_the_audit_and_history(frontdesk, patient):
    old_city = patient.city
    updated = services.patient_update(
        patient=patient, by=frontdesk, expected_version=1, city="Boston", pronouns="she/her"
    )
    assert updated.city == "Boston"
    assert updated.version == 2
    event = AuditEvent.objects.get(action="patients.patient.updated", patient_id=patient.pk)
    assert event.changes == {"city": [old_city, "Boston"], "pronouns": ["", "she/her"]}
    assert PatientEvent.objects.filter(pgh_obj=patient, pgh_label="update").count() == 1


def test_no_change_writes_nothing(frontdesk, patient):
    services.patient_update(patient=patient, by=frontdesk, expected_version=1, city=patient.city)
    patient.refresh_from_db()
    assert patient.version == 1
    assert not AuditEvent.objects.filter(action="patients.patient.updated").exists()


def test_a_save_against_an_older_version_is_refused_and_changes_nothing(frontdesk, admin, patient):
    services.patient_update(patient=patient, by=admin, expected_version=1, city="Boston")
    with pytest.raises(services.StaleEdit) as caught:
        services.patient_update(patient=patient, by=frontdesk, expected_version=1, city="Chicago")
    assert caught.value.current.city == "Boston"
    assert caught.value.current.version == 2
    patient.refresh_from_db()
    assert patient.city == "Boston"
    assert AuditEvent.objects.filter(action="patients.patient.updated").count() == 1


def test_saving_again_on_the_current_version_applies_the_edit(frontdesk, admin, patient):
    services.patient_update(patient=patient, by=admin, expected_version=1, city="Boston")
    services.patient_update(patient=patient, by=frontdesk, expected_version=2, city="Chicago")
    patient.refresh_from_db()
    assert (patient.city, patient.version) == ("Chicago", 3)


@time_machine.travel(LATER, tick=False)
def test_opting_out_clears_when_and_how_and_history_keeps_them(frontdesk, consenting):
    updated = services.patient_update(patient=consenting, by=frontdesk, sms_opt_in=False, sms_consent_method="written")
    assert (updated.sms_opt_in, updated.sms_consent_at, updated.sms_consent_method) == (False, None, "")
    event = AuditEvent.objects.get(action="patients.patient.updated")
    assert event.changes["sms_consent_at"][0].startswith("2025-06-01")
    assert event.changes["sms_opt_in"] == [True, False]
    history = PatientEvent.objects.filter(pgh_obj=consenting).order_by("pgh_id")
    assert history.first().sms_consent_at == GIVEN  # the insert event keeps the original consent


@time_machine.travel(LATER, tick=False)
def test_an_unchanged_consent_keeps_its_original_time(frontdesk, consenting):
    updated = services.patient_update(
        patient=consenting, by=frontdesk, sms_opt_in=True, sms_consent_method="written", city="Salem"
    )
    assert updated.sms_consent_at == GIVEN


@time_machine.travel(LATER, tick=False)
def test_consent_given_another_way_is_stamped_again(frontdesk, consenting):
    updated = services.patient_update(patient=consenting, by=frontdesk, sms_opt_in=True, sms_consent_method="portal")
    assert (updated.sms_consent_at, updated.sms_consent_method) == (LATER, "portal")


def test_invalid_changes_are_refused_at_the_field(frontdesk, patient):
    with pytest.raises(ValidationError) as caught:
        services.patient_update(patient=patient, by=frontdesk, email="nope", legal_first_name="")
    assert set(caught.value.message_dict) == {"email", "legal_first_name"}
    patient.refresh_from_db()
    assert patient.version == 1


def test_status_is_not_changed_through_an_edit(frontdesk, patient):
    with pytest.raises(TypeError):
        services.patient_update(patient=patient, by=frontdesk, status="inactive")
