"""The desk's queue: the list and the home panel, contact attempts into the contact log, status
moves, and turning an inquiry into a patient through the registry's duplicate check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from inquiries import services
from inquiries.models import Inquiry, InquiryContact
from inquiries.tests.factories import InquiryFactory
from patients.models import ContactLogEntry, Patient
from patients.tests.factories import PatientFactory
from scheduling import hooks
from scheduling.tests.factories import AppointmentFactory, appointment_type

pytestmark = pytest.mark.django_db


def test_the_queue_shows_open_inquiries_longest_waiting_first_and_pages(client, frontdesk):
    now = timezone.now()
    old = InquiryFactory(last_name="Older", submitted_at=now - timedelta(days=3))
    InquiryFactory(last_name="Newer", submitted_at=now - timedelta(hours=1))
    InquiryFactory(last_name="Shut", status="closed", close_reason="not_interested")
    client.force_login(frontdesk)
    response = client.get(reverse("inquiries:queue"))
    assert response.status_code == 200
    names = [i.last_name for i in response.context["page"]]
    assert names == ["Older", "Newer"]
    assert [i.last_name for i in client.get(reverse("inquiries:queue"), {"show": "closed"}).context["page"]] == ["Shut"]
    assert client.get(reverse("inquiries:queue"), {"show": "<bad>", "page": "x"}).status_code == 200
    assert old.first_name.encode() in response.content


def test_the_queue_costs_the_same_queries_however_many_inquiries(client, frontdesk, django_assert_max_num_queries):
    client.force_login(frontdesk)
    InquiryFactory.create_batch(3)
    with django_assert_max_num_queries(12) as few:  # session, user, perms, count, page, audit
        client.get(reverse("inquiries:queue"))
    InquiryFactory.create_batch(30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("inquiries:queue"))


def test_the_front_desk_home_loads_the_inquiry_panel(client, frontdesk, django_assert_max_num_queries):
    InquiryFactory(last_name="Waiting")
    InquiryFactory(status="contacted")
    client.force_login(frontdesk)
    assert reverse("inquiries:home-panel").encode() in client.get(reverse("home")).content
    with django_assert_max_num_queries(8):
        panel = client.get(reverse("inquiries:home-panel"))
    assert b"1 new, 1 contacted" in panel.content
    assert b"Waiting" in panel.content


def test_a_contact_attempt_moves_a_new_inquiry_to_contacted_only_by_a_way_agreed(client, frontdesk):
    inquiry = InquiryFactory(contact_by_phone=True, contact_by_email=False)
    client.force_login(frontdesk)
    url = reverse("inquiries:contact", args=[inquiry.pk])
    refused = client.post(url, {"channel": "email", "outcome": "reached"})
    assert refused.status_code == 200
    assert not InquiryContact.objects.exists()
    assert "channel" in refused.context["contact_form"].errors
    response = client.post(url, {"channel": "phone", "outcome": "message", "note": "Left a voicemail"})
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.status == "contacted"
    assert AuditEvent.objects.filter(action="inquiries.inquiry.contact_recorded", actor=frontdesk).exists()


def test_a_duplicate_found_at_conversion_is_linked_not_registered_twice(client, frontdesk):
    existing = PatientFactory(legal_first_name="Robin", legal_last_name="Alvarez", phone="+13125550188")
    existing.date_of_birth = InquiryFactory.date_of_birth
    existing.save()
    inquiry = InquiryFactory(first_name="Robin", last_name="Alvarez", phone="+13125550188")
    services.inquiry_contact_record(inquiry=inquiry, by=frontdesk, channel="phone", outcome="reached")
    client.force_login(frontdesk)
    page = client.get(reverse("inquiries:detail", args=[inquiry.pk]))
    assert [m.patient for m in page.context["duplicates"]] == [existing]
    patients_before = Patient.objects.count()

    refused = client.post(reverse("inquiries:convert", args=[inquiry.pk]), {"duplicate_reason": ""})
    assert refused.status_code == 200
    assert "may already be registered" in " ".join(refused.context["convert_form"].errors["duplicate_reason"])
    assert Patient.objects.count() == patients_before

    linked = client.post(reverse("inquiries:link", args=[inquiry.pk]), {"mrn": existing.mrn.lower()})
    assert linked.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.patient == existing
    assert Patient.objects.count() == patients_before
    # The attempt made before the link is now in the patient's contact log; later ones go there too.
    assert list(ContactLogEntry.objects.filter(patient=existing).values_list("summary", flat=True)) == [
        f"Inquiry #{inquiry.pk}: reached"
    ]
    services.inquiry_contact_record(inquiry=inquiry, by=frontdesk, channel="email", outcome="message")
    assert ContactLogEntry.objects.filter(patient=existing).count() == 2
    assert AuditEvent.objects.filter(action="inquiries.inquiry.linked", patient_id=existing.pk).exists()


def test_converting_a_new_person_registers_them_with_the_inquiry_details(client, frontdesk):
    inquiry = InquiryFactory(
        first_name="Sam", last_name="Okoye", referrer_name="Dr Lee Park", referrer_npi="1234567893"
    )
    client.force_login(frontdesk)
    response = client.post(reverse("inquiries:convert", args=[inquiry.pk]), {"duplicate_reason": ""})
    assert response.status_code == 302
    inquiry.refresh_from_db()
    patient = inquiry.patient
    assert (patient.legal_first_name, patient.legal_last_name, patient.date_of_birth) == (
        "Sam",
        "Okoye",
        inquiry.date_of_birth,
    )
    assert patient.referring_provider == "Dr Lee Park (NPI 1234567893)"
    # The person agreed to calls and e-mails on the form: e-mail reminders, given then, from there.
    assert not patient.sms_opt_in
    assert (patient.email_opt_in, patient.email_consent_method) == (True, "inquiry")
    assert patient.email_consent_at == inquiry.submitted_at
    assert AuditEvent.objects.filter(action="patients.patient.created", patient_id=patient.pk).exists()


@pytest.mark.parametrize(
    ("who", "sms", "email", "expected"),
    [
        ("self", True, False, (True, False)),
        ("self", True, True, (True, True)),
        ("self", False, False, (False, False)),  # calls only: no reminder goes by phone
        ("referrer", True, True, (False, False)),  # a referring clinician cannot consent for the patient
    ],
)
def test_the_channels_given_on_the_form_become_the_reminder_consent(frontdesk, who, sms, email, expected):
    submitted = timezone.now() - timedelta(days=2)
    inquiry = InquiryFactory(
        who=who,
        contact_by_phone=True,
        contact_by_sms=sms,
        contact_by_email=email,
        submitted_at=submitted,
        referrer_name="Dr Lee Park" if who == "referrer" else "",
    )
    patient = services.inquiry_convert(inquiry=inquiry, by=frontdesk, duplicate_reason="Checked: a new person")
    assert (patient.sms_opt_in, patient.email_opt_in) == expected
    for prefix, given in zip(("sms", "email"), expected, strict=True):
        assert getattr(patient, f"{prefix}_consent_at") == (submitted if given else None)
        assert getattr(patient, f"{prefix}_consent_method") == ("inquiry" if given else "")
    event = AuditEvent.objects.get(action="patients.patient.created", patient_id=patient.pk)
    assert ("sms_opt_in" in event.changes) is expected[0]


def test_closing_needs_a_reason_and_booked_needs_a_booked_consultation(client, frontdesk):
    inquiry = InquiryFactory()
    client.force_login(frontdesk)
    url = reverse("inquiries:status", args=[inquiry.pk])
    assert "close_reason" in client.post(url, {"status": "closed"}).context["status_form"].errors
    assert "close_note" in client.post(url, {"status": "closed", "close_reason": "other"}).context["status_form"].errors
    assert "status" in client.post(url, {"status": "booked"}).context["status_form"].errors
    assert client.post(url, {"status": "closed", "close_reason": "unreachable"}).status_code == 302
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.close_reason) == ("closed", "unreachable")
    assert client.post(url, {"status": "contacted"}).status_code == 302  # taken up again
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.close_reason) == ("contacted", "")


def test_booking_the_intake_consultation_marks_the_linked_inquiry_booked(frontdesk, django_capture_on_commit_callbacks):
    patient = PatientFactory()
    inquiry = InquiryFactory()
    services.inquiry_link(inquiry=inquiry, by=frontdesk, patient=patient)
    other = InquiryFactory(status="closed", close_reason="duplicate", patient=patient, linked_at=timezone.now())
    infusion = AppointmentFactory(patient=patient, appointment_type=appointment_type("infusion"))
    consult = AppointmentFactory(patient=patient, appointment_type=appointment_type("consultation"))
    with django_capture_on_commit_callbacks(execute=True):
        hooks.appointment_changed(infusion.pk)
    inquiry.refresh_from_db()
    assert inquiry.status == "new"  # an infusion is not the intake consultation
    with django_capture_on_commit_callbacks(execute=True):
        hooks.appointment_changed(consult.pk)  # what every booking service calls
    inquiry.refresh_from_db()
    other.refresh_from_db()
    assert inquiry.status == "booked"
    assert other.status == "closed"
    assert AuditEvent.objects.filter(action="inquiries.inquiry.booked", object_id=str(inquiry.pk)).exists()


def test_inquiries_are_never_deleted():
    inquiry = InquiryFactory()
    with pytest.raises(Exception, match="inquiry_never_deleted"):
        Inquiry.objects.filter(pk=inquiry.pk).delete()


def test_the_inquiry_page_costs_the_same_queries_however_many_attempts(
    client, frontdesk, django_assert_max_num_queries
):
    inquiry = InquiryFactory()
    client.force_login(frontdesk)
    url = reverse("inquiries:detail", args=[inquiry.pk])
    client.get(url)
    with django_assert_max_num_queries(14) as few:  # session, user, perms, inquiry, contacts, matches, audit
        client.get(url)
    for _ in range(10):
        services.inquiry_contact_record(inquiry=inquiry, by=frontdesk, channel="phone", outcome="no_answer")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert b"No answer" in client.get(url).content
