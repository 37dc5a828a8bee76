"""The consent pages: signing on the clinic's tablet and through a link (the token design of the
questionnaire links), a paper consent, a withdrawal, the chart's panel and the administrators'
drafting and publishing. Hostile input answers a page or a refusal, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from consents import services
from consents.models import ConsentKind, ConsentLink, ConsentSignature, ConsentVersion, SignatureMethod
from consents.tests.factories import ConsentSignatureFactory, ConsentVersionFactory
from consents.tests.test_services import DATA_URL, PNG
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
AGENT = {"HTTP_USER_AGENT": "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile", "REMOTE_ADDR": "203.0.113.7"}


@pytest.fixture
def version():
    return ConsentVersionFactory(body="First paragraph of the consent.\n\nSecond paragraph.")


@pytest.fixture
def ana():
    return PatientFactory(legal_first_name="Ana", legal_last_name="Lima")


def test_the_tablet_shows_the_exact_version_and_signs_for_the_patient(client, nurse, version, ana):
    client.force_login(nurse)
    url = reverse("consents:sign-in-clinic", args=[ana.pk, ConsentKind.TREATMENT])
    page = client.get(url)
    assert page.status_code == 200
    assert b"Second paragraph." in page.content
    assert b"Draw your signature (optional)" in page.content
    response = client.post(
        url, {"version": version.pk, "typed_name": "Ana Lima", "signature": DATA_URL, "agree": "on"}, **AGENT
    )
    assert response.status_code == 302
    signature = ConsentSignature.objects.get(patient=ana)
    assert (signature.method, signature.ip_address, signature.user_agent) == (
        SignatureMethod.IN_CLINIC,
        "203.0.113.7",
        AGENT["HTTP_USER_AGENT"],
    )
    assert bytes(signature.signature_png) == PNG


def test_the_tablet_keeps_what_was_typed_when_the_box_is_not_ticked(client, nurse, version, ana):
    client.force_login(nurse)
    url = reverse("consents:sign-in-clinic", args=[ana.pk, ConsentKind.TREATMENT])
    response = client.post(url, {"version": version.pk, "typed_name": "Ana Lima"})
    assert response.status_code == 200
    assert b"Tick the box" in response.content
    assert b'value="Ana Lima"' in response.content
    assert not ConsentSignature.objects.exists()


def test_a_link_opens_once_after_the_date_of_birth_and_signs_each_consent(client, frontdesk, version, ana):
    telehealth = ConsentVersionFactory(kind=ConsentKind.TELEHEALTH, title="Telehealth consent")
    new = services.consent_link_create(patient=ana, kinds=[ConsentKind.TREATMENT, ConsentKind.TELEHEALTH], by=frontdesk)
    opened = client.get(reverse("consents:link-open", args=[new.token]))
    assert opened.status_code == 302
    assert opened["Location"] == reverse("consents:link-verify")
    assert opened["Referrer-Policy"] == "no-referrer"
    wrong = client.post(reverse("consents:link-verify"), {"date_of_birth": "1900-01-01"})
    assert b"does not match" in wrong.content
    right = client.post(reverse("consents:link-verify"), {"date_of_birth": ana.date_of_birth.isoformat()})
    assert right["Location"] == reverse("consents:public-sign")

    first = client.get(reverse("consents:public-sign"))
    assert b"Form 1 of 2" in first.content
    assert b"Second paragraph." in first.content
    client.post(
        reverse("consents:public-sign"),
        {"version": version.pk, "typed_name": "Ana Lima", "agree": "on"},  # keyboard only: no drawing
        **AGENT,
    )
    second = client.get(reverse("consents:public-sign"))
    assert b"Form 2 of 2" in second.content
    assert b"Telehealth consent" in second.content
    done = client.post(
        reverse("consents:public-sign"),
        {"version": telehealth.pk, "typed_name": "ana lima", "signature": DATA_URL, "agree": "on"},
        **AGENT,
    )
    assert done["Location"] == reverse("consents:public-done")  # nothing left: the thank-you page
    assert client.get(done["Location"]).status_code == 200
    signed = ConsentSignature.objects.filter(patient=ana).order_by("signed_at", "id")
    assert [(s.kind, s.method, s.ip_address) for s in signed] == [
        (ConsentKind.TREATMENT, SignatureMethod.ONLINE, "203.0.113.7"),
        (ConsentKind.TELEHEALTH, SignatureMethod.ONLINE, "203.0.113.7"),
    ]
    assert ConsentLink.objects.get(pk=new.link.pk).completed_at is not None
    # Single use: the token does not open again, and the scoped session is gone.
    assert client.get(reverse("consents:link-open", args=[new.token])).status_code == 410
    assert client.get(reverse("consents:public-sign")).status_code == 403


def test_an_expired_or_locked_link_is_refused_with_one_message(client, frontdesk, version, ana):
    new = services.consent_link_create(patient=ana, kinds=[ConsentKind.TREATMENT], by=frontdesk)
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        assert client.get(reverse("consents:link-open", args=[new.token])).status_code == 410
    other = services.consent_link_create(patient=ana, kinds=[ConsentKind.TREATMENT], by=frontdesk)
    client.get(reverse("consents:link-open", args=[other.token]))
    for _ in range(5):
        client.post(reverse("consents:link-verify"), {"date_of_birth": "1900-01-01"})
    locked = client.post(reverse("consents:link-verify"), {"date_of_birth": ana.date_of_birth.isoformat()})
    assert locked.status_code == 410
    assert b"cannot be used" in locked.content


def test_guessing_tokens_or_dates_of_birth_is_rate_limited_per_client(client, frontdesk, version, ana):
    from consents import public_views

    new = services.consent_link_create(patient=ana, kinds=[ConsentKind.TREATMENT], by=frontdesk)
    assert client.get(reverse("consents:link-open", args=[new.token])).status_code == 302  # counts as one
    guesses = {
        client.post(reverse("consents:link-verify"), {"date_of_birth": "not a date"}).status_code
        for _ in range(public_views.RATE_LIMIT - 1)
    }
    assert guesses == {200}  # asked again at the field
    wrong = client.post(reverse("consents:link-verify"), {"date_of_birth": "1900-01-01"})
    assert (wrong.status_code, b"Too many attempts" in wrong.content) == (429, True)
    assert ConsentLink.objects.get(pk=new.link.pk).dob_failures == 0  # refused before the answer was weighed
    assert client.get(reverse("consents:link-open", args=[new.token])).status_code == 429
    elsewhere = client.get(reverse("consents:link-open", args=[new.token]), REMOTE_ADDR="203.0.113.9")
    assert elsewhere.status_code == 302  # another client counts alone


def test_a_version_published_while_the_patient_reads_asks_them_to_read_again(client, frontdesk, version, ana):
    new = services.consent_link_create(patient=ana, kinds=[ConsentKind.TREATMENT], by=frontdesk, verified=True)
    session = client.session
    session["consents_link"] = new.link.pk
    session.save()
    newer = ConsentVersionFactory(published_at=timezone.now())
    response = client.post(
        reverse("consents:public-sign"), {"version": version.pk, "typed_name": "Ana Lima", "agree": "on"}
    )
    assert b"updated while you were reading" in response.content
    assert f'value="{newer.pk}"'.encode() in response.content
    assert not ConsentSignature.objects.exists()


def test_a_paper_consent_is_uploaded_from_the_chart(client, frontdesk, version, ana):
    client.force_login(frontdesk)
    url = reverse("consents:paper", args=[ana.pk])
    assert client.get(url).status_code == 200
    scan = SimpleUploadedFile("consent.pdf", b"%PDF-1.4 the scan", content_type="application/pdf")
    response = client.post(
        url, {"version": version.pk, "typed_name": "Ana Lima", "signed_on": "2026-01-05", "scan": scan}
    )
    assert response.status_code == 302
    signature = ConsentSignature.objects.get(patient=ana)
    download = client.get(reverse("consents:scan", args=[ana.pk, signature.pk]))
    assert download.content == b"%PDF-1.4 the scan"
    assert download["Content-Type"] == "application/pdf"


def test_the_chart_panel_costs_the_same_queries_however_many_signatures(
    client, nurse, version, ana, django_assert_max_num_queries
):
    client.force_login(nurse)
    url = reverse("consents:patient-panel", args=[ana.pk])
    ConsentSignatureFactory(patient=ana, version=version)
    client.get(url)
    for _ in range(6):
        ConsentSignatureFactory(patient=ana, version=version)
    # session, user, perms (x2), patient, policy, versions, status, signatures, documents, audit (+ savepoints)
    with django_assert_max_num_queries(16):
        response = client.get(url)
    assert response.content.count(b"Record a withdrawal") == 7


def test_an_administrator_drafts_edits_and_publishes_a_version(client, admin):
    client.force_login(admin)
    response = client.post(
        reverse("consents:version-new"),
        {"kind": ConsentKind.FINANCIAL, "title": "Financial policy", "version_label": "2026.1", "body": "Pay."},
    )
    draft = ConsentVersion.objects.get(kind=ConsentKind.FINANCIAL)
    assert response["Location"] == reverse("consents:version-detail", args=[draft.pk])
    client.post(
        reverse("consents:version-detail", args=[draft.pk]),
        {"title": "Financial policy", "version_label": "2026.1", "body": "Payment is due at each visit."},
    )
    client.post(reverse("consents:version-publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.is_published
    assert draft.body == "Payment is due at each visit."
    assert draft.content_sha256
    page = client.get(reverse("consents:version-detail", args=[draft.pk]))
    assert draft.content_sha256.encode() in page.content
    assert client.get(reverse("consents:versions")).status_code == 200
    assert b"Consent forms patients sign" in client.get(reverse("clinic_settings:index")).content


HOSTILE = ["", "0", "-1", "9" * 30, "x" * 5000, "\u00b2", '<script>alert("x")</script>', "2026-02-30"]


def test_the_consent_forms_answer_hostile_input_without_a_500(client, nurse, admin, version, ana):
    client.force_login(nurse)
    sign = reverse("consents:sign-in-clinic", args=[ana.pk, ConsentKind.TREATMENT])
    for value in HOSTILE:
        for url, fields in (
            (sign, ["typed_name", "signature", "agree", "version"]),
            (reverse("consents:paper", args=[ana.pk]), ["version", "typed_name", "signed_on", "scan"]),
            (reverse("consents:link-new", args=[ana.pk]), ["kinds", "send"]),
        ):
            response = client.post(url, dict.fromkeys(fields, value))
            assert response.status_code < 500, (url, value)
            assert b'<script>alert("x")</script>' not in response.content
    assert client.get(reverse("consents:sign-in-clinic", args=[ana.pk, "no_such_kind"])).status_code == 404
    client.force_login(admin)
    for value in HOSTILE:
        response = client.post(
            reverse("consents:version-new"), dict.fromkeys(["kind", "title", "version_label", "body"], value)
        )
        assert response.status_code < 500
        assert client.get(reverse("consents:version-new"), {"from": value}).status_code == 200
