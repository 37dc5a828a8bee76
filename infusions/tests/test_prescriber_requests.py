"""A nurse at a pre-check that needs a prescriber asks for one; the request shows on
prescribers' homes (not nurses') until the session is cleared or deferred."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from infusions import rules, services
from infusions.tests.factories import PHQ9_CLEAR, clean_precheck, open_session
from prescribers.tests.factories import credentialed, register

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


def _expired(days: int = 1):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.localdate() - timedelta(days=days)


@pytest.mark.parametrize(
    ("case", "make", "why"),
    [
        ("no prescriber profile", lambda user, location: None, "No prescriber credentials"),
        (
            "licence expired",
            lambda user, location: credentialed(user, location=location, licence_expires=_expired()),
            "licence",
        ),
        (
            "DEA registration at this clinic expired",
            lambda user, location: credentialed(user, location=location, dea_expires=_expired()),
            "DEA registration",
        ),
        ("no DEA registration at this clinic", lambda user, location: credentialed(user), "DEA registration"),
    ],
)
def test_a_prescriber_who_cannot_act_is_shown_the_nurses_path_with_why(client_as, needs_review, case, make, why):
    """A user in the prescriber role whose profile is missing or not current is offered what a
    nurse is (Needs a prescriber, Request a prescriber) with the reason, not a decision form
    the service would refuse; the page asks the same question as the service."""
    from accounts.prescribing import PrescriberRequired
    from accounts.roles import Role
    from accounts.tests.factories import UserFactory

    blocked = UserFactory(username="dr.blocked", role=Role.PRESCRIBER, credentials="MD")
    make(blocked, needs_review.appointment.location)
    html = client_as(blocked).get(reverse("infusions:session", args=[needs_review.pk])).content.decode()
    assert 'id="needs-prescriber"' in html, case
    assert "Request a prescriber" in html, case
    assert "Prescriber decision: proceed" not in html, case
    assert 'id="prescriber-blocked"' in html, case
    assert why in html, case
    with pytest.raises(PrescriberRequired, match=why):
        services.precheck_clear(session=needs_review, by=blocked, decision_reason="Escort confirmed by phone")
    response = client_as(blocked).post(reverse("infusions:request-prescriber", args=[needs_review.pk]))
    assert response.status_code == 302, case
    needs_review.refresh_from_db()
    assert needs_review.prescriber_requested_by == blocked


def test_a_current_prescriber_at_the_clinic_is_offered_the_decision(client_as, needs_review, clinician, nurse_user):
    register(clinician.prescriber_profile, needs_review.appointment.location)
    html = client_as(clinician).get(reverse("infusions:session", args=[needs_review.pk])).content.decode()
    assert "Prescriber decision: proceed" in html
    assert 'id="needs-prescriber"' not in html
    nurse_html = client_as(nurse_user).get(reverse("infusions:session", args=[needs_review.pk])).content.decode()
    assert 'id="needs-prescriber"' in nurse_html
    assert 'id="prescriber-blocked"' not in nurse_html
