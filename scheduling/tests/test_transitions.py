"""Status moves through the one transition service: the table, who and when, reschedule links."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from accounts.models import AuditEvent
from scheduling import rules, services
from scheduling.models import Appointment, AppointmentStatus, AppointmentStatusChange
from scheduling.tests.conftest import at, book, local_day
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db
S = AppointmentStatus


@pytest.fixture
def appt(clinic, patient, frontdesk):
    return book(clinic, patient, frontdesk, start=at(local_day(2), 10))


ILLEGAL = [(a.value, b.value) for a in S for b in S if b not in rules.TRANSITIONS[a]]


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_move_outside_the_table_is_refused_and_changes_nothing(admin, current, target):
    appt = AppointmentFactory(status=current, cancel_reason="x" if current == S.CANCELLED else "")
    with pytest.raises(services.SchedulingError):
        services.appointment_transition(appointment=appt, to_status=target, by=admin, reason="because")
    appt.refresh_from_db()
    assert (appt.status, appt.version) == (current, 1)
    assert not AppointmentStatusChange.objects.filter(appointment=appt).exists()


def test_each_move_is_recorded_with_who_and_when(clinic, appt, frontdesk, clinician):
    day_of = appt.start - timedelta(hours=1)
    with time_machine.travel(day_of, tick=False):
        services.appointment_transition(appointment=appt, to_status=S.CONFIRMED, by=frontdesk)
        services.appointment_transition(appointment=appt, to_status=S.CHECKED_IN, by=clinician)
    moves = list(AppointmentStatusChange.objects.filter(appointment=appt).order_by("id"))
    assert [(m.from_status, m.to_status, m.by) for m in moves] == [
        ("", S.BOOKED, frontdesk),
        (S.BOOKED, S.CONFIRMED, frontdesk),
        (S.CONFIRMED, S.CHECKED_IN, clinician),
    ]
    assert moves[-1].at == day_of
    assert AuditEvent.objects.filter(action="scheduling.appointment.checked_in", actor=clinician).exists()
    appt.refresh_from_db()
    assert appt.version == 3


def test_a_no_show_is_refused_before_the_grace_period_and_allowed_after(appt, frontdesk):
    with (
        time_machine.travel(appt.start + timedelta(minutes=5), tick=False),
        pytest.raises(services.SchedulingError, match="no-show can be recorded from"),
    ):
        services.appointment_transition(appointment=appt, to_status=S.NO_SHOW, by=frontdesk)
    with time_machine.travel(appt.start + timedelta(minutes=20), tick=False):
        services.appointment_transition(appointment=appt, to_status=S.NO_SHOW, by=frontdesk)
    appt.refresh_from_db()
    assert appt.status == S.NO_SHOW


def test_a_cancellation_keeps_its_reason_and_frees_the_slot(clinic, appt, frontdesk):
    services.appointment_cancel(appointment=appt, by=frontdesk, reason="Patient unwell")
    appt.refresh_from_db()
    assert (appt.status, appt.cancel_reason) == (S.CANCELLED, "Patient unwell")
    again = book(clinic, appt.patient, frontdesk, start=appt.start, resource=appt.resource)
    assert again.resource == appt.resource


def test_a_cancellation_without_a_reason_is_refused_at_the_reason(appt, frontdesk):
    with pytest.raises(services.SchedulingError) as caught:
        services.appointment_cancel(appointment=appt, by=frontdesk, reason=" ")
    assert "reason" in caught.value.message_dict


def test_a_stale_version_is_refused_instead_of_overwriting(appt, frontdesk):
    services.appointment_transition(appointment=appt, to_status=S.CONFIRMED, by=frontdesk, expected_version=1)
    with pytest.raises(services.StaleAppointment, match="Someone else changed"):
        services.appointment_cancel(appointment=appt, by=frontdesk, reason="late", expected_version=1)
    appt.refresh_from_db()
    assert appt.status == S.CONFIRMED


def test_reschedule_cancels_the_old_row_and_links_it_to_the_new(clinic, appt, frontdesk):
    new = services.appointment_reschedule(
        appointment=appt, by=frontdesk, start=appt.start + timedelta(minutes=30), clinician=appt.clinician
    )
    appt.refresh_from_db()
    assert (appt.status, appt.cancel_reason) == (S.CANCELLED, "rescheduled")
    assert new.rescheduled_from == appt
    assert appt.rescheduled_to == new
    assert new.status == S.BOOKED
    assert new.start - appt.start == timedelta(minutes=30)  # may overlap the slot it replaces
    assert AuditEvent.objects.filter(action="scheduling.appointment.rescheduled", object_id=str(appt.pk)).exists()


def test_a_refused_reschedule_leaves_the_original_untouched(clinic, appt, frontdesk):
    with pytest.raises(services.SchedulingError, match="Outside opening hours"):
        services.appointment_reschedule(
            appointment=appt, by=frontdesk, start=at(local_day(2), 23), clinician=appt.clinician
        )
    appt.refresh_from_db()
    assert appt.status == S.BOOKED
    assert Appointment.objects.count() == 1


def test_clinicians_may_check_in_but_not_cancel_or_mark_no_shows(appt, clinician):
    with pytest.raises(PermissionDenied):
        services.appointment_cancel(appointment=appt, by=clinician, reason="no")
    with pytest.raises(PermissionDenied):
        services.appointment_transition(appointment=appt, to_status=S.NO_SHOW, by=clinician)
    with time_machine.travel(appt.start, tick=False):
        services.appointment_transition(appointment=appt, to_status=S.CHECKED_IN, by=clinician)


def test_only_administrators_mark_entered_in_error(appt, frontdesk, admin):
    with pytest.raises(PermissionDenied):
        services.appointment_transition(appointment=appt, to_status=S.ENTERED_IN_ERROR, by=frontdesk, reason="dup")
    services.appointment_transition(appointment=appt, to_status=S.ENTERED_IN_ERROR, by=admin, reason="duplicate")
    appt.refresh_from_db()
    assert appt.status == S.ENTERED_IN_ERROR


def test_status_history_cannot_be_rewritten(appt):
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic():
        AppointmentStatusChange.objects.filter(appointment=appt).update(to_status="completed")


def test_escort_confirmation_is_recorded_and_audited(clinic, patient, frontdesk):
    appt = book(clinic, patient, frontdesk, start=at(local_day(2), 9), kind="infusion")
    services.appointment_confirm_escort(appointment=appt, by=frontdesk, expected_version=1)
    appt.refresh_from_db()
    assert appt.escort_confirmed_by == frontdesk
    assert appt.escort_confirmed_at is not None
    assert AuditEvent.objects.filter(action="scheduling.appointment.escort_confirmed").exists()
