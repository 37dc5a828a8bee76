"""Shared set-up of the self-booking and waitlist tests: a self-bookable consultation, patients
who consented to texts, links opened the way a phone opens them."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from patients.tests.factories import PatientFactory
from scheduling.models import SelfBookingPolicy
from scheduling.services import self_booking as services


def policy(**values) -> SelfBookingPolicy:
    row, _ = SelfBookingPolicy.objects.get_or_create(pk=1)
    for name, value in values.items():
        setattr(row, name, value)
    row.save()
    return row


def self_bookable(kind, on: bool = True):
    kind.self_bookable = on
    kind.save(update_fields=["self_bookable"])
    return kind


def texting_patient(**kwargs):
    return PatientFactory(
        sms_opt_in=True, sms_consent_at=timezone.now(), sms_consent_method="verbal", email_opt_in=False, **kwargs
    )


def open_link(client, token: str, patient):
    """Open the link and pass the date-of-birth check; returns the last response."""
    first = client.get(reverse("self_booking:open", args=[token]))
    assert first.status_code == 302, first.status_code
    return client.post(reverse("self_booking:verify"), {"date_of_birth": patient.date_of_birth.isoformat()})


def issue(patient, by=None) -> services.NewSelfBookingLink:
    return services.self_booking_link_issue(patient=patient, by=by)


def join_waitlist(clinic, by, patient, before=None):
    """The desk puts the patient on the waitlist for an intake consultation at the clinic's site."""
    return services.waitlist_entry_create(
        patient=patient, appointment_type=clinic.consultation, location=clinic.site, before=before, by=by
    )
