"""The calendar says where the patient of a visit under way is ("In chair", "Recovering"), read
from the session through the scheduling hooks (scheduling imports nothing from infusions), at
one query however many visits are under way; the desk reads no clinical status."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from infusions import rules
from infusions.selectors.board import appointment_care_states
from infusions.tests.factories import advance, open_session
from scheduling.tests.factories import LocationFactory, ResourceFactory
from scheduling.views.common import calendar_url

S = rules.SessionStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def site(db):
    return LocationFactory(name="Uptown", time_zone="UTC")


def _session_at(site, status, nurse_user, verifier):
    chair = ResourceFactory(location=site, kind="chair")
    return advance(
        open_session(by=nurse_user, location=site, chair=chair), status, nurse_user=nurse_user, verifier=verifier
    )


def test_sessions_under_way_are_in_chair_or_recovering_and_the_others_keep_their_status(
    site, nurse_user, verifier, policy, django_assert_num_queries
):
    infusing = _session_at(site, S.INFUSING, nurse_user, verifier)
    recovering = _session_at(site, S.RECOVERING, nurse_user, verifier)
    waiting = open_session(by=nurse_user, location=site, chair=ResourceFactory(location=site, kind="chair"))
    with django_assert_num_queries(1):
        states = appointment_care_states([infusing.appointment_id, recovering.appointment_id, waiting.appointment_id])
    assert states == {infusing.appointment_id: "In chair", recovering.appointment_id: "Recovering"}


def test_the_calendar_day_sheet_and_appointment_show_where_the_patient_is_at_one_query_for_all(
    client_as, frontdesk, site, nurse_user, verifier, policy, django_assert_max_num_queries
):
    infusing = _session_at(site, S.INFUSING, nurse_user, verifier)
    day = timezone.localtime(infusing.appointment.start, site.zone).date()
    client = client_as(frontdesk)
    url = calendar_url(site.pk, day)
    with django_assert_max_num_queries(40) as one:
        body = client.get(url).content.decode()
    assert "In chair" in body
    assert "Infusing" not in body  # the session's own status is clinical
    recovering = _session_at(site, S.RECOVERING, nurse_user, verifier)
    _session_at(site, S.INFUSING, nurse_user, verifier)
    with django_assert_max_num_queries(len(one.captured_queries)):
        body = client.get(url).content.decode()
    assert "Recovering" in body
    sheet = client.get(reverse("scheduling:day-sheet"), {"location": site.pk, "date": day.isoformat()})
    assert "In chair" in sheet.content.decode()
    assert "Recovering" in sheet.content.decode()
    detail = client.get(reverse("scheduling:appointment-detail", args=[recovering.appointment_id]))
    assert ">Recovering</span>" in detail.content.decode()
