"""The public inquiry form: no sign-in, CSRF, the honeypot, the rate limits, size limits, the
messages at each field, and a thank-you page that tells nothing about who is already known."""

from __future__ import annotations

import base64
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from core.models import RequestCount
from inquiries.models import Inquiry
from patients.tests.factories import PatientFactory
from scheduling.models import AppointmentType
from scheduling.tests.factories import LocationFactory, appointment_type
from scheduling.tests.selfbooking_helpers import self_bookable

pytestmark = pytest.mark.django_db

START = "/start/"


def _form(**overrides) -> dict:
    data = {
        "who": "self",
        "first_name": "Robin",
        "last_name": "Alvarez",
        "date_of_birth": "04/12/1986",
        "phone": "(312) 555-0188",
        "email": "robin.alvarez@example.org",
        "contact_by": ["phone", "email"],
        "reason": "depression",
        "referrer_name": "",
        "referrer_npi": "",
        "preferred_location": "",
        "website": "",
    }
    data.update(overrides)
    return data


def test_the_form_opens_without_signing_in_and_the_sign_in_page_links_to_it(client):
    response = client.get(START)
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content
    assert b'name="website"' in response.content  # the honeypot
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"
    assert reverse("inquiries:start").encode() in client.get(reverse("accounts:login")).content


def test_the_poster_prints_the_forms_public_address_and_its_qr_code(client, frontdesk, settings):
    settings.SITE_URL = "https://clinic.example"
    client.force_login(frontdesk)
    page = client.get(reverse("inquiries:poster")).content.decode()
    assert "https://clinic.example/start/" in page
    qr = re.search(r'src="data:image/svg\+xml;base64,([^"]+)" alt="QR code for https://clinic.example/start/"', page)
    assert qr is not None
    svg = base64.b64decode(qr.group(1)).decode()
    assert svg.startswith("<?xml")
    assert "<path" in svg


def test_a_complete_inquiry_is_stored_and_thanked_with_nothing_personal_in_the_url_or_the_audit(client):
    location = LocationFactory(name="Lakeview")
    response = client.post(START, _form(preferred_location=str(location.pk)))
    assert response.status_code == 302
    assert response["Location"] == reverse("inquiries:thanks")
    inquiry = Inquiry.objects.get()
    assert (inquiry.first_name, inquiry.status, inquiry.preferred_location) == ("Robin", "new", location)
    assert inquiry.channels == ["phone", "email"]
    assert str(inquiry.phone) == "+13125550188"
    event = AuditEvent.objects.get(action="inquiries.inquiry.submitted")
    assert event.actor is None
    assert "Robin" not in str(event.changes)
    assert "Alvarez" not in str(event.changes)
    assert client.get(response["Location"]).status_code == 200


def test_the_honeypot_thanks_a_robot_and_stores_nothing(client):
    response = client.post(START, _form(website="http://spam.example"))
    assert response.status_code == 302
    assert response["Location"] == reverse("inquiries:thanks")
    assert not Inquiry.objects.exists()


def test_the_form_refuses_a_post_without_the_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(START, _form()).status_code == 403
    assert not Inquiry.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"contact_by": []}, "contact_by", "Choose at least one way we may contact you."),
        ({"phone": "", "contact_by": ["sms"]}, "phone", "Text message needs a phone number."),
        ({"phone": "12", "contact_by": ["phone"]}, "phone", "Enter a phone number we can call"),
        ({"email": "not an address"}, "email", "Enter an e-mail address"),
        ({"date_of_birth": "02/30/1990"}, "date_of_birth", "Enter the date of birth as MM/DD/YYYY"),
        ({"date_of_birth": "01/01/2090"}, "date_of_birth", "in the future"),
        ({"reason": ""}, "reason", "Choose one, or “Not sure”."),
        ({"referrer_npi": "1234567890"}, "referrer_npi", "check digit does not match"),
        ({"referrer_npi": "12345"}, "referrer_npi", "An NPI is 10 digits."),
        ({"who": "referrer"}, "referrer_name", "Give your name as the referring provider."),
        ({"first_name": "x" * 101}, "first_name", "at most 100 characters"),
    ],
)
def test_bad_input_is_refused_at_its_field_and_what_was_typed_is_kept(client, overrides, field, message):
    response = client.post(START, _form(**overrides))
    assert response.status_code == 400
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    assert b"Alvarez" in response.content  # what was typed stays
    assert f'id="id_{field}_error"'.encode() in response.content or field in ("reason", "contact_by")
    assert not Inquiry.objects.exists()


def test_a_valid_npi_of_a_referring_clinician_is_kept(client):
    response = client.post(START, _form(who="referrer", referrer_name="Dr Lee Park", referrer_npi="1234567893"))
    assert response.status_code == 302
    assert Inquiry.objects.get().referrer_npi == "1234567893"


@pytest.mark.parametrize("books_online", [True, False])
def test_the_thanks_is_the_same_for_a_registered_patient_and_a_stranger(client, books_online):
    # Whether the clinic offers a time online or not, whatever an earlier test left: migrating makes
    # the intake consultation self-bookable, and a test that empties the tables removes the type.
    AppointmentType.objects.update(self_bookable=False)
    self_bookable(appointment_type("consultation"), books_online)
    PatientFactory(legal_first_name="Robin", legal_last_name="Alvarez", phone="+13125550188")
    known = client.post(START, _form(), follow=True)
    stranger = client.post(
        START, _form(first_name="Sam", last_name="Okoye", phone="(312) 555-0142", email="sam@example.org"), follow=True
    )
    assert known.status_code == stranger.status_code == 200
    # Byte for byte, but for the CSRF token of the "choose a time" form, masked afresh on every page.
    assert _unmasked(known.content) == _unmasked(stranger.content)
    assert (b"csrfmiddlewaretoken" in known.content) is books_online
    assert Inquiry.objects.count() == 2  # the desk decides who is who, not the form


def _unmasked(page: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b'name="csrfmiddlewaretoken"', page)


def test_past_the_per_address_limit_the_form_asks_to_call(client, settings):
    settings.INQUIRY_POSTS_PER_ADDRESS = 3
    codes = [
        client.post(START, _form(email=f"p{n}@example.org", phone="", contact_by=["email"])).status_code
        for n in range(5)
    ]
    assert codes == [302, 302, 302, 429, 429]
    assert Inquiry.objects.count() == 3
    assert b"Please call us" in client.post(START, _form()).content


def test_past_the_per_contact_limit_the_thanks_is_the_same_but_nothing_is_stored(client, settings):
    settings.INQUIRY_PER_CONTACT = 2
    answers = [client.post(START, _form(), REMOTE_ADDR=f"10.0.0.{n}") for n in range(4)]
    assert [a.status_code for a in answers] == [302] * 4
    assert {a["Location"] for a in answers} == {reverse("inquiries:thanks")}
    assert Inquiry.objects.count() == 2


def test_the_counters_hold_no_address_or_contact_detail(client):
    client.post(START, _form())
    keys = " ".join(RequestCount.objects.values_list("key", flat=True))
    assert RequestCount.objects.count() == 3  # the address, the phone, the e-mail
    assert "127.0.0.1" not in keys
    assert "robin" not in keys
    assert "3125550188" not in keys


def test_an_oversized_body_is_refused_without_reading_it_as_a_form(client):
    response = client.post(START, _form(first_name="x" * 20_000))
    assert response.status_code == 413
    assert not Inquiry.objects.exists()


def test_nothing_typed_reaches_a_log_line_or_an_address(client, caplog, settings):
    settings.INQUIRY_PER_CONTACT = 1
    caplog.set_level("DEBUG")
    first = client.post(START, _form())
    client.post(START, _form())  # over the per-contact limit: logged, without the contact
    client.post(START, _form(website="x"))  # the honeypot: logged, without what was typed
    logged = " ".join(r.getMessage() for r in caplog.records)
    for typed in ("Robin", "Alvarez", "robin.alvarez", "555-0188", "5550188", "1986"):
        assert typed not in logged
        assert typed not in first["Location"]
