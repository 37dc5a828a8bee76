"""The buttons offered match what is possible, and the services refuse the rest with a reason:
a cleared patient can still go home untreated (the drawn drug then waits for a witnessed
waste), a plan's induction is completed only after an infusion, and "Infusion complete" waits
for the recorded delivery (the delivery tests hold that one)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from consultations import services as consultation_services
from infusions import rules, services
from infusions.models import InfusionSession, SessionTransition
from infusions.tests.factories import advance, open_session

S = rules.SessionStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def cleared(nurse_user, verifier, policy):
    return advance(open_session(by=nurse_user), S.CLEARED, nurse_user=nurse_user, verifier=verifier)


def test_a_cleared_session_offers_not_treated_today_with_the_coded_reasons(client_as, cleared, nurse_user):
    body = client_as(nurse_user).get(reverse("infusions:session", args=[cleared.pk])).content.decode()
    assert "Not treated today</button>" in body
    assert '<option value="patient_declined">' in body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "Left before the start"}, "Coded deferral reason required"),
        ({"reason_code": "patient_declined"}, "Say why a cleared patient is not treated today"),
    ],
)
def test_a_cleared_session_is_not_abandoned_without_a_coded_reason_and_details(
    client_as, cleared, nurse_user, data, message
):
    response = client_as(nurse_user).post(
        reverse("infusions:transition", args=[cleared.pk]), {"to": "deferred", **data}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert InfusionSession.objects.get(pk=cleared.pk).status == S.CLEARED


def test_a_cleared_session_is_abandoned_with_its_reason_in_the_log(client_as, cleared, nurse_user):
    response = client_as(nurse_user).post(
        reverse("infusions:transition", args=[cleared.pk]),
        {"to": "deferred", "reason_code": "patient_declined", "reason": "Changed her mind after clearance"},
    )
    assert response.status_code == 302
    session = InfusionSession.objects.get(pk=cleared.pk)
    assert (session.status, session.deferral_reason_code) == (S.DEFERRED, "patient_declined")
    move = SessionTransition.objects.filter(session=session).latest("id")
    assert (move.from_status, move.to_status, move.by, move.reason) == (
        S.CLEARED,
        S.DEFERRED,
        nurse_user,
        "Changed her mind after clearance",
    )


def test_induction_completed_is_offered_and_accepted_only_after_an_infusion(
    client_as, clinician, nurse_user, verifier, policy
):
    session = open_session(by=clinician)
    plan = session.plan
    url = reverse("consultations:plan-detail", args=[plan.pk])
    client = client_as(clinician)
    assert "Mark induction completed" not in client.get(url).content.decode()
    with pytest.raises(ValidationError) as error:
        consultation_services.plan_transition(plan=plan, to_status="completed", by=clinician)
    assert "No infusion of this plan has been given yet" in str(error.value)

    advance(session, S.INFUSING, nurse_user=nurse_user, verifier=verifier)
    assert "Mark induction completed" in client.get(url).content.decode()
    plan = consultation_services.plan_transition(plan=plan, to_status="completed", by=clinician)
    assert plan.status == "completed"


def test_the_appointment_follows_the_session_through_the_scheduling_service(nurse_user, verifier, policy):
    from scheduling.models import AppointmentStatusChange

    session = advance(open_session(by=nurse_user), S.PRE_CHECK, nurse_user=nurse_user, verifier=verifier)
    appointment = session.appointment
    appointment.refresh_from_db()
    assert appointment.status == "checked_in"
    advance(session, S.INFUSING, nurse_user=nurse_user, verifier=verifier)
    appointment.refresh_from_db()
    assert appointment.status == "in_progress"
    advance(session, S.RECOVERING, nurse_user=nurse_user, verifier=verifier)
    appointment.refresh_from_db()
    assert appointment.status == "in_progress"  # in the chair until the patient leaves
    advance(session, S.SIGNED, nurse_user=nurse_user, verifier=verifier)
    appointment.refresh_from_db()
    assert appointment.status == "completed"
    moves = [
        (m.from_status, m.to_status, m.reason)
        for m in AppointmentStatusChange.objects.filter(appointment=appointment).order_by("id")
    ][-2:]
    assert moves == [
        ("checked_in", "in_progress", "Infusion started"),
        ("in_progress", "completed", "Discharged after the infusion"),
    ]


def test_the_appointment_page_links_the_infusion_session(client_as, nurse_user, policy):
    from infusions.tests.factories import infusion_appointment

    appointment = infusion_appointment()
    client = client_as(nurse_user)
    url = reverse("scheduling:appointment-detail", args=[appointment.pk])
    assert "Open the infusion session</button>" in client.get(url).content.decode()
    session = services.session_open(appointment=appointment, by=nurse_user)
    body = client.get(url).content.decode()
    assert reverse("infusions:session", args=[session.pk]) in body
    assert "Infusion session (scheduled)" in body
