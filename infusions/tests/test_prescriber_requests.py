"""A nurse at a pre-check that needs a prescriber asks for one; the request shows on
prescribers' homes (not nurses') until the session is cleared or deferred."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from infusions import rules, services
from infusions.tests.factories import PHQ9_CLEAR, clean_precheck, open_session
from prescribers.tests.factories import register

pytestmark = pytest.mark.django_db


@pytest.fixture
def needs_review(policy, nurse_user):
    session = open_session(by=nurse_user)
    services.session_check_in(session=session, by=nurse_user)
    services.instrument_record(session=session, by=nurse_user, code="phq9", answers=PHQ9_CLEAR)
    check = services.precheck_record(
        session=session, by=nurse_user, data=clean_precheck(escort_name="", escort_phone="")
    )
    assert check.outcome == rules.NEEDS_CLINICIAN_DECISION
    return session


def test_the_nurses_request_shows_on_prescribers_homes_until_a_prescriber_decides(
    client_as, needs_review, nurse_user, nurse, clinician
):
    page = client_as(nurse_user).get(reverse("infusions:session", args=[needs_review.pk]))
    assert b"Request a prescriber" in page.content
    response = client_as(nurse_user).post(reverse("infusions:request-prescriber", args=[needs_review.pk]))
    assert response.status_code == 302
    home = reverse("infusions:clinician-home")
    assert str(needs_review.patient).encode() in client_as(clinician).get(home).content
    assert b"Pre-checks needing a prescriber" not in client_as(nurse).get(home).content

    register(clinician.prescriber_profile, needs_review.appointment.location)
    services.precheck_clear(session=needs_review, by=clinician, decision_reason="Escort confirmed by phone")
    assert b"No requests." in client_as(clinician).get(home).content


def test_a_request_off_a_pre_check_that_needs_no_prescriber_is_refused(policy, nurse_user):
    session = open_session(by=nurse_user)
    with pytest.raises(ValidationError, match="Only a pre-check that needs a prescriber"):
        services.prescriber_request(session=session, by=nurse_user)
