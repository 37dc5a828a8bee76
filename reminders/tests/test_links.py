"""Confirm/cancel links in reminders (security-reference A9 shape) and the overdue-unsent alert."""

from __future__ import annotations

import importlib
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent
from core import tokens
from notifications import backends
from patients.models import ContactLogEntry
from reminders import selectors
from reminders.models import Reminder, ReminderLink, ReminderStatus
from reminders.services import alerting, dispatch, send
from reminders.tests.conftest import make_rule, opted_patient
from scheduling import services as scheduling_services
from scheduling.models import AppointmentStatus, AppointmentStatusChange
from scheduling.tests.conftest import at, book, local_day

pytestmark = pytest.mark.django_db


LINK = re.compile(r"https?://[^\s]+/schedule/visit/([A-Za-z0-9_-]+)/")


@pytest.fixture
def sent(clinic, frontdesk, no_seeded_rules, django_capture_on_commit_callbacks):
    """A booked visit in 5 days whose 24 h SMS reminder was just sent; returns (appointment, token)."""
    make_rule(types=[clinic.consultation], hours=24, email=False)
    patient = opted_patient(email=False)
    with django_capture_on_commit_callbacks(execute=True):
        appt = book(clinic, patient, frontdesk, start=at(local_day(5), 10))
    reminder = Reminder.objects.get(appointment=appt)
    with time_machine.travel(reminder.due_at + timedelta(seconds=1), tick=False):
        claimed = dispatch.reminders_dispatch().claimed
        assert send.reminder_send(reminder_id=claimed[0]) == ReminderStatus.SENT
    token = LINK.search(backends.outbox[-1].body).group(1)
    return appt, token


def _open(client, token):
    return client.get(reverse("reminders:visit-link", args=[token]))


def test_the_text_carries_a_256_bit_link_stored_only_as_a_hash(sent):
    appt, token = sent
    assert len(token) >= 43  # token_urlsafe(32): 256 bits
    link = ReminderLink.objects.get(appointment=appt)
    logged = ContactLogEntry.objects.get(patient=appt.patient, direction="out").summary
    assert token not in logged
    assert "[confirm/cancel link]" in logged
    assert link.token_hash == tokens.hash_token(token)
    assert token not in link.token_hash
    assert link.expires_at == appt.start
    assert link.used_at is None


def test_the_token_is_exchanged_for_a_session_and_a_token_free_page_that_confirms(client, sent):
    appt, token = sent
    response = _open(client, token)
    assert response.status_code == 302
    assert response["Location"] == reverse("reminders:visit-reply")
    assert response["Referrer-Policy"] == "no-referrer"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert token not in page.content.decode()
    # Same-origin, not no-referrer: under no-referrer a browser posts the form with Origin: null,
    # which the CSRF check refuses; the page's address carries nothing secret.
    assert page["Referrer-Policy"] == "same-origin"
    assert "no-store" in page["Cache-Control"]
    done = client.post(reverse("reminders:visit-reply"), {"action": "confirm"})
    assert done.status_code == 302
    assert done["Location"] == reverse("reminders:visit-done")
    assert "confirmed" in client.get(done["Location"]).content.decode()
    appt.refresh_from_db()
    assert appt.status == AppointmentStatus.CONFIRMED


def test_a_confirmation_is_recorded_as_the_patient_via_the_link_and_the_desk_is_told(
    client, client_as, frontdesk, sent
):
    appt, token = sent
    _open(client, token)
    client.post(reverse("reminders:visit-reply"), {"action": "confirm"})
    move = AppointmentStatusChange.objects.filter(appointment=appt).latest("at")
    assert move.by is None
    assert "reminder link" in move.reason
    event = AuditEvent.objects.filter(action="scheduling.appointment.confirmed").latest("id")
    assert event.actor is None
    assert event.role == ""
    assert event.actor_username == f"patient {appt.patient.mrn} (reminder link)"
    assert event.changes["via"] == "reminder link"
    entry = ContactLogEntry.objects.filter(patient=appt.patient, direction="in").get()
    assert "confirmed" in entry.summary
    assert entry.channel == "sms"
    home = client_as(frontdesk).get(reverse("home")).content.decode()
    assert 'id="link-replies"' in home
    assert appt.patient.display_name in home


def test_a_cancellation_frees_the_slot_voids_the_pending_reminders_and_tells_the_desk(
    client, sent, django_capture_on_commit_callbacks
):
    appt, token = sent
    _open(client, token)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reminders:visit-reply"), {"action": "cancel"})
    appt.refresh_from_db()
    assert appt.status == AppointmentStatus.CANCELLED
    assert "patient" in appt.cancel_reason.lower()
    assert "CANCELLED" in ContactLogEntry.objects.get(patient=appt.patient, direction="in").summary


def test_the_link_works_once(client, sent):
    appt, token = sent
    _open(client, token)
    client.post(reverse("reminders:visit-reply"), {"action": "confirm"})
    assert _open(client, token).status_code == 404  # spent
    other = client.__class__()
    assert _open(other, token).status_code == 404
    # The spent session cannot act either.
    assert client.post(reverse("reminders:visit-reply"), {"action": "cancel"}).status_code == 404
    appt.refresh_from_db()
    assert appt.status == AppointmentStatus.CONFIRMED


def test_a_link_expires_at_the_visit_and_dies_when_the_visit_moves(client, frontdesk, clinic, sent):
    appt, token = sent
    with time_machine.travel(appt.start + timedelta(minutes=1), tick=False):
        assert _open(client, token).status_code == 404
    scheduling_services.appointment_reschedule(
        appointment=appt, by=frontdesk, start=at(local_day(6), 11), clinician=clinic.doctor
    )
    assert _open(client, token).status_code == 404


def test_unknown_tokens_and_no_session_are_refused_without_a_sign_in_page(client, sent):
    assert _open(client, "x" * 43).status_code == 404
    assert client.get(reverse("reminders:visit-reply")).status_code == 404
    assert client.post(reverse("reminders:visit-reply"), {"action": "cancel"}).status_code == 404


def test_bad_input_on_the_reply_page_is_a_message_not_a_500(client, sent):
    appt, token = sent
    _open(client, token)
    response = client.post(reverse("reminders:visit-reply"), {"action": "delete"})
    assert response.status_code == 400
    assert "Choose Confirm or Cancel" in response.content.decode()
    appt.refresh_from_db()
    assert appt.status == AppointmentStatus.BOOKED


def test_token_guessing_is_rate_limited(client, sent):
    view = importlib.import_module("reminders.views")
    appt, token = sent
    answers = [_open(client, f"guess{i:040d}").status_code for i in range(view.RATE_LIMIT)]
    assert set(answers) == {404}
    assert _open(client, token).status_code == 429  # even the right token, once over the limit


def test_the_patient_path_cannot_do_what_only_staff_may(clinic, frontdesk, patient):
    appt = book(clinic, patient, frontdesk, start=at(local_day(5), 10))
    with pytest.raises(scheduling_services.SchedulingError):
        scheduling_services.appointment_transition_by_patient_link(appointment=appt, to_status="checked_in")
    scheduling_services.appointment_transition(appointment=appt, to_status="cancelled", by=frontdesk, reason="x")
    with pytest.raises(scheduling_services.SchedulingError):
        scheduling_services.appointment_transition_by_patient_link(appointment=appt, to_status="confirmed")


# --- Overdue unsent alert ----------------------------------------------------------------


def test_reminders_left_unsent_past_due_alert_administrators_once(
    clinic, frontdesk, admin, no_seeded_rules, django_capture_on_commit_callbacks
):
    make_rule(types=[clinic.consultation], hours=24)
    with django_capture_on_commit_callbacks(execute=True):
        appt = book(clinic, opted_patient(), frontdesk, start=at(local_day(5), 10))
    due = Reminder.objects.filter(appointment=appt).first().due_at
    mail.outbox.clear()
    with time_machine.travel(due + timedelta(minutes=3), tick=False):
        assert alerting.reminders_overdue_check() == 0  # late, but within the 5 minutes
    with (
        time_machine.travel(due + timedelta(minutes=6), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert alerting.reminders_overdue_check() == 2  # the SMS and the e-mail
        assert alerting.reminders_overdue_check() == 0  # once
        assert selectors.overdue_unsent_count() == 2
    alerts = [m for m in mail.outbox if "overdue" in m.subject]
    assert len(alerts) == 1
    assert "Celery" in alerts[0].body
    assert appt.patient.legal_last_name not in alerts[0].body  # no PHI in the alert


def test_the_administrator_home_shows_overdue_reminders(
    client_as, admin, clinic, frontdesk, no_seeded_rules, django_capture_on_commit_callbacks
):
    make_rule(types=[clinic.consultation], hours=24)
    with django_capture_on_commit_callbacks(execute=True):
        appt = book(clinic, opted_patient(), frontdesk, start=at(local_day(5), 10))
    due = Reminder.objects.filter(appointment=appt).first().due_at
    with time_machine.travel(due + timedelta(minutes=10), tick=False):
        html = client_as(admin).get(reverse("home")).content.decode()
    assert 'id="reminders-overdue"' in html
    assert 'id="reminders-overdue"' not in client_as(admin).get(reverse("home")).content.decode()  # not yet due now
