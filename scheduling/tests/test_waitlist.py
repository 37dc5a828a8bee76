"""The waitlist: a cancellation offers its slot to the first N waiting patients; exactly one claim wins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from reminders.rules import denied_words_in
from scheduling.models import (
    Appointment,
    SelfBookingLink,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistSlot,
)
from scheduling.services import SchedulingError, appointment_cancel
from scheduling.services import self_booking as services
from scheduling.tests.conftest import at, book, local_day
from scheduling.tests.selfbooking_helpers import join_waitlist, open_link, policy, self_bookable, texting_patient


@pytest.fixture
def consult(clinic):
    policy(min_notice_hours=24, horizon_days=28, requires_approval=False, waitlist_offer_count=3)
    return self_bookable(clinic.consultation)


def _wait(clinic, frontdesk, patients):
    return [join_waitlist(clinic, frontdesk, p) for p in patients]


def _freed_slot(clinic, frontdesk, start):
    holder = texting_patient()
    appointment = book(clinic, holder, frontdesk, start=start)
    appointment_cancel(appointment=appointment, by=frontdesk, reason="Patient is travelling")
    return appointment


@pytest.mark.django_db
def test_a_cancellation_offers_the_slot_to_the_first_n_waiting_by_their_consented_channel(
    clinic, consult, frontdesk, django_capture_on_commit_callbacks, mailoutbox
):
    waiting = [texting_patient() for _ in range(5)]
    _wait(clinic, frontdesk, waiting)
    start = at(local_day(4), 11)
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = _freed_slot(clinic, frontdesk, start)
    slot = WaitlistSlot.objects.get(source=cancelled)
    offered = [o.entry.patient for o in WaitlistOffer.objects.filter(slot=slot).select_related("entry__patient")]
    assert offered == waiting[:3]  # the policy's N, longest waiting first
    for patient in waiting[:3]:
        logged = patient.contact_log.get()
        assert logged.channel == "sms"
        assert "Waitlist" in logged.summary
    body = services.offer_message(url="https://clinic.example/book/x/", expires_at=timezone.now())
    assert not denied_words_in(body)
    # Offered once: the hook running again (any later change of the row) offers nothing new.
    assert services.waitlist_slot_freed(appointment_id=cancelled.pk) == []


@pytest.mark.django_db
def test_a_patient_who_wants_a_slot_before_an_earlier_date_is_not_offered_a_later_one(clinic, consult, frontdesk):
    early, anytime = texting_patient(), texting_patient()
    join_waitlist(clinic, frontdesk, early, before=local_day(2))
    _wait(clinic, frontdesk, [anytime])
    cancelled = _freed_slot(clinic, frontdesk, at(local_day(5), 11))
    made = services.waitlist_slot_freed(appointment_id=cancelled.pk)
    assert [o.offer.entry.patient for o in made] == [anytime]


@pytest.mark.django_db
def test_a_slot_inside_the_minimum_notice_is_not_offered(clinic, consult, frontdesk):
    policy(min_notice_hours=72)
    _wait(clinic, frontdesk, [texting_patient()])
    cancelled = _freed_slot(clinic, frontdesk, at(local_day(2), 11))
    assert services.waitlist_slot_freed(appointment_id=cancelled.pk) == []


@pytest.mark.django_db
def test_the_first_claim_wins_and_the_next_is_told_it_was_taken_and_stays_waiting(client, clinic, consult, frontdesk):
    first, second = texting_patient(), texting_patient()
    _wait(clinic, frontdesk, [first, second])
    start = at(local_day(4), 11)
    cancelled = _freed_slot(clinic, frontdesk, start)
    made = services.waitlist_slot_freed(appointment_id=cancelled.pk)
    tokens = {o.offer.entry.patient_id: o.link.token for o in made}

    second_client = client.__class__()
    open_link(second_client, tokens[second.pk], second)
    page = second_client.get(reverse("self_booking:offer"))
    assert page.status_code == 200
    assert b"Claim this time" in page.content

    first_link = SelfBookingLink.objects.get(patient=first)
    with pytest.raises(services.LinkRefused):  # not before the date of birth was checked
        services.waitlist_offer_claim(link_id=first_link.pk)
    SelfBookingLink.objects.filter(pk=first_link.pk).update(verified_at=timezone.now())
    won = services.waitlist_offer_claim(link_id=first_link.pk)
    assert won.appointment is not None
    assert won.appointment.start == start

    claimed = second_client.post(reverse("self_booking:offer"))
    assert claimed.status_code == 302
    told = second_client.get(reverse("self_booking:done"))
    assert b"someone else claimed that time first" in told.content
    assert WaitlistEntry.objects.get(patient=second).status == WaitlistEntry.Status.WAITING
    assert WaitlistEntry.objects.get(patient=first).status == WaitlistEntry.Status.BOOKED
    assert Appointment.objects.filter(start=start, status="booked").count() == 1


@pytest.mark.django_db
def test_a_patient_joins_the_waitlist_from_their_booking_link(client, clinic, consult):
    patient = texting_patient()
    new = services.self_booking_link_issue(patient=patient, by=None)
    open_link(client, new.token, patient)
    joined = client.post(
        reverse("self_booking:waitlist"),
        {"appointment_type": clinic.consultation.pk, "location": clinic.site.pk, "before": ""},
    )
    assert joined.status_code == 200
    assert b"You are on the waitlist" in joined.content
    entry = WaitlistEntry.objects.get(patient=patient)
    assert entry.created_by is None
    again = client.post(
        reverse("self_booking:waitlist"), {"appointment_type": clinic.consultation.pk, "location": clinic.site.pk}
    )
    assert again.status_code == 400  # already waiting: one entry per kind and place


@pytest.mark.django_db
def test_a_type_that_is_not_self_bookable_has_no_waitlist(clinic, consult, frontdesk):
    with pytest.raises(SchedulingError):
        services.waitlist_entry_create(
            patient=texting_patient(),
            appointment_type=clinic.infusion,
            location=clinic.site,
            before=None,
            by=frontdesk,
        )


RACERS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_patients_racing_for_one_freed_slot_exactly_one_gets_it(clinic, consult, frontdesk):
    policy(waitlist_offer_count=RACERS, requires_approval=False)
    waiting = [texting_patient() for _ in range(RACERS)]
    _wait(clinic, frontdesk, waiting)
    start = at(local_day(5), 14)
    cancelled = _freed_slot(clinic, frontdesk, start)  # real commits: the hook offers the slot
    assert WaitlistOffer.objects.filter(slot__source=cancelled).count() == RACERS
    link_ids = list(SelfBookingLink.objects.filter(kind="offer").values_list("pk", flat=True))
    SelfBookingLink.objects.filter(pk__in=link_ids).update(verified_at=timezone.now())
    barrier = threading.Barrier(RACERS)

    def claim(link_id):
        try:
            barrier.wait(timeout=30)
            outcome = services.waitlist_offer_claim(link_id=link_id)
            return "won" if outcome.appointment is not None else "taken"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        results = list(pool.map(claim, link_ids))

    assert results.count("won") == 1
    assert results.count("taken") == RACERS - 1
    booked = Appointment.objects.filter(start=start, status="booked")
    assert booked.count() == 1
    assert WaitlistOffer.objects.filter(outcome="claimed").count() == 1
    assert WaitlistOffer.objects.filter(outcome="taken").count() == RACERS - 1
    winner = booked.get().patient_id
    assert WaitlistEntry.objects.filter(status="waiting").count() == RACERS - 1
    assert WaitlistEntry.objects.get(status="booked").patient_id == winner
