"""The front desk's side: sending a booking link, the waitlist, and the online requests page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from patients.tests.factories import PatientFactory
from scheduling.models import SelfBooking, SelfBookingLink, WaitlistEntry
from scheduling.services import self_booking as services
from scheduling.tests.conftest import at, local_day
from scheduling.tests.selfbooking_helpers import join_waitlist, policy, self_bookable, texting_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def consult(clinic):
    policy(requires_approval=True)
    return self_bookable(clinic.consultation)


def _request(clinic, patient, hour):
    new = services.self_booking_link_issue(patient=patient, by=None)
    SelfBookingLink.objects.filter(pk=new.link.pk).update(verified_at=timezone.now())
    return services.self_booking_book(
        link_id=new.link.pk,
        appointment_type=clinic.consultation,
        location=clinic.site,
        start=at(local_day(3), hour),
        clinician_id=clinic.doctor.pk,
    )


def test_the_desk_sends_a_booking_link_on_the_consented_channel(client_as, clinic, consult, frontdesk):
    patient = texting_patient()
    client = client_as(frontdesk)
    response = client.post(reverse("scheduling:patient-booking-link", args=[patient.pk]), follow=True)
    assert b"Booking link sent by text" in response.content
    assert SelfBookingLink.objects.filter(patient=patient, sent_channels="sms").exists()


def test_without_consent_the_link_is_shown_once_for_the_desk_to_give_in_person(client_as, clinic, consult, frontdesk):
    patient = PatientFactory()
    client = client_as(frontdesk)
    response = client.post(reverse("scheduling:patient-booking-link", args=[patient.pk]), follow=True)
    assert b"has not agreed to texts or e-mail" in response.content
    assert b"/book/" in response.content


def test_the_desk_puts_a_patient_on_the_waitlist(client_as, clinic, consult, frontdesk):
    patient = texting_patient()
    client = client_as(frontdesk)
    url = reverse("scheduling:patient-waitlist", args=[patient.pk])
    assert client.get(url).status_code == 200
    data = {"appointment_type": clinic.consultation.pk, "location": clinic.site.pk, "before": ""}
    assert client.post(url, data).status_code == 302
    again = client.post(url, data)
    assert again.status_code == 400
    assert b"Already on the waitlist" in again.content
    hostile = client.post(url, {"appointment_type": "²", "location": "x", "before": "not a date"})
    assert hostile.status_code == 400
    entry = WaitlistEntry.objects.get(patient=patient)
    assert entry.created_by == frontdesk
    assert AuditEvent.objects.filter(action="scheduling.waitlist.joined", patient_id=patient.pk).exists()


def test_the_online_page_lists_requests_and_the_waitlist_in_fixed_queries(
    client_as, clinic, consult, frontdesk, django_assert_max_num_queries
):
    client = client_as(frontdesk)
    url = reverse("scheduling:online")
    _request(clinic, texting_patient(), 10)
    join_waitlist(clinic, frontdesk, texting_patient())
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for hour in (12, 14, 16):
        _request(clinic, texting_patient(), hour)
    for _ in range(6):
        join_waitlist(clinic, frontdesk, texting_patient())
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url)
    assert page.status_code == 200
    assert len(page.context["pending"]) == 4
    assert page.context["page"].paginator.count == 7


def test_the_desk_approves_and_declines_from_the_page(client_as, clinic, consult, frontdesk, nurse):
    kept = _request(clinic, texting_patient(), 10).self_booking
    refused = _request(clinic, texting_patient(), 12).self_booking
    assert client_as(nurse).post(reverse("scheduling:self-booking-decide", args=[kept.pk])).status_code == 403
    client = client_as(frontdesk)
    client.post(reverse("scheduling:self-booking-decide", args=[kept.pk]), {"decision": "approve"})
    no_reason = client.post(reverse("scheduling:self-booking-decide", args=[refused.pk]), {"decision": "decline"})
    assert no_reason.status_code == 302
    assert SelfBooking.objects.get(pk=refused.pk).status == SelfBooking.Status.PENDING  # a reason is needed
    client.post(
        reverse("scheduling:self-booking-decide", args=[refused.pk]), {"decision": "decline", "reason": "No referral"}
    )
    assert SelfBooking.objects.get(pk=kept.pk).status == SelfBooking.Status.APPROVED
    assert SelfBooking.objects.get(pk=refused.pk).status == SelfBooking.Status.DECLINED
    assert refused.appointment.__class__.objects.get(pk=refused.appointment_id).status == "cancelled"
