"""The worklist never stops a list unseen: each list shows its first rows and, when it goes on, a
link to the whole list, a page at a time; any address gives a page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from followups import selectors
from followups.tests.factories import alert_for, suggestion_for
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

WORKLIST = reverse("followups:worklist")


def _suggestions(count: int) -> list:
    return [suggestion_for(patient=PatientFactory()) for _ in range(count)]


def test_a_backlog_of_booster_suggestions_shows_its_oldest_and_opens_in_full_page_by_page(
    client, clinician, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(selectors, "WORKLIST_SHOWN", 3)
    monkeypatch.setattr(selectors, "WORKLIST_PAGE", 4)
    made = _suggestions(6)  # oldest first
    decide = [reverse("followups:suggestion-decide", args=[s.pk]) for s in made]
    client.force_login(clinician)

    page = client.get(WORKLIST).content.decode()
    assert [url in page for url in decide] == [True, True, True, False, False, False]
    assert 'href="?list=boosters"' in page
    assert "All booster suggestions awaiting a decision" in page

    # Session, user, policy, the lists, the prescriber's credentials (for the decision), the audit row.
    with django_assert_max_num_queries(6):
        first = client.get(WORKLIST, {"list": "boosters"}).content.decode()
    assert [url in first for url in decide] == [True, True, True, True, False, False]
    assert "Unacknowledged safety alerts" not in first  # that list alone
    assert "page=2" in first
    assert 'rel="prev"' not in first

    last = client.get(WORKLIST, {"list": "boosters", "page": "2"}).content.decode()
    assert [url in last for url in decide] == [False, False, False, False, True, True]
    assert 'rel="prev"' in last
    assert 'rel="next"' not in last


def test_more_safety_alerts_than_shown_are_one_link_away(client, clinician, monkeypatch):
    monkeypatch.setattr(selectors, "WORKLIST_SHOWN", 2)
    alerts = [alert_for(patient=PatientFactory(), clinician=clinician) for _ in range(3)]
    client.force_login(clinician)
    page = client.get(WORKLIST).content.decode()
    assert reverse("followups:alert-detail", args=[alerts[2].pk]) not in page
    assert 'href="?list=alerts"' in page
    full = client.get(WORKLIST, {"list": "alerts"}).content.decode()
    assert all(reverse("followups:alert-detail", args=[a.pk]) in full for a in alerts)
    assert 'href="?list=' not in full  # no "All …" inside the full list


def test_a_short_list_has_no_link_to_more(client, clinician):
    alert_for(patient=PatientFactory(), clinician=clinician)
    client.force_login(clinician)
    assert "?list=" not in client.get(WORKLIST).content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"list": "<script>alert(1)</script>"},
        {"list": "alerts", "page": "-1"},
        {"list": "alerts", "page": "abc"},
        {"list": "alerts", "page": "9" * 40},
        {"list": "boosters", "page": "99999"},
        {"page": "2"},
    ],
)
def test_any_address_gives_a_page(client, clinician, query):
    alert_for(patient=PatientFactory(), clinician=clinician)
    client.force_login(clinician)
    response = client.get(WORKLIST, query)
    assert response.status_code == 200
    assert b"<script>alert(1)" not in response.content


def test_a_clinician_scoped_to_a_location_lists_only_its_patients(client, clinician, scope_to):
    """Every list of the worklist holds the patients of the clinician's locations, whose charts
    they may open; a chain-wide clinician sees both sites."""
    from scheduling.tests.factories import AppointmentFactory, LocationFactory

    north, south = LocationFactory(name="North"), LocationFactory(name="South")
    at = {}
    for site, name in ((north, "Northcott"), (south, "Southey")):
        patient = PatientFactory(legal_last_name=name)
        AppointmentFactory(patient=patient, location=site)  # where they have care
        at[name] = (alert_for(patient=patient, clinician=clinician), suggestion_for(patient=patient))
    client.force_login(clinician)
    everyone = client.get(WORKLIST).content.decode()
    assert "Northcott" in everyone
    assert "Southey" in everyone

    client.force_login(scope_to(clinician, south))
    page = client.get(WORKLIST).content.decode()
    assert "Northcott" not in page
    alert, suggestion = at["Southey"]
    assert reverse("followups:alert-detail", args=[alert.pk]) in page
    assert reverse("followups:suggestion-decide", args=[suggestion.pk]) in page
    assert "Northcott" not in client.get(WORKLIST, {"list": "boosters"}).content.decode()


def test_a_worsened_score_corrected_away_leaves_the_list_and_a_correction_that_worsens_joins_it(client, clinician):
    from datetime import timedelta

    from django.utils import timezone

    from assessments.services import response_record
    from followups.tests.factories import phq9_for_total, record

    fixed, worsened = PatientFactory(legal_last_name="Fixedscore"), PatientFactory(legal_last_name="Laterworse")
    for patient in (fixed, worsened):
        record(
            patient=patient, code="phq9", answers=phq9_for_total(4), by=clinician, at=timezone.now() - timedelta(days=9)
        )

    def corrected(patient, wrong: int, right: int, reason: str) -> None:
        entered = record(patient=patient, code="phq9", answers=phq9_for_total(wrong), by=clinician)
        response_record(
            patient=patient,
            code="phq9",
            answers=phq9_for_total(right),
            context=entered.context,
            by=clinician,
            supersedes=entered,
            correction_reason=reason,
        )

    corrected(fixed, 16, 6, "Item answers entered in the wrong rows")
    corrected(worsened, 5, 15, "Read back from the paper form")
    client.force_login(clinician)
    page = client.get(WORKLIST).content.decode()
    assert "Fixedscore" not in page  # 4 → 6 once corrected
    assert "Laterworse" in page
    assert "4 → 15" in page


def test_names_on_the_worklist_are_escaped_and_a_nurse_is_not_offered_the_booster_decision(client, clinician, nurse):
    """Each row's markup is written in the view: what a patient's name holds is printed as text."""
    hostile = PatientFactory(legal_last_name='<img src=x onerror="alert(1)">', preferred_name="")
    alert_for(patient=hostile, clinician=clinician)
    suggestion_for(patient=hostile)
    for user in (clinician, nurse):
        client.force_login(user)
        page = client.get(WORKLIST).content.decode()
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    decide = reverse("followups:suggestion-decide", args=[hostile.booster_suggestions.get().pk])
    assert decide not in page  # the nurse's page: the booster is for a prescriber to decide
    assert "Needs a prescriber." in page
