"""Importing appointments: booked through the calendar's own service and constraints, so a clash or
a closed hour is a refused row with its column, never a crash; re-runs skip what is booked."""

from __future__ import annotations

import io
from datetime import time, timedelta

import pytest
from django.core.management import call_command

from accounts.models import AuditEvent
from interop.models import ImportedRecord
from patients.tests.factories import PatientFactory
from scheduling import rules
from scheduling.models import Appointment
from scheduling.tests.conftest import local_day

pytestmark = pytest.mark.django_db

HEADER = "external_id,patient_mrn,appointment_type,location,start,minutes,clinician,note\n"


def run(tmp_path, text: str, by, *args):
    path = tmp_path / "appointments.csv"
    path.write_text(text)
    out = tmp_path / "out.txt"
    with out.open("w") as handle:
        call_command("import_appointments", str(path), "--by", by.username, "--source", "Old EHR", *args, stdout=handle)
    return out.read_text()


def test_rows_are_booked_as_at_the_desk_and_a_rerun_skips_them(tmp_path, frontdesk, clinic):
    patient = PatientFactory()
    day = local_day(3)
    rows = HEADER + f"V-1,{patient.mrn},consultation,Midtown,{day} 10:00,,dr.test,First visit\n"
    out = run(tmp_path, rows, frontdesk)
    assert "appointments: 1 created" in out
    appointment = Appointment.objects.get()
    # A wall time is read at the location (New York), stored as the UTC instant.
    assert appointment.start == rules.to_utc(day, time(10), "America/New_York")
    assert appointment.end - appointment.start == timedelta(minutes=clinic.consultation.minutes)
    assert (appointment.clinician, appointment.note, appointment.created_by) == (
        clinic.doctor,
        "First visit",
        frontdesk,
    )
    assert ImportedRecord.objects.get(kind="appointment").appointment == appointment
    assert AuditEvent.objects.filter(action="scheduling.appointment.booked", actor=frontdesk).exists()
    assert AuditEvent.objects.filter(action="interop.appointment.imported", actor=frontdesk).exists()
    out = run(tmp_path, rows, frontdesk)
    assert "0 created, 0 updated, 0 linked, 1 skipped, 0 refused" in out
    assert Appointment.objects.count() == 1


def test_a_clash_and_the_calendars_rules_refuse_rows_with_their_column(tmp_path, frontdesk, clinic):
    one, two = PatientFactory(), PatientFactory()
    day = local_day(3)
    rows = (
        HEADER + f"V-1,{one.mrn},consultation,Midtown,{day} 10:00,,dr.test,\n"
        f"V-2,{two.mrn},consultation,Midtown,{day} 10:15,,dr.test,\n"  # the doctor is seeing patient one
        f"V-3,{one.mrn},consultation,Midtown,{day} 23:00,,dr.test,\n"  # closed
        f"V-4,{one.mrn},consultation,Midtown,{local_day(-3)} 10:00,,dr.test,\n"  # the past
        f"V-5,GM0000000,consultation,Midtown,{day} 12:00,,dr.test,\n"
        f"V-6,{two.mrn},massage,Uptown,{day} 31:00,,dr.nobody,\n"
        f"V-7,{two.mrn},consultation,Midtown,{day} 12:00,-5,dr.test,\n"
    )
    out = run(tmp_path, rows, frontdesk, "--dry-run")
    assert "would have appointments: 1 created, 0 updated, 0 linked, 0 skipped, 6 refused." in out
    assert "row 3, column 'clinician':" in out
    assert "row 4, column 'start': Outside opening hours" in out
    assert "row 5, column 'start': That time has already passed" in out
    assert "row 6, column 'patient_mrn': No patient has this MRN." in out
    assert "row 7, column 'appointment_type': No appointment type has this code or name." in out
    assert "row 7, column 'location': No location has this name." in out
    assert "row 7, column 'clinician': No active user has this user name." in out
    assert "row 8, column 'minutes':" in out
    assert not Appointment.objects.exists()


def test_patients_are_found_by_the_external_id_of_their_own_import(tmp_path, frontdesk, clinic):
    (tmp_path / "p.csv").write_text(
        "external_id,legal_first_name,legal_last_name,date_of_birth\nP9,Ada,Lovelace,1985-12-10\n"
    )
    call_command(
        "import_patients",
        str(tmp_path / "p.csv"),
        "--by",
        frontdesk.username,
        "--source",
        "Old EHR",
        stdout=io.StringIO(),
    )
    start = rules.to_utc(local_day(4), time(9), "America/New_York").isoformat()
    out = run(
        tmp_path,
        "external_id,patient_external_id,appointment_type,location,start,clinician\n"
        f"V-1,P9,Consultation,midtown,{start},dr.test\nV-2,P404,consultation,Midtown,{start},dr.test\n",
        frontdesk,
    )
    assert "1 created" in out
    assert "row 3, column 'patient_external_id': No patient was imported from this source with this id." in out
    assert Appointment.objects.get().patient.legal_last_name == "Lovelace"


def test_a_mapping_can_read_one_column_as_another_and_leave_one_out(tmp_path, frontdesk, clinic):
    patient = PatientFactory()
    (tmp_path / "map.json").write_text('{"columns": {"patient_external_id": "patient_mrn", "patient_mrn": ""}}')
    start = rules.to_utc(local_day(4), time(9), "America/New_York").isoformat()
    out = run(
        tmp_path,
        "external_id,patient_external_id,patient_mrn,appointment_type,location,start,clinician\n"
        f"V-1,{patient.mrn},,consultation,Midtown,{start},dr.test\n",
        frontdesk,
        "--mapping",
        str(tmp_path / "map.json"),
    )
    assert "1 created" in out
    assert Appointment.objects.get().patient == patient


def test_a_start_at_the_first_or_last_day_there_is_is_a_refused_row_not_a_crash(tmp_path, frontdesk, clinic):
    patient = PatientFactory()
    rows = (
        HEADER + f"V-1,{patient.mrn},consultation,Midtown,9999-12-31 23:00,,dr.test,\n"
        f"V-2,{patient.mrn},consultation,Midtown,0001-01-01 00:00,,dr.test,\n"
        f"V-3,{patient.mrn},consultation,Midtown,9999-12-31T23:00:00-05:00,,dr.test,\n"
    )
    out = run(tmp_path, rows, frontdesk, "--dry-run")
    assert "would have appointments: 0 created, 0 updated, 0 linked, 0 skipped, 3 refused." in out
    for row in (2, 3, 4):
        assert f"row {row}, column 'start': Give a date between 1900 and 2999." in out
