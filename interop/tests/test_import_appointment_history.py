"""Importing a clinic's appointment history: past visits come in with their outcome, counted by the
attendance report as if they had been recorded here, with nothing sent or charged for them."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuditEvent
from billing.models import BillingSettings, Invoice
from interop.models import ImportedRecord
from packets.models import Packet
from patients.tests.factories import PatientFactory
from reminders.models import Reminder
from reports.selectors.operations import attendance
from scheduling import hooks
from scheduling.models import Appointment, AppointmentStatus, AppointmentStatusChange
from scheduling.tests.conftest import local_day

pytestmark = pytest.mark.django_db

HEADER = "external_id,patient_mrn,appointment_type,location,start,clinician,status\n"


def run(tmp_path, text: str, by, *args):
    path = tmp_path / "appointments.csv"
    path.write_text(text)
    out = io.StringIO()
    call_command("import_appointments", str(path), "--by", by.username, "--source", "Old EHR", *args, stdout=out)
    return out.getvalue()


def attendance_row(clinic, days_back: int = 10) -> dict:
    f = {
        "start": local_day(-days_back),
        "end": local_day(0),
        "location": clinic.site,
        "late_cancel_hours": 24,
    }
    by_type = attendance(f, now=timezone.now())[0]
    return next(r for r in by_type.rows if r["type"] == clinic.consultation.name)


def test_past_visits_come_in_with_their_outcome_and_the_attendance_report_counts_them(tmp_path, frontdesk, clinic):
    patients = [PatientFactory() for _ in range(4)]
    day = local_day(-3)
    # Another product's words for the outcomes, read through the mapping file.
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"values": {"status": {"Seen": "completed", "DNA": "no_show"}}}))
    rows = (
        HEADER + f"H-1,{patients[0].mrn},consultation,Midtown,{day} 09:00,dr.test,Seen\n"
        f"H-2,{patients[1].mrn},consultation,Midtown,{day} 10:00,dr.test,DNA\n"
        f"H-3,{patients[2].mrn},consultation,Midtown,{day} 11:00,dr.test,late-cancelled\n"
        f"H-4,{patients[3].mrn},consultation,Midtown,{day} 12:00,dr.test,cancelled\n"
    )
    out = run(tmp_path, rows, frontdesk, "--mapping", str(mapping))
    assert "appointments: 4 created, 0 updated, 0 linked, 0 skipped, 0 refused" in out

    status = {r.external_id: r.appointment.status for r in ImportedRecord.objects.select_related("appointment")}
    assert status == {
        "H-1": AppointmentStatus.COMPLETED,
        "H-2": AppointmentStatus.NO_SHOW,
        "H-3": AppointmentStatus.CANCELLED,
        "H-4": AppointmentStatus.CANCELLED,
    }
    # The status log holds each outcome, by the operator, as an import.
    log = AppointmentStatusChange.objects.filter(
        appointment=ImportedRecord.objects.get(external_id="H-2").appointment
    ).get()
    assert (log.to_status, log.by, log.reason) == (AppointmentStatus.NO_SHOW, frontdesk, "Imported from Old EHR")
    # The late cancellation counts against attendance; the timely one freed the slot and does not.
    row = attendance_row(clinic)
    assert (row["due"], row["attended"], row["no_show"], row["late_cancel"]) == (3, 1, 1, 1)
    assert AuditEvent.objects.filter(action="scheduling.appointment.imported", actor=frontdesk).count() == 4
    assert AuditEvent.objects.filter(action="interop.appointment.imported", actor=frontdesk).count() == 4


def test_history_sends_no_reminder_or_packet_and_charges_no_fee(
    tmp_path, frontdesk, clinic, django_capture_on_commit_callbacks
):
    BillingSettings.objects.create(location=clinic.site, late_cancel_fee=Decimal("50.00"), no_show_fee=Decimal("75.00"))
    told: list[int] = []

    def listener(appointment_id: int) -> None:
        told.append(appointment_id)

    one, two, three = PatientFactory(), PatientFactory(), PatientFactory()
    day = local_day(-2)
    rows = (
        HEADER + f"H-1,{one.mrn},consultation,Midtown,{day} 09:00,dr.test,completed\n"
        f"H-2,{two.mrn},consultation,Midtown,{day} 10:00,dr.test,no_show\n"
        f"H-3,{three.mrn},consultation,Midtown,{day} 11:00,dr.test,late_cancelled\n"
        f"F-1,{one.mrn},consultation,Midtown,{local_day(3)} 10:00,dr.test,confirmed\n"
    )
    hooks.register_appointment_changed(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            out = run(tmp_path, rows, frontdesk)
    finally:
        hooks.unregister_appointment_changed(listener)
    assert "4 created" in out
    future = ImportedRecord.objects.get(external_id="F-1").appointment
    assert future.status == AppointmentStatus.CONFIRMED
    # Reminders, packets and billing hear of appointments only through this hook: only the visit to
    # come was announced.
    assert set(told) == {future.pk}
    assert not Invoice.objects.exists()
    past = Appointment.objects.exclude(pk=future.pk)
    assert not Reminder.objects.filter(appointment__in=past).exists()
    assert not Packet.objects.filter(appointment__in=past).exists()


def test_a_clash_or_a_status_that_does_not_fit_the_time_is_a_refused_row(tmp_path, frontdesk, clinic):
    one, two = PatientFactory(), PatientFactory()
    day = local_day(-3)
    rows = (
        HEADER + f"H-1,{one.mrn},consultation,Midtown,{day} 09:00,dr.test,completed\n"
        f"H-2,{two.mrn},consultation,Midtown,{day} 09:15,dr.test,completed\n"  # the doctor was with patient one
        f"H-3,{one.mrn},follow_up,Midtown,{day} 09:30,nurse.test,no_show\n"  # patient one was with the doctor
        f"H-4,{two.mrn},consultation,Midtown,{day} 09:20,dr.test,cancelled\n"  # cancelled: held no slot
        f"H-5,{two.mrn},consultation,Midtown,{day} 14:00,dr.test,\n"  # the past without its outcome
        f"H-6,{two.mrn},consultation,Midtown,{day} 15:00,dr.test,rescheduled\n"
        f"F-1,{two.mrn},consultation,Midtown,{local_day(3)} 10:00,dr.test,completed\n"
    )
    out = run(tmp_path, rows, frontdesk)
    assert "appointments: 2 created, 0 updated, 0 linked, 0 skipped, 5 refused" in out
    assert "row 3, column 'clinician':" in out
    assert "was already seeing another patient at that time" in out
    assert "row 4, column 'patient_mrn': This patient already has a visit at that time." in out
    assert "row 6, column 'start': That time has already passed: a past visit is imported with its outcome" in out
    assert "row 7, column 'status': 'rescheduled' is not a status this import knows" in out
    assert "row 8, column 'status': A visit still to come can only be booked or confirmed" in out
    assert set(ImportedRecord.objects.values_list("external_id", flat=True)) == {"H-1", "H-4"}


def test_a_dry_run_imports_nothing_and_a_rerun_skips_the_history(tmp_path, frontdesk, clinic):
    patient = PatientFactory()
    day = local_day(-4)
    rows = HEADER + f"H-1,{patient.mrn},infusion,Midtown,{day} 09:00,nurse.test,completed\n"
    out = run(tmp_path, rows, frontdesk, "--dry-run")
    assert "would have appointments: 1 created" in out
    assert not Appointment.objects.exists()
    assert not AppointmentStatusChange.objects.exists()

    assert "1 created" in run(tmp_path, rows, frontdesk)
    visit = Appointment.objects.get()
    # An infusion takes a chair, as a booking would.
    assert visit.resource in clinic.chairs
    assert visit.end - visit.start == timedelta(minutes=clinic.infusion.minutes)
    assert "0 created, 0 updated, 0 linked, 1 skipped, 0 refused" in run(tmp_path, rows, frontdesk)
    assert Appointment.objects.count() == 1
