"""The appointment follows its clinical record: the care's path through the status table (pure),
and the service that walks it, each step logged and audited."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from scheduling import services
from scheduling.models import AppointmentStatusChange
from scheduling.rules import TRANSITIONS, care_path
from scheduling.rules import AppointmentStatus as A
from scheduling.tests.factories import AppointmentFactory


@pytest.mark.parametrize(
    ("current", "target", "path"),
    [
        (A.BOOKED, A.COMPLETED, [A.CHECKED_IN, A.IN_PROGRESS, A.COMPLETED]),  # an intake signed, no check-in
        (A.CONFIRMED, A.IN_PROGRESS, [A.CHECKED_IN, A.IN_PROGRESS]),
        (A.CHECKED_IN, A.IN_PROGRESS, [A.IN_PROGRESS]),  # the infusion starts
        (A.IN_PROGRESS, A.COMPLETED, [A.COMPLETED]),  # discharged or signed
        (A.IN_PROGRESS, A.IN_PROGRESS, []),  # resumed after a pause: already there
        (A.COMPLETED, A.COMPLETED, []),  # signed after discharge: already there
        (A.COMPLETED, A.IN_PROGRESS, []),  # never back
        (A.CANCELLED, A.COMPLETED, []),  # the care never undoes a cancellation
        (A.NO_SHOW, A.IN_PROGRESS, []),
        (A.ENTERED_IN_ERROR, A.COMPLETED, []),
    ],
)
def test_care_path_table(current, target, path):
    assert care_path(current=current, target=target) == path


@pytest.mark.parametrize("current", list(A))
@pytest.mark.parametrize("target", [A.CHECKED_IN, A.IN_PROGRESS, A.COMPLETED])
def test_every_step_of_the_care_is_a_move_the_table_allows(current, target):
    here = current
    for step in care_path(current=current, target=target):
        assert step in TRANSITIONS[A.BOOKED if here == A.CONFIRMED else here] or step in TRANSITIONS[here]
        here = step


def test_the_care_does_not_book():
    with pytest.raises(ValueError, match="does not move"):
        care_path(current=A.CHECKED_IN, target=A.BOOKED)


@pytest.mark.parametrize(
    ("current", "path"),
    [
        (A.BOOKED, [A.CANCELLED]),
        (A.CONFIRMED, [A.CANCELLED]),
        (A.CHECKED_IN, [A.CANCELLED]),  # deferred at the pre-check, or cleared and then not treated
        (A.IN_PROGRESS, []),  # once started, the visit can only complete
        (A.COMPLETED, []),
        (A.NO_SHOW, []),
        (A.CANCELLED, []),
    ],
)
def test_care_not_given_calls_off_a_visit_that_had_not_started(current, path):
    assert care_path(current=current, target=A.CANCELLED) == path
    assert all(step in TRANSITIONS[current] for step in path)


@pytest.mark.django_db
def test_care_not_given_cancels_with_the_reason_logged_and_audited(nurse):
    appointment = AppointmentFactory(status=A.CHECKED_IN)
    moved = services.appointment_follow_care(
        appointment=appointment, to_status=A.CANCELLED, by=nurse, reason="Not treated today"
    )
    moved.refresh_from_db()
    assert (moved.status, moved.cancel_reason) == (A.CANCELLED, "Not treated today")
    change = AppointmentStatusChange.objects.filter(appointment=appointment).latest("id")
    assert (change.from_status, change.to_status, change.by, change.reason) == (
        A.CHECKED_IN,
        A.CANCELLED,
        nurse,
        "Not treated today",
    )
    assert AuditEvent.objects.filter(action="scheduling.appointment.cancelled", patient_id=appointment.patient_id)


@pytest.mark.django_db
def test_following_the_care_logs_and_audits_each_step_with_its_reason(nurse):
    appointment = AppointmentFactory(status=A.BOOKED)
    moved = services.appointment_follow_care(appointment=appointment, to_status=A.COMPLETED, by=nurse, reason="Done")
    assert moved.status == A.COMPLETED
    log = list(AppointmentStatusChange.objects.filter(appointment=appointment).order_by("id"))
    assert [(c.from_status, c.to_status, c.by) for c in log][-3:] == [
        (A.BOOKED, A.CHECKED_IN, nurse),
        (A.CHECKED_IN, A.IN_PROGRESS, nurse),
        (A.IN_PROGRESS, A.COMPLETED, nurse),
    ]
    assert "no front-desk check-in" in log[-3].reason
    assert log[-1].reason == "Done"
    assert AuditEvent.objects.filter(action="scheduling.appointment.checked_in", patient_id=appointment.patient_id)
    # Again: nothing more to do, nothing logged.
    services.appointment_follow_care(appointment=appointment, to_status=A.COMPLETED, by=nurse, reason="Again")
    assert AppointmentStatusChange.objects.filter(appointment=appointment).count() == len(log)
