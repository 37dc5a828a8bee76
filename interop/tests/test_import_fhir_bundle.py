"""A FHIR Bundle of Patients: each entry validated by fhir.resources, the desk's duplicate check,
and re-runs recognised by identifier."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from interop.models import ImportedRecord
from patients.models import Patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

SYSTEM = "urn:oid:2.16.840.1.113883.3.999"


def fhir_patient(value, family, given, birth, **extra):
    return {
        "resourceType": "Patient",
        "identifier": [{"system": SYSTEM, "value": value}],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "birthDate": birth,
        **extra,
    }


def run(tmp_path, entries, by, *args):
    path = tmp_path / "bundle.json"
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in entries]}
    path.write_text(json.dumps(bundle))
    out = tmp_path / "out.txt"
    with out.open("w") as handle:
        call_command("import_fhir_bundle", str(path), "--by", by.username, *args, stdout=handle)
    return out.read_text()


def test_valid_patients_are_registered_and_invalid_entries_refused_with_the_element(tmp_path, frontdesk):
    entries = [
        fhir_patient(
            "1",
            "Lovelace",
            "Ada",
            "1985-12-10",
            gender="female",
            telecom=[{"system": "email", "value": "ada@example.com"}],
            address=[{"line": ["12 St James's Square"], "city": "London", "postalCode": "10001"}],
        ),
        fhir_patient("2", "Turing", "Alan", "23 June 1972"),
        fhir_patient("3", "Hopper", "Grace", "1906-12-09", gender="robot"),
        {"resourceType": "Observation", "status": "final"},
        {**fhir_patient("5", "Noether", "Emmy", "1882-03-23"), "identifier": []},
    ]
    out = run(tmp_path, entries, frontdesk)
    assert "patients: 1 created, 0 updated, 0 linked, 0 skipped, 4 refused." in out
    assert "row 2, column 'Patient.birthDate'" in out
    assert "row 3, column 'Patient.gender'" in out
    assert "row 4, column 'resource': Only Patient resources are imported." in out
    assert "row 5, column 'Patient.identifier'" in out
    ada = Patient.objects.get()
    assert (ada.date_of_birth, ada.sex_at_birth, ada.email, ada.city) == (
        date(1985, 12, 10),
        "female",
        "ada@example.com",
        "London",
    )
    assert ImportedRecord.objects.get().source == SYSTEM


def test_a_rerun_goes_by_identifier_and_a_duplicate_is_refused(tmp_path, frontdesk):
    known = PatientFactory(legal_first_name="Grace", legal_last_name="Hopper", date_of_birth=date(1906, 12, 9))
    entries = [fhir_patient("1", "Lovelace", "Ada", "1985-12-10"), fhir_patient("3", "Hopper", "Grace", "1906-12-09")]
    out = run(tmp_path, entries, frontdesk)
    assert "1 created" in out
    assert f"row 2: Probably already registered as {known.mrn}" in out
    entries[0]["name"][0]["family"] = "King"
    out = run(tmp_path, entries[:1], frontdesk)
    assert "0 created, 1 updated" in out
    assert Patient.objects.filter(legal_last_name="King").count() == 1


def test_a_file_that_is_not_a_bundle_is_refused(tmp_path, frontdesk):
    (tmp_path / "x.json").write_text('{"resourceType": "Patient"}')
    with pytest.raises(CommandError, match="not a FHIR Bundle"):
        call_command("import_fhir_bundle", str(tmp_path / "x.json"), "--by", frontdesk.username)
    (tmp_path / "x.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(CommandError, match="not JSON in UTF-8"):
        call_command("import_fhir_bundle", str(tmp_path / "x.json"), "--by", frontdesk.username)
