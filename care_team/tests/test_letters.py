"""Progress letters: drafted at a course milestone or on request, signed by a prescriber, issued
through the documents pipeline, released only while the patient's authorisation holds, and each
release accounted as a disclosure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from care_team import services
from care_team.models import CareTeamPolicy, ProgressLetter
from care_team.tests.factories import authorised, draft_letter, gad7, member, signed_course
from documents import services as document_services
from documents.models import Disclosure
from documents.tests.helpers import flat

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(morning, nurse_user, verifier):
    """One signed infusion (the whole induction: one planned) with a GAD-7 on file."""
    session = signed_course(nurse_user=nurse_user, verifier=verifier, planned=1)
    gad7(session.patient, nurse_user)
    return session


def _sign(letter, clinician, text="Continue monthly boosters; we will write again after three."):
    return services.letter_sign(letter=letter, by=clinician, plan_text=text)


def test_signing_the_last_induction_session_drafts_a_letter_for_each_authorised_clinician(
    morning, nurse_user, verifier
):
    from consultations.tests.factories import signed_consultation

    patient = signed_consultation().patient
    psychiatrist = authorised(patient=patient)
    unauthorised = member(patient=patient, relationship="therapist")
    session = signed_course(nurse_user=nurse_user, verifier=verifier, planned=1, patient=patient)
    letters = list(ProgressLetter.objects.filter(plan=session.plan))
    assert [(letter.recipient_id, letter.milestone, letter.sessions_at_milestone) for letter in letters] == [
        (psychiatrist.member_id, "induction", 1)
    ]
    assert letters[0].status == "draft"
    assert letters[0].drafted_by is None
    assert not ProgressLetter.objects.filter(recipient=unauthorised).exists()
    # Reaching the milestone again drafts nothing more.
    assert services.letters_draft_at_milestone(plan_id=session.plan_id) == []


def test_the_clinic_may_turn_the_induction_letter_off(morning, nurse_user, verifier):
    from consultations.tests.factories import signed_consultation

    CareTeamPolicy.objects.update_or_create(pk=1, defaults={"letter_at_induction_end": False})
    patient = signed_consultation().patient
    authorised(patient=patient)
    session = signed_course(nurse_user=nurse_user, verifier=verifier, planned=1, patient=patient)
    assert not ProgressLetter.objects.filter(plan=session.plan).exists()


def test_a_signed_letter_is_a_pdf_with_the_sessions_doses_and_scores(course, nurse_user, clinician):
    authorisation = authorised(patient=course.patient)
    letter = services.letter_draft(member=authorisation.member, by=nurse_user)
    letter = _sign(letter, clinician)
    document = document_services.document_render(document_id=letter.document_id)
    text = flat(document_services.pdf_bytes(document))
    assert "Progress letter" in text
    assert authorisation.member.provider.name in text
    assert "Requested by the clinician" in text
    dose = course.dose_calculations.get(superseded_at__isnull=True).dose_mg
    assert f"{dose} mg" in text  # the dose given at the session
    assert "PHQ-9" in text
    assert "GAD-7" in text
    assert "Continue monthly boosters" in text
    assert f"Signed by {clinician}" in text
    with pytest.raises(DatabaseError), transaction.atomic():  # a signed letter never changes
        ProgressLetter.objects.filter(pk=letter.pk).update(plan_text="changed")


def test_an_attendance_only_authorisation_prints_no_doses_or_scores(course, nurse_user, clinician):
    authorisation = authorised(patient=course.patient, scope="attendance")
    letter = _sign(services.letter_draft(member=authorisation.member, by=nurse_user), clinician)
    text = flat(document_services.pdf_bytes(document_services.document_render(document_id=letter.document_id)))
    dose = course.dose_calculations.get(superseded_at__isnull=True).dose_mg
    assert f"{dose} mg" not in text
    assert "PHQ-9" not in text
    assert "Adverse events" not in text
    assert "Attendance and plan only" in text


def test_a_nurse_drafts_but_only_a_prescriber_signs(course, nurse_user):
    authorisation = authorised(patient=course.patient)
    letter = services.letter_draft(member=authorisation.member, by=nurse_user)
    with pytest.raises(PermissionDenied):
        _sign(letter, nurse_user)


def test_revoked_authorisation_means_no_letter_is_drafted_signed_or_released(course, nurse_user, clinician, client):
    authorisation = authorised(patient=course.patient)
    signed_letter = _sign(services.letter_draft(member=authorisation.member, by=nurse_user), clinician)
    document_services.document_render(document_id=signed_letter.document_id)
    draft = services.letter_draft(member=authorisation.member, by=nurse_user)
    services.authorisation_revoke(authorisation=authorisation, by=nurse_user, reason="Signed revocation form")

    with pytest.raises(ValidationError, match="revoked"):
        services.letter_draft(member=authorisation.member, by=nurse_user)
    with pytest.raises(ValidationError, match="revoked"):
        _sign(draft, clinician)
    assert services.letters_draft_at_milestone(plan_id=course.plan_id) == []
    # The signed letter is no longer released: the download answers 403 and no disclosure is written.
    client.force_login(clinician)
    response = client.get(reverse("documents:download", args=[signed_letter.document_id]))
    assert response.status_code == 403
    assert b"revoked" in response.content
    assert not Disclosure.objects.filter(document_id=signed_letter.document_id).exists()
    # A revoked authorisation is fixed in the database.
    with pytest.raises(DatabaseError), transaction.atomic():
        type(authorisation).objects.filter(pk=authorisation.pk).update(revoke_reason="")


def test_an_expired_authorisation_lets_no_letter_through(course, nurse_user):
    today = timezone.localdate()
    authorisation = authorised(
        patient=course.patient, signed_on=today - timedelta(days=400), expires_on=today - timedelta(days=1)
    )
    with pytest.raises(ValidationError, match="expired"):
        services.letter_draft(member=authorisation.member, by=nurse_user)


def test_every_release_is_a_disclosure_to_the_recipient(course, nurse_user, clinician, client):
    authorisation = authorised(patient=course.patient)
    letter = _sign(services.letter_draft(member=authorisation.member, by=nurse_user), clinician)
    client.force_login(clinician)
    name = authorisation.member.provider.name
    response = client.get(
        reverse("documents:download", args=[letter.document_id]), {"purpose": "referral", "recipient": name}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    disclosure = Disclosure.objects.get(document_id=letter.document_id)
    assert (disclosure.recipient, disclosure.purpose, disclosure.patient_id) == (name, "referral", course.patient_id)
    assert AuditEvent.objects.filter(action="documents.document.download", patient_id=course.patient_id).exists()


def test_a_plain_download_is_accounted_to_the_recipient_by_default(course, nurse_user, clinician, client):
    authorisation = authorised(patient=course.patient)
    letter = _sign(services.letter_draft(member=authorisation.member, by=nurse_user), clinician)
    client.force_login(clinician)
    assert client.get(reverse("documents:download", args=[letter.document_id])).status_code == 200
    disclosure = Disclosure.objects.get(document_id=letter.document_id)
    assert (disclosure.recipient, disclosure.purpose) == (authorisation.member.provider.name, "referral")


def test_a_letter_needs_its_plan_before_signing(clinician):
    letter = draft_letter()
    with pytest.raises(ValidationError) as caught:
        services.letter_sign(letter=letter, by=clinician, plan_text="")
    assert "plan_text" in caught.value.message_dict
