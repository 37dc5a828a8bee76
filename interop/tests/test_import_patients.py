"""Importing patients from another system's CSV: the columns, a mapping, the dry run, the duplicate
check, re-runs by external id, the report, and malformed files refused with row and column."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from interop.importing import APPOINTMENT_COLUMNS, PATIENT_COLUMNS
from interop.models import ImportedRecord
from patients.models import Patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

HEADER = "external_id,legal_first_name,legal_last_name,date_of_birth,sex_at_birth,phone,email\n"


def run(tmp_path, text: str | bytes, by, *args, name="patients.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    out = tmp_path / "out.txt"
    with out.open("w") as handle:
        call_command("import_patients", str(path), "--by", by.username, *args, stdout=handle)
    return out.read_text()


def test_it_registers_each_row_with_the_operator_in_the_audit_and_the_history(tmp_path, frontdesk):
    out = run(
        tmp_path,
        HEADER + "A-1,Ada,Lovelace,1985-12-10,female,+12125550101,ada@example.com\nA-2,Alan,Turing,1972-06-23,male,,\n",
        frontdesk,
        "--source",
        "Old EHR",
    )
    assert "patients: 2 created, 0 updated, 0 linked, 0 skipped, 0 refused." in out
    ada = Patient.objects.get(legal_last_name="Lovelace")
    assert (ada.date_of_birth, ada.sex_at_birth, ada.email) == (date(1985, 12, 10), "female", "ada@example.com")
    assert ada.created_by == frontdesk
    link = ImportedRecord.objects.get(patient=ada)
    assert (link.source, link.external_id, link.imported_by) == ("Old EHR", "A-1", frontdesk)
    actions = set(AuditEvent.objects.filter(patient_id=ada.pk, actor=frontdesk).values_list("action", flat=True))
    assert {"patients.patient.created", "interop.patient.imported"} <= actions
    history = Patient.pgh_event_model.objects.get(pgh_obj_id=ada.pk, pgh_label="insert")
    assert history.pgh_context.metadata["user"] == frontdesk.pk
    assert history.pgh_context.metadata["url"] == "manage.py import_patients"


def test_a_rerun_updates_changed_rows_and_skips_the_rest(tmp_path, frontdesk):
    rows = HEADER + "A-1,Ada,Lovelace,1985-12-10,female,,\nA-2,Alan,Turing,1972-06-23,male,,\n"
    run(tmp_path, rows, frontdesk, "--source", "Old EHR")
    out = run(tmp_path, rows.replace("Ada,Lovelace", "Ada,King"), frontdesk, "--source", "Old EHR")
    assert "0 created, 1 updated, 0 linked, 1 skipped, 0 refused" in out
    assert Patient.objects.count() == 2
    assert Patient.objects.filter(legal_last_name="King").exists()


def test_the_same_external_id_from_another_source_is_another_patient_record(tmp_path, frontdesk):
    run(tmp_path, HEADER + "1,Ada,Lovelace,1985-12-10,,,\n", frontdesk, "--source", "Old EHR")
    out = run(tmp_path, HEADER + "1,Alan,Turing,1972-06-23,,,\n", frontdesk, "--source", "Billing")
    assert "1 created" in out
    assert ImportedRecord.objects.filter(external_id="1").count() == 2


def test_a_probable_duplicate_is_refused_or_linked_and_reported(tmp_path, frontdesk):
    known = PatientFactory(legal_first_name="Ada", legal_last_name="Lovelace", date_of_birth=date(1985, 12, 10))
    rows = HEADER + "A-1,Ada,Lovelace,1985-12-10,,,\n"
    out = run(tmp_path, rows, frontdesk, "--source", "Old EHR")
    assert f"row 2: Probably already registered as {known.mrn}" in out
    assert Patient.objects.count() == 1
    out = run(tmp_path, rows, frontdesk, "--source", "Old EHR", "--duplicates", "link")
    assert "1 linked" in out
    assert ImportedRecord.objects.get(external_id="A-1").patient == known
    assert Patient.objects.count() == 1


def test_a_person_twice_in_one_file_is_registered_once(tmp_path, frontdesk):
    out = run(
        tmp_path,
        HEADER + "A-1,Ada,Lovelace,1985-12-10,,,\nB-7,ADA,lovelace,1985-12-10,,,\n",
        frontdesk,
        "--source",
        "X",
    )
    assert "1 created" in out
    assert "1 refused" in out
    assert "row 3: Probably already registered" in out


def test_the_dry_run_reports_every_refusal_and_saves_nothing(tmp_path, frontdesk):
    rows = (
        HEADER + "A-1,Ada,Lovelace,1985-12-10,,,\n"
        "A-2,Alan,Turing,10/12/1985,,,\n"
        "A-3,Grace,Hopper,2190-01-01,,,\n"
        "A-4,,Hamilton,1936-08-17,,,\n"
        "A-5,Katherine,Johnson,1918-08-26,robot,,not-an-email\n"
    )
    out = run(tmp_path, rows, frontdesk, "--source", "Old EHR", "--dry-run")
    assert "Dry run, nothing saved: would have patients: 1 created, 0 updated, 0 linked, 0 skipped, 4 refused." in out
    assert "row 3, column 'date_of_birth': '10/12/1985' is not a date in the form YYYY-MM-DD." in out
    assert "row 4, column 'date_of_birth':" in out
    assert "row 5, column 'legal_first_name': This field is required." in out
    assert "row 6, column 'sex_at_birth':" in out
    assert "row 6, column 'email':" in out
    assert Patient.objects.count() == 0
    assert not ImportedRecord.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="interop.").exists()


def test_refused_rows_come_back_as_a_csv_with_the_reason_and_the_row_as_it_was(tmp_path, frontdesk):
    run(tmp_path, HEADER + "A-1,Ada,Lovelace,1985-13-10,,,\n", frontdesk, "--source", "X")
    refused = (tmp_path / "patients.csv.refused.csv").read_text().splitlines()
    assert refused[0] == "row,column,reason," + HEADER.strip()
    assert refused[1].startswith("2,date_of_birth,")
    assert refused[1].endswith("A-1,Ada,Lovelace,1985-13-10,,,")


def test_a_mapping_file_reads_another_products_columns_and_values(tmp_path, frontdesk):
    mapping = {
        "source": "PracticePal",
        "columns": {
            "Chart #": "external_id",
            "First": "legal_first_name",
            "Last": "legal_last_name",
            "DOB": "date_of_birth",
            "Sex": "sex_at_birth",
            "Notes": "ignored",
        },
        "values": {"sex_at_birth": {"F": "female", "M": "male"}},
        "date_format": "%m/%d/%Y",
    }
    (tmp_path / "map.json").write_text(json.dumps(mapping).replace('"ignored"', '"external_id"'))
    with pytest.raises(CommandError, match='Columns "Chart #" and "Notes" both give external_id'):
        run(tmp_path, "Chart #,First,Last,DOB,Sex,Notes\n", frontdesk, "--mapping", str(tmp_path / "map.json"))
    del mapping["columns"]["Notes"]
    (tmp_path / "map.json").write_text(json.dumps(mapping))
    out = run(
        tmp_path,
        "Chart #,First,Last,DOB,Sex,Notes\n889,Ada,Lovelace,12/10/1985,F,likes tea\n889x,Alan,Turing,23/06/1972,M,\n",
        frontdesk,
        "--mapping",
        str(tmp_path / "map.json"),
    )
    assert "1 created" in out
    assert "row 3, column 'DOB': '23/06/1972' is not a date in the form MM/DD/YYYY." in out
    ada = Patient.objects.get()
    assert (ada.date_of_birth, ada.sex_at_birth) == (date(1985, 12, 10), "female")
    assert ImportedRecord.objects.get().source == "PracticePal"


def test_a_mapping_that_names_no_field_of_ours_is_refused_before_any_row(tmp_path, frontdesk):
    (tmp_path / "map.json").write_text(json.dumps({"columns": {"DOB": "birthday"}}))
    with pytest.raises(CommandError, match='names "birthday", which is not one of the columns'):
        run(tmp_path, HEADER, frontdesk, "--source", "X", "--mapping", str(tmp_path / "map.json"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (
            b"external_id,legal_first_name,date_of_birth\n1,Ada,1985-12-10\n",
            "lacks the required column(s): legal_last_name",
        ),
        (HEADER.replace("phone", "email").encode(), "names a column twice"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole_with_why(tmp_path, frontdesk, content, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(tmp_path, content, frontdesk, "--source", "X")
    assert Patient.objects.count() == 0


def test_hostile_and_broken_cells_are_refused_at_their_row_and_column(tmp_path, frontdesk):
    rows = (
        HEADER.encode()
        + b"A-1,Ada,Lovelace,1985-12-10,,,\n"
        + b"A-2,Jos\xe9,Garc\xeda,1970-01-01,,,\n"  # Latin-1 bytes in a UTF-8 file
        + b'A-3,"=HYPERLINK(""http://x"")",Evil,1970-01-01,,,\n'
        + b"A-4,Nul\x00l,Byte,1970-01-01,,,\n"
        + b'A-5,"Two\nlines",Name,1970-01-01,,,\n'
        + b"A-6,"
        + b"x" * 101
        + b",Long,1970-01-01,,,\n"
        + b"A-7,Short,Row\n"
        + b"A-8,Ada,Byron,1815-12-10,,+1 555 not a phone,\n"
    )
    out = run(tmp_path, rows, frontdesk, "--source", "X")
    assert "1 created" in out
    assert "7 refused" in out
    assert "row 3, column 'legal_first_name': This value is not in the file's encoding" in out
    assert "row 3, column 'legal_last_name': This value is not in the file's encoding" in out
    assert "row 4, column 'legal_first_name': This value looks like a spreadsheet formula" in out
    assert "row 5, column 'legal_first_name': This value holds control characters." in out
    assert "row 6, column 'legal_first_name': This value runs over more than one line." in out
    assert "row 7, column 'legal_first_name': Ensure this value has at most 100 characters" in out
    assert "row 8: This row has 3 cells; the header names 7 columns." in out
    assert "row 9, column 'phone':" in out
    assert "Traceback" not in out
    refused = (tmp_path / "patients.csv.refused.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in refused  # written back neutralised, not as a live formula


def test_another_encoding_is_read_when_named(tmp_path, frontdesk):
    out = run(
        tmp_path,
        (HEADER + "A-2,José,García,1970-01-01,,,\n").encode("cp1252"),
        frontdesk,
        "--source",
        "X",
        "--encoding",
        "cp1252",
    )
    assert "1 created" in out
    assert Patient.objects.get().legal_first_name == "José"


def test_the_operator_must_be_allowed_to_register_patients(tmp_path, outsider):
    with pytest.raises(CommandError, match="may not do this import"):
        run(tmp_path, HEADER, outsider, "--source", "X")
    with pytest.raises(CommandError, match="No active user"):
        call_command("import_patients", str(tmp_path / "patients.csv"), "--by", "nobody", "--source", "X")


def test_the_documented_columns_are_the_columns_read():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "importing.md").read_text()
    for name in [*PATIENT_COLUMNS, *APPOINTMENT_COLUMNS]:
        assert f"| `{name}` |" in doc
