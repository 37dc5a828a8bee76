"""Patients booking their own visit from a link: the token, the policy, the slot taken meanwhile."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from core import tokens
from scheduling import rules
from scheduling.models import Appointment, SelfBooking, SelfBookingLink
from scheduling.public_forms import slot_value
from scheduling.selectors import self_booking as selectors
from scheduling.services import SchedulingError
from scheduling.services import self_booking as services
from scheduling.tests.conftest import at, book, local_day
from scheduling.tests.selfbooking_helpers import issue, open_link, policy, self_bookable, texting_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def consult(clinic):
    policy(min_notice_hours=24, horizon_days=28, requires_approval=True)
    return self_bookable(clinic.consultation)


def _post_slot(client, clinic, start, clinician):
    url = reverse("self_booking:book") + f"?appointment_type={clinic.consultation.pk}&location={clinic.site.pk}"
    return client.post(url, {"slot": slot_value(start, clinician.pk)})


# --- Rules ------------------------------------------------------------------------


NOW = at(local_day(0), 9)


@pytest.mark.parametrize(
    ("bookable", "hours_ahead", "field"),
    [
        (True, 48, None),
        (False, 48, "appointment_type"),
        (True, 23, "start"),  # inside the minimum notice
        (True, 24, None),
        (True, 28 * 24, None),
        (True, 28 * 24 + 1, "start"),  # beyond the horizon
    ],
)
def test_self_booking_problem_table(bookable, hours_ahead, field):
    problem = rules.self_booking_problem(
        self_bookable=bookable,
        start=NOW + timedelta(hours=hours_ahead),
        now=NOW,
        min_notice_hours=24,
        horizon_days=28,
    )
    assert (problem[0] if problem else None) == field


# --- The link ----------------------------------------------------------------------


def test_the_token_is_stored_only_as_its_hash_and_expires_by_policy(clinic, consult, frontdesk):
    policy(link_expiry_days=10)
    patient = texting_patient()
    new = issue(patient, by=frontdesk)
    link = SelfBookingLink.objects.get(pk=new.link.pk)
    assert len(new.token) >= 43  # 256 bits, URL-safe
    assert link.token_hash == tokens.hash_token(new.token)
    assert new.token not in link.token_hash
    assert link.expires_at - link.created_at == timedelta(days=10)
    assert AuditEvent.objects.filter(action="scheduling.self_booking_link.issued", patient_id=patient.pk).exists()


def test_only_staff_who_book_may_issue_a_link(clinic, consult, nurse):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        issue(texting_patient(), by=nurse)


def test_sending_the_link_uses_the_consented_channel_and_minimum_necessary_text(clinic, consult, frontdesk):
    from reminders.rules import denied_words_in

    patient = texting_patient()
    new = issue(patient, by=frontdesk)
    assert services.self_booking_link_send(new=new, by=frontdesk) == ["sms"]
    body = services.booking_link_message(url=new.url, expires_at=new.link.expires_at)
    assert not denied_words_in(body)
    assert patient.contact_log.filter(summary__icontains="booking link").exists()


def test_a_link_opens_only_after_the_date_of_birth_and_the_token_leaves_the_address_bar(client, clinic, consult):
    patient = texting_patient()
    new = issue(patient)
    opened = client.get(reverse("self_booking:open", args=[new.token]))
    assert opened.status_code == 302
    assert opened["Location"] == reverse("self_booking:verify")
    assert opened["Referrer-Policy"] == "no-referrer"
    assert client.get(reverse("self_booking:book")).status_code == 403  # not verified yet
    wrong = client.post(reverse("self_booking:verify"), {"date_of_birth": "1900-01-01"})
    assert wrong.status_code == 400
    assert b"does not match" in wrong.content
    right = client.post(reverse("self_booking:verify"), {"date_of_birth": patient.date_of_birth.isoformat()})
    assert right.status_code == 302
    assert right["Location"] == reverse("self_booking:book")
    page = client.get(reverse("self_booking:book"))
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert new.token.encode() not in page.content


def test_wrong_dates_of_birth_lock_the_link(client, clinic, consult):
    policy(dob_max_failures=3)
    patient = texting_patient()
    new = issue(patient)
    client.get(reverse("self_booking:open", args=[new.token]))
    for _ in range(3):
        client.post(reverse("self_booking:verify"), {"date_of_birth": "1900-01-01"})
    assert SelfBookingLink.objects.get(pk=new.link.pk).dob_failures == 3
    assert client.get(reverse("self_booking:open", args=[new.token])).status_code == 410


def test_unknown_and_expired_tokens_are_refused(client, clinic, consult):
    assert client.get(reverse("self_booking:open", args=["x" * 43])).status_code == 404
    new = issue(texting_patient())
    with time_machine.travel(new.link.expires_at + timedelta(seconds=1), tick=False):
        assert client.get(reverse("self_booking:open", args=[new.token])).status_code == 410


def test_guessing_tokens_is_rate_limited_per_client_even_for_a_valid_token(client, clinic, consult):
    from scheduling.views import self_booking as views

    new = issue(texting_patient())
    for n in range(views.RATE_LIMIT):
        client.get(reverse("self_booking:open", args=[f"guess{n:040d}"]), REMOTE_ADDR="203.0.113.9")
    refused = client.get(reverse("self_booking:open", args=[new.token]), REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429
    assert b"Too many attempts" in refused.content
    assert client.get(reverse("self_booking:open", args=[new.token])).status_code == 302  # another client
    with time_machine.travel(timezone.now() + views.RATE_WINDOW + timedelta(seconds=1)):
        assert client.get(reverse("self_booking:open", args=[new.token]), REMOTE_ADDR="203.0.113.9").status_code == 302


def test_booking_spends_the_link(client, clinic, consult):
    patient = texting_patient()
    new = issue(patient)
    open_link(client, new.token, patient)
    start = at(local_day(3), 10)
    response = _post_slot(client, clinic, start, clinic.doctor)
    assert response.status_code == 302
    assert response["Location"] == reverse("self_booking:done")
    done = client.get(reverse("self_booking:done"))
    assert b"Your request is with the clinic" in done.content
    # Spent for booking: opened again it manages the booking it made (cancel or move), no second one.
    assert open_link(client, new.token, patient)["Location"] == reverse("self_booking:manage")
    appointment = Appointment.objects.get(patient=patient)
    assert appointment.start == start
    assert appointment.clinician == clinic.doctor
    assert appointment.created_by is None
    event = AuditEvent.objects.get(action="scheduling.appointment.booked", patient_id=patient.pk)
    assert "online booking link" in event.actor_username


# --- The policy ----------------------------------------------------------------------


def test_a_type_that_is_not_self_bookable_is_refused(clinic, consult):
    self_bookable(clinic.consultation, on=False)
    patient = texting_patient()
    new = issue(patient)
    SelfBookingLink.objects.filter(pk=new.link.pk).update(verified_at=timezone.now())
    with pytest.raises(SchedulingError) as refused:
        services.self_booking_book(
            link_id=new.link.pk,
            appointment_type=clinic.consultation,
            location=clinic.site,
            start=at(local_day(3), 10),
            clinician_id=clinic.doctor.pk,
        )
    assert "appointment_type" in refused.value.message_dict
    assert not selectors.self_booking_slots(appointment_type=clinic.consultation, location=clinic.site)
    assert not Appointment.objects.filter(patient=patient).exists()


def test_a_slot_beyond_the_horizon_or_inside_the_notice_is_refused(client, clinic, consult):
    policy(horizon_days=7, min_notice_hours=48)
    patient = texting_patient()
    open_link(client, issue(patient).token, patient)
    beyond = _post_slot(client, clinic, at(local_day(9), 10), clinic.doctor)
    assert beyond.status_code == 400
    assert b"days ahead" in beyond.content
    soon = _post_slot(client, clinic, timezone.now() + timedelta(hours=30), clinic.doctor)
    assert soon.status_code == 400
    assert b"notice" in soon.content
    assert not Appointment.objects.filter(patient=patient).exists()
    slots = selectors.self_booking_slots(appointment_type=clinic.consultation, location=clinic.site, limit=500)
    assert slots
    assert all(timezone.now() + timedelta(hours=48) <= s.start <= timezone.now() + timedelta(days=7) for s in slots)


def test_without_approval_the_booking_stands_at_once(client, clinic, consult):
    policy(requires_approval=False)
    patient = texting_patient()
    open_link(client, issue(patient).token, patient)
    _post_slot(client, clinic, at(local_day(3), 10), clinic.doctor)
    assert SelfBooking.objects.get(appointment__patient=patient).status == SelfBooking.Status.BOOKED
    assert b"You are booked" in client.get(reverse("self_booking:done")).content


# --- A slot taken meanwhile ------------------------------------------------------------


def test_a_slot_taken_meanwhile_shows_alternatives(client, clinic, consult, frontdesk):
    patient = texting_patient()
    open_link(client, issue(patient).token, patient)
    start = at(local_day(3), 10)
    page = client.get(reverse("self_booking:book"), {"start_from": local_day(3).isoformat()})
    assert slot_value(start, clinic.doctor.pk).encode() in page.content
    # The front desk books the doctor at that time while the patient is choosing.
    book(clinic, texting_patient(), frontdesk, start=start)
    taken = _post_slot(client, clinic, start, clinic.doctor)
    assert taken.status_code == 409
    assert b"just taken" in taken.content
    assert b'name="slot"' in taken.content  # alternatives to pick from
    assert slot_value(start, clinic.doctor.pk).encode() not in taken.content
    assert not Appointment.objects.filter(patient=patient).exists()
    assert SelfBookingLink.objects.get(patient=patient).used_at is None  # still usable


def test_a_posted_slot_that_is_not_a_time_is_refused_politely(client, clinic, consult):
    patient = texting_patient()
    open_link(client, issue(patient).token, patient)
    url = reverse("self_booking:book")
    for hostile in ["", "not-a-time", "2026-01-01T10:00|x", "2026-01-01T10:00|1", "9" * 59, "2030-01-01T10:00+00:00|²"]:
        assert client.post(url, {"slot": hostile}).status_code == 400
    assert client.get(url, {"appointment_type": "²", "location": "abc"}).status_code == 400


# --- Approval ---------------------------------------------------------------------------


def test_the_desk_approves_or_declines_a_held_request(client, clinic, consult, frontdesk):
    first, second = texting_patient(), texting_patient()
    for patient, hour in ((first, 10), (second, 12)):
        link = issue(patient)
        SelfBookingLink.objects.filter(pk=link.link.pk).update(verified_at=timezone.now())
        services.self_booking_book(
            link_id=link.link.pk,
            appointment_type=clinic.consultation,
            location=clinic.site,
            start=at(local_day(3), hour),
            clinician_id=clinic.doctor.pk,
        )
    pending = selectors.pending_self_bookings()
    assert [b.appointment.patient for b in pending] == [first, second]
    services.self_booking_approve(self_booking=pending[0], by=frontdesk)
    services.self_booking_decline(self_booking=pending[1], by=frontdesk, reason="Needs a referral first")
    assert selectors.pending_self_bookings() == []
    declined = Appointment.objects.get(patient=second)
    assert declined.status == "cancelled"
    assert "referral" in declined.cancel_reason
    assert Appointment.objects.get(patient=first).status == "booked"
    with pytest.raises(SchedulingError):
        services.self_booking_approve(self_booking=pending[0], by=frontdesk)


# --- Query pins ------------------------------------------------------------------------


def test_the_booking_page_costs_the_same_queries_however_many_bookings(
    client, clinic, consult, frontdesk, django_assert_max_num_queries
):
    patient = texting_patient()
    open_link(client, issue(patient).token, patient)
    url = reverse("self_booking:book")
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for day in range(2, 6):
        for hour in (9, 11, 13, 15):
            book(clinic, texting_patient(), frontdesk, start=at(local_day(day), hour))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
