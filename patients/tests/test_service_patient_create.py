"""services.patient_create: MRN, consent stamping, validation, duplicate check, audit, history."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from patients import services
from patients.models import Patient, PatientEvent
from patients.rules import mrn_is_valid
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)


def fields(**overrides):
    base = {
        "legal_first_name": "Ada",
        "legal_last_name": "Lindqvist",
        "date_of_birth": date(1980, 3, 7),
        "phone": "+16175550142",
        "email": "ada.lindqvist@example.com",
    }
    return base | overrides


def test_it_registers_a_patient_with_a_new_valid_mrn_and_audits_every_value(frontdesk):
    first = services.patient_create(by=frontdesk, **fields())
    second = services.patient_create(
        by=frontdesk, **fields(legal_last_name="Okafor", legal_first_name="Bo", phone="", email="")
    )
    assert mrn_is_valid(first.mrn)
    assert mrn_is_valid(second.mrn)
    assert first.mrn != second.mrn
    assert first.created_by == frontdesk
    assert first.version == 1
    event = AuditEvent.objects.get(action="patients.patient.created", patient_id=first.pk)
    assert event.verb == "create"
    assert event.actor == frontdesk
    assert event.changes["legal_last_name"] == [None, "Lindqvist"]
    assert event.changes["mrn"] == [None, first.mrn]
    assert PatientEvent.objects.filter(pgh_obj=first, pgh_label="insert").count() == 1


@time_machine.travel(NOW, tick=False)
def test_it_stamps_when_consent_was_given_and_keeps_how(frontdesk):
    patient = services.patient_create(
        by=frontdesk,
        **fields(sms_opt_in=True, sms_consent_method="verbal", email_opt_in=False, email_consent_method=""),
    )
    assert patient.sms_opt_in
    assert patient.sms_consent_at == NOW
    assert patient.sms_consent_method == "verbal"
    assert not patient.email_opt_in
    assert patient.email_consent_at is None
    assert patient.email_consent_method == ""


def test_a_method_without_an_opt_in_is_not_kept(frontdesk):
    patient = services.patient_create(by=frontdesk, **fields(email_opt_in=False, email_consent_method="written"))
    assert patient.email_consent_method == ""


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sms_opt_in": True, "sms_consent_method": ""}, "sms_consent_method"),
        ({"sms_opt_in": True, "sms_consent_method": "verbal", "phone": ""}, "sms_opt_in"),
        ({"email_opt_in": True, "email_consent_method": "portal", "email": ""}, "email_opt_in"),
        ({"date_of_birth": date(2099, 1, 1)}, "date_of_birth"),
        ({"date_of_birth": date(1880, 1, 1)}, "date_of_birth"),
        ({"legal_last_name": "   "}, "legal_last_name"),
        ({"email": "not-an-address"}, "email"),
        ({"phone": "+1 555"}, "phone"),
        ({"sex_at_birth": "robot"}, "sex_at_birth"),
    ],
)
def test_it_refuses_invalid_registrations_at_the_field_and_writes_nothing(frontdesk, overrides, field):
    with pytest.raises(ValidationError) as caught:
        services.patient_create(by=frontdesk, **fields(**overrides))
    assert field in caught.value.message_dict
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.filter(action="patients.patient.created").exists()


@pytest.mark.parametrize("name", ["mrn", "version", "sms_consent_at", "status", "created_by", "last_name_key"])
def test_it_refuses_fields_the_desk_does_not_set(frontdesk, name):
    with pytest.raises(TypeError, match=name):
        services.patient_create(by=frontdesk, **fields(**{name: "x"}))


@pytest.mark.parametrize(
    ("existing", "typed"),
    [
        (
            {"legal_last_name": "García", "legal_first_name": "José"},
            {"legal_last_name": "GARCIA", "legal_first_name": "jose"},
        ),
        (
            {"legal_last_name": "Smith", "legal_first_name": "John"},
            {"legal_last_name": "John", "legal_first_name": "Smith"},
        ),
        (
            {"legal_last_name": "Smith", "legal_first_name": "John"},
            {"legal_last_name": "Smith", "legal_first_name": "Jon"},
        ),
        (
            {"legal_last_name": "Smith", "legal_first_name": "John"},
            {"legal_last_name": "Smyth", "legal_first_name": "John"},
        ),
        (
            {"legal_last_name": "Johnson", "legal_first_name": "Mary"},
            {"legal_last_name": "Jonsen", "legal_first_name": "Mary"},
        ),
    ],
    ids=["accents-and-case", "swapped", "trigram-close-first", "trigram-close-last", "sound-alike"],
)
def test_the_same_name_and_date_of_birth_is_a_possible_duplicate(frontdesk, existing, typed):
    original = PatientFactory(**existing, date_of_birth=date(1980, 3, 7), phone="+16175550100", email="")
    with pytest.raises(services.PossibleDuplicates) as caught:
        services.patient_create(by=frontdesk, **fields(**typed, phone="", email=""))
    assert [m.patient for m in caught.value.matches] == [original]
    assert caught.value.matches[0].reasons == ["same name and date of birth"]
    assert Patient.objects.count() == 1


def test_the_same_name_born_another_day_is_not_a_duplicate(frontdesk):
    PatientFactory(legal_last_name="Lindqvist", legal_first_name="Ada", date_of_birth=date(1981, 3, 7), email="")
    services.patient_create(by=frontdesk, **fields(phone="", email=""))
    assert Patient.objects.count() == 2


@pytest.mark.parametrize(
    ("existing", "reason"),
    [({"phone": "+16175550142"}, "same phone"), ({"email": "ADA.Lindqvist@Example.com"}, "same e-mail")],
)
def test_the_same_phone_or_email_is_a_possible_duplicate(frontdesk, existing, reason):
    original = PatientFactory(legal_last_name="Other", legal_first_name="Person", **existing)
    with pytest.raises(services.PossibleDuplicates) as caught:
        services.patient_create(by=frontdesk, **fields())
    assert [(m.patient, m.reasons) for m in caught.value.matches] == [(original, [reason])]


def test_a_reason_registers_anyway_and_is_kept_in_the_audit_entry(frontdesk):
    original = PatientFactory(legal_last_name="Lindqvist", legal_first_name="Ada", date_of_birth=date(1980, 3, 7))
    patient = services.patient_create(
        by=frontdesk, duplicate_reason="  Twin sister; photo ID checked.  ", **fields(phone="", email="")
    )
    event = AuditEvent.objects.get(action="patients.patient.created", patient_id=patient.pk)
    assert event.changes["duplicate_reason"] == [None, "Twin sister; photo ID checked."]
    assert event.changes["possible_duplicates"] == [None, [original.mrn]]


def test_a_blank_reason_does_not_bypass_the_check(frontdesk):
    PatientFactory(legal_last_name="Lindqvist", legal_first_name="Ada", date_of_birth=date(1980, 3, 7))
    with pytest.raises(services.PossibleDuplicates):
        services.patient_create(by=frontdesk, duplicate_reason="   ", **fields(phone="", email=""))


def test_hostile_strings_are_stored_as_typed(frontdesk):
    patient = services.patient_create(
        by=frontdesk, **fields(legal_last_name="<script>alert(1)</script>", legal_first_name="'; DROP TABLE x; --")
    )
    patient.refresh_from_db()
    assert patient.legal_last_name == "<script>alert(1)</script>"
    assert patient.legal_first_name == "'; DROP TABLE x; --"
