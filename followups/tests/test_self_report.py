"""Patient questionnaires by secure link (security-reference A9): token, identity check,
scoped session, submit, safety alert."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from assessments.models import InstrumentResponse, ResponseSource
from followups import services
from followups.access import SESSION_LINK
from followups.models import QuestionnaireLink, SafetyAlert
from followups.tests.factories import phq9_for_total
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_link(clinician, patient):
    return services.link_create(patient=patient, codes=["phq9"], by=clinician)


def _dob(patient) -> dict:
    return {"date_of_birth": patient.date_of_birth.isoformat()}


def _open(client, new, patient):
    """Follow the link, then answer the date-of-birth check."""
    first = client.get(reverse("followups:link-open", args=[new.token]))
    if first.status_code != 302:
        return first
    return client.post(first["Location"], _dob(patient))


def _verify(client, new, data):
    client.get(reverse("followups:link-open", args=[new.token]))
    return client.post(reverse("followups:link-verify"), data)


def _answers(values: list[int], code: str = "phq9") -> dict:
    return {f"{code}-item_{n}": str(v) for n, v in enumerate(values, start=1)}


def test_token_is_256_bits_and_only_its_hash_is_stored(new_link):
    assert len(new_link.token) >= 43  # token_urlsafe(32): 32 random bytes
    stored = QuestionnaireLink.objects.get(pk=new_link.link.pk)
    assert stored.token_sha256 == hashlib.sha256(new_link.token.encode()).hexdigest()
    assert new_link.token not in str(QuestionnaireLink.objects.filter(pk=stored.pk).values().get())


def test_the_token_url_leaves_at_once_for_a_token_free_identity_check_without_consuming_it(client, new_link):
    response = client.get(reverse("followups:link-open", args=[new_link.token]))
    assert response.status_code == 302
    assert response["Location"] == reverse("followups:link-verify")
    assert response["Referrer-Policy"] == "no-referrer"
    assert QuestionnaireLink.objects.get(pk=new_link.link.pk).exchanged_at is None
    page = client.get(response["Location"])
    assert "date of birth" in page.content.decode()
    assert new_link.token.encode() not in page.content
    # A second GET (a link preview, a reload) still works: only the identity check consumes it.
    assert client.get(reverse("followups:link-open", args=[new_link.token])).status_code == 302


def test_right_dob_exchanges_the_token_for_a_scoped_session_at_a_token_free_url(client, new_link, patient):
    response = _open(client, new_link, patient)
    assert response.status_code == 302
    assert response["Location"] == reverse("followups:self-report")
    assert new_link.token not in response["Location"]
    assert client.session[SESSION_LINK] == new_link.link.pk
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert new_link.token.encode() not in page.content
    assert "Little interest or pleasure in doing things" in page.content.decode()  # the instrument's own wording
    assert page["Cache-Control"] == "no-store"


def test_token_is_single_use(client, new_link, patient):
    _open(client, new_link, patient)
    other = client_class()
    again = other.get(reverse("followups:link-open", args=[new_link.token]))
    assert again.status_code == 410
    assert again["Referrer-Policy"] == "no-referrer"
    assert SESSION_LINK not in other.session


def client_class():
    from django.test import Client

    return Client()


def test_expired_token_is_refused(client, new_link, patient):
    with time_machine.travel(new_link.link.expires_at + timedelta(seconds=1)):
        response = _open(client, new_link, patient)
    assert response.status_code == 410
    assert SESSION_LINK not in client.session


def test_revoked_token_is_refused(client, new_link, patient, clinician):
    services.link_revoke(link=new_link.link, by=clinician)
    assert _open(client, new_link, patient).status_code == 410


def test_wrong_dob_is_refused_and_counted_then_the_link_locks(client, new_link, patient):
    wrong = {"date_of_birth": (patient.date_of_birth - timedelta(days=1)).isoformat()}
    client.get(reverse("followups:link-open", args=[new_link.token]))
    for _ in range(5):
        response = client.post(reverse("followups:link-verify"), wrong)
        assert response.status_code == 200
        assert "does not match" in response.content.decode()
        assert SESSION_LINK not in client.session
    assert QuestionnaireLink.objects.get(pk=new_link.link.pk).dob_failures == 5
    # Locked: even the right date of birth no longer opens it.
    assert _open(client, new_link, patient).status_code == 410


def test_another_patients_dob_does_not_open_the_link(client, new_link, patient):
    other = PatientFactory(date_of_birth=patient.date_of_birth - timedelta(days=400))
    response = _verify(client, new_link, _dob(other))
    assert SESSION_LINK not in client.session
    assert response.status_code == 200


def test_bad_dob_input_is_a_field_error_not_a_500(client, new_link):
    response = _verify(client, new_link, {"date_of_birth": "31/31/31"})
    assert response.status_code == 200
    assert "Enter your date of birth" in response.content.decode()


def test_unknown_token_is_404(client):
    assert client.get(reverse("followups:link-open", args=["x" * 43])).status_code == 404


def test_brute_force_is_rate_limited_even_for_a_valid_token(client, new_link, patient):
    hits = 0
    for n in range(25):
        response = client.get(reverse("followups:link-open", args=[f"guess{n:040d}"]))
        hits += response.status_code == 200
    assert hits == 0
    assert client.get(reverse("followups:link-open", args=["guess"])).status_code == 429
    # The limit holds for a real token too, from the same client, within the window.
    assert _open(client, new_link, patient).status_code == 429


def test_the_rate_limit_window_expires(client, new_link, patient):
    for n in range(21):
        client.get(reverse("followups:link-open", args=[f"guess{n}"]))
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert _open(client, new_link, patient).status_code == 302


def test_scoped_session_reaches_nothing_else(client, new_link, patient):
    _open(client, new_link, patient)
    for url in (
        reverse("home"),
        reverse("patients:list"),
        reverse("patients:detail", args=[patient.pk]),
        reverse("followups:outcomes", args=[patient.pk]),
        reverse("followups:worklist"),
        reverse("followups:patient-panel", args=[patient.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/accounts/login/" in response["Location"], url


def test_scoped_session_for_one_patient_cannot_reach_another_link(client, clinician, new_link, patient):
    other_patient = PatientFactory()
    other = services.link_create(patient=other_patient, codes=["gad7"], by=clinician)
    _open(client, new_link, patient)
    # The session holds only this link's id: the other patient's questionnaire needs its own token + DOB.
    page = client.get(reverse("followups:self-report"))
    assert "GAD-7" not in page.content.decode()
    response = _verify(client, other, _dob(patient))
    assert response.status_code == 200  # refused at the identity check
    assert SESSION_LINK not in client.session  # and following another link dropped the first scope


def test_staff_session_is_ended_when_a_patient_link_is_opened_in_the_same_browser(client, clinician, new_link, patient):
    client.force_login(clinician)
    _open(client, new_link, patient)
    assert client.get(reverse("home")).status_code == 302


def test_submit_scores_and_files_patient_entered_answers_then_closes_the_link(client, new_link, patient):
    _open(client, new_link, patient)
    response = client.post(reverse("followups:self-report"), _answers(phq9_for_total(11)))
    assert response.status_code == 302
    assert response["Location"] == reverse("followups:self-report-done")
    stored = InstrumentResponse.objects.get(patient=patient, instrument="phq9")
    assert (stored.total, stored.band, stored.source, stored.entered_by) == (
        11,
        "moderate",
        ResponseSource.PATIENT,
        None,
    )
    assert QuestionnaireLink.objects.get(pk=new_link.link.pk).completed_at is not None
    assert not SafetyAlert.objects.exists()
    done = client.get(response["Location"])
    assert "988" in done.content.decode()
    # The session is spent: the form cannot be submitted twice.
    assert client.get(reverse("followups:self-report")).status_code == 403


def test_missing_answers_are_field_errors_and_the_input_stays(client, new_link, patient):
    _open(client, new_link, patient)
    data = _answers(phq9_for_total(11))
    del data["phq9-item_4"]
    response = client.post(reverse("followups:self-report"), data)
    assert response.status_code == 200
    assert "Answer this item" in response.content.decode()
    assert 'value="3" checked' in response.content.decode() or "checked" in response.content.decode()
    assert not InstrumentResponse.objects.filter(patient=patient).exists()


def test_blank_form_is_refused(client, new_link, patient):
    _open(client, new_link, patient)
    response = client.post(reverse("followups:self-report"), {})
    assert response.status_code == 200
    assert "Please answer these questions" in response.content.decode()


def test_out_of_range_answer_is_a_field_error(client, new_link, patient):
    _open(client, new_link, patient)
    data = _answers(phq9_for_total(11))
    data["phq9-item_1"] = "7"
    response = client.post(reverse("followups:self-report"), data)
    assert response.status_code == 200
    assert not InstrumentResponse.objects.filter(patient=patient).exists()


def test_item9_positive_raises_an_urgent_alert_and_shows_crisis_resources(
    client, clinician, new_link, patient, django_capture_on_commit_callbacks
):
    clinician.email = "dr@example.org"
    clinician.save(update_fields=["email"])
    _open(client, new_link, patient)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("followups:self-report"), _answers(phq9_for_total(14, item9=2)))
    alert = SafetyAlert.objects.get(patient=patient)
    assert alert.reason == "phq9_item9"
    assert alert.clinician == clinician
    assert alert.acknowledged_at is None
    done = client.get(response["Location"]).content.decode()
    assert 'id="crisis-resources"' in done
    assert "tel:988" in done
    assert "tel:911" in done
    # The e-mail carries no PHI: no name, MRN, score or instrument.
    (message,) = mail.outbox
    assert message.to == ["dr@example.org"]
    # The alert's own number may contain the digits of the score (alert #143); take it out first.
    body = (message.subject + message.body).replace(f"#{alert.pk}", "#<alert>")
    for phi in (patient.legal_first_name, patient.legal_last_name, patient.mrn, "PHQ", "item 9", "14"):
        assert phi not in body


def test_cssrs_high_risk_raises_an_alert(client, clinician, patient):
    new = services.link_create(patient=patient, codes=["cssrs_screen"], by=clinician)
    _open(client, new, patient)
    data = {f"cssrs_screen-{k}": "0" for k in ("q1", "q2", "q3", "q4", "q5", "q6", "q6_past_3_months")}
    data.update({"cssrs_screen-q1": "1", "cssrs_screen-q2": "1", "cssrs_screen-q4": "1"})
    response = client.post(reverse("followups:self-report"), data)
    assert response.status_code == 302
    assert SafetyAlert.objects.get(patient=patient).reason == "cssrs_high"


def test_sending_texts_a_minimum_necessary_message_and_logs_the_contact(clinician, settings, tmp_path):
    settings.SMS_BACKEND = "notifications.backends.LocmemSmsBackend"
    patient = PatientFactory(
        phone="+12025550143", sms_opt_in=True, sms_consent_at=timezone.now(), sms_consent_method="verbal"
    )
    new = services.link_create(patient=patient, codes=["phq9", "gad7"], by=clinician)
    channels = services.link_send(new=new, base_url="https://clinic.example", by=clinician)
    assert channels == ["sms"]
    from notifications import backends

    (sms,) = backends.outbox
    link = f"https://clinic.example/followups/q/{new.token}/"
    assert link in sms.body
    # The words of the message, without the link: its random token may hold any letters ("gad" in
    # one fresh-clone run).
    lowered = sms.body.replace(link, " ").lower()
    for word in ("ketamine", "phq", "depress", "gad", "anxiety", "infusion", patient.legal_last_name.lower()):
        assert word not in lowered
    assert patient.contact_log.filter(channel="sms").exists()
    assert new.token not in patient.contact_log.get().summary


def test_sending_without_any_opted_in_channel_is_a_form_error(client, clinician):
    patient = PatientFactory(sms_opt_in=False, email_opt_in=False)
    client.force_login(clinician)
    response = client.post(
        reverse("followups:link-send", args=[patient.pk]), {"codes": ["phq9"], "context": "follow_up"}
    )
    assert response.status_code == 200
    assert "has not opted in" in response.content.decode()


def test_front_desk_sees_outstanding_not_answers(client, frontdesk, clinician, new_link, patient):
    client.force_login(frontdesk)
    panel = client.get(reverse("followups:patient-panel", args=[patient.pk])).content.decode()
    assert "Outstanding" in panel
    home = client.get(reverse("home")).content.decode()
    assert "Questionnaires outstanding" in home
    assert patient.display_name in home
    assert "PHQ" not in panel


def test_the_rate_limit_is_per_client(client, new_link, patient):
    for n in range(21):
        client.get(reverse("followups:link-open", args=[f"guess{n}"]), REMOTE_ADDR="203.0.113.9")
    assert client.get(reverse("followups:link-open", args=["x"]), REMOTE_ADDR="203.0.113.9").status_code == 429
    assert _open(client, new_link, patient).status_code == 302  # another address is unaffected
