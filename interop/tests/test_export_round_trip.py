"""Export → import into an empty database → the same patients and appointments.

The clinic's configuration (the site, its chairs and rooms, the clinicians, the appointment types)
is set up as in any new installation; the patients and bookings are made, exported, then rolled
back, so the import runs against a registry and calendar with nothing in them.
"""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from interop import resources
from patients.models import Patient
from patients.services import DEMOGRAPHIC_FIELDS
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment
from scheduling.services import appointment_book, appointment_import_history
from scheduling.tests.conftest import at, local_day

pytestmark = pytest.mark.django_db

CSV_ONLY = ("gender_identity", "pronouns", "referring_provider")
# What the API's Patient carries of the registry's demographics.
FHIR_PATIENT_FIELDS = tuple(
    name for name in DEMOGRAPHIC_FIELDS if not name.startswith("escort") and name not in CSV_ONLY
)
CSV_PATIENT_FIELDS = (*FHIR_PATIENT_FIELDS, *CSV_ONLY)


def command(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


class Rollback(Exception):
    """Leaves the test's database as the export found it before the data was made."""


def patients(fields) -> list[tuple]:
    return sorted(tuple(str(getattr(p, name)) for name in fields) for p in Patient.objects.all())


def appointments() -> list[tuple]:
    return sorted(
        (
            a.patient.legal_last_name,
            a.appointment_type.code,
            a.location.name,
            a.start,
            a.end,
            a.clinician.username,
            a.note,
            a.status,
            # What the attendance report reads of a past visit: the outcome's place in the status log.
            tuple((c.to_status, c.at) for c in a.status_changes.all() if a.start < timezone.now()),
        )
        for a in Appointment.objects.select_related(
            "patient", "appointment_type", "location", "clinician"
        ).prefetch_related("status_changes")
    )


def make_registry(frontdesk, clinic) -> None:
    ada = PatientFactory(
        legal_first_name="Ada",
        legal_last_name="Lovelace",
        preferred_name="Ada",
        date_of_birth=date(1985, 12, 10),
        sex_at_birth="female",
        gender_identity="Woman",
        pronouns="she/her",
        address_line1="12 St James's Square",
        address_line2="Flat 2",
        city="New York",
        state="NY",
        postal_code="10001",
        preferred_language="Spanish",
        emergency_contact_name="William King",
        emergency_contact_phone="+12125550199",
        emergency_contact_relationship="Spouse",
        referring_provider="Dr Babbage",
    )
    alan = PatientFactory(legal_first_name="Alan", legal_last_name="Turing", sex_at_birth="male", email="")
    PatientFactory(
        legal_first_name="José", legal_last_name="García-Núñez", sex_at_birth="intersex", email="jose@example.com"
    )
    day = local_day(5)
    for patient, hour, note in ((ada, 9, "Bring the referral letter"), (alan, 11, "")):
        appointment_book(
            patient=patient,
            appointment_type=clinic.consultation,
            location=clinic.site,
            start=at(day, hour),
            clinician=clinic.doctor,
            note=note,
            by=frontdesk,
        )
    # The history: a visit that took place and one the patient missed, with their outcomes.
    past = local_day(-5)
    for patient, hour, outcome in ((ada, 9, "completed"), (alan, 11, "no_show")):
        appointment_import_history(
            patient=patient,
            appointment_type=clinic.consultation,
            location=clinic.site,
            start=at(past, hour),
            end=at(past, hour) + timedelta(minutes=60),
            clinician=clinic.doctor,
            outcome=outcome,
            source="Older EHR",
            by=frontdesk,
        )


def test_the_products_csv_export_imports_into_an_empty_database_as_the_same_records(tmp_path, frontdesk, clinic):
    with contextlib.suppress(Rollback), transaction.atomic():
        make_registry(frontdesk, clinic)
        for what in ("patients", "appointments"):
            command("export_for_import", what, str(tmp_path / f"{what}.csv"), "--by", frontdesk.username)
        exported_patients, exported_appointments = patients(CSV_PATIENT_FIELDS), appointments()
        raise Rollback
    assert not Patient.objects.exists()
    assert not Appointment.objects.exists()
    assert len(exported_patients) == 3
    assert len(exported_appointments) == 4

    for what in ("patients", "appointments"):
        out = command(f"import_{what}", str(tmp_path / f"{what}.csv"), "--by", frontdesk.username, "--source", "Old")
        assert "0 refused" in out

    assert patients(CSV_PATIENT_FIELDS) == exported_patients
    assert appointments() == exported_appointments


def test_the_fhir_apis_patients_import_into_an_empty_database_as_the_same_patients(tmp_path, frontdesk, clinic):
    with contextlib.suppress(Rollback), transaction.atomic():
        make_registry(frontdesk, clinic)
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": resources.patient(p)} for p in Patient.objects.all()],
        }
        exported = patients(FHIR_PATIENT_FIELDS)
        raise Rollback
    assert not Patient.objects.exists()
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))

    out = command("import_fhir_bundle", str(tmp_path / "bundle.json"), "--by", frontdesk.username)
    assert "3 created" in out
    assert patients(FHIR_PATIENT_FIELDS) == exported
    # A second run of the same export finds every patient by the identifier (the old MRN).
    out = command("import_fhir_bundle", str(tmp_path / "bundle.json"), "--by", frontdesk.username)
    assert "0 created, 0 updated, 0 linked, 3 skipped" in out
