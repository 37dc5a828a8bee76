"""GET /patients/ and /patients/?q=: search, pagination, bad input, query counts."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = reverse("patients:list")


def test_the_registry_lists_patients_by_name(client_as, frontdesk):
    PatientFactory(legal_last_name="Zed", legal_first_name="Amy")
    PatientFactory(legal_last_name="Abel", legal_first_name="Bo")
    response = client_as(frontdesk).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Abel, Bo") < html.index("Zed, Amy")


def test_a_search_finds_a_misspelled_surname_and_is_audited(client_as, frontdesk):
    PatientFactory(legal_last_name="Johnson", legal_first_name="Mary")
    PatientFactory(legal_last_name="Miller", legal_first_name="Ann")
    response = client_as(frontdesk).get(URL, {"q": "Jonsen"})
    assert "Johnson, Mary" in response.content.decode()
    assert "Miller, Ann" not in response.content.decode()
    event = AuditEvent.objects.get(action="patients.patient.searched")
    assert event.verb == "query"
    assert event.changes["query"] == [None, "Jonsen"]


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "-3"},
        {"page": "99999999999999999999999"},
        {"q": "x" * 10_000},
        {"q": "Smith", "page": "abc"},
        {"q": "Smith", "page": "400"},
        {"q": "\x00"},
        {"q": "%%%"},
        {"q": "'; DROP TABLE patients_patient; --"},
    ],
)
def test_bad_input_never_breaks_the_page(client_as, frontdesk, params):
    PatientFactory(legal_last_name="Smith")
    response = client_as(frontdesk).get(URL, params)
    assert response.status_code == 200


def test_hostile_search_text_is_shown_as_text(client_as, frontdesk):
    response = client_as(frontdesk).get(URL, {"q": "<script>alert(1)</script>"})
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_page_links_keep_the_search_url_encoded(client_as, frontdesk):
    PatientFactory.create_batch(30, legal_last_name="Smith", legal_first_name="Ann")
    html = client_as(frontdesk).get(URL, {"q": "smith, ann"}).content.decode()
    assert "?q=smith%2C+ann&page=2" in html


@pytest.mark.parametrize("rows", [5, 60])
def test_the_list_costs_the_same_queries_however_many_patients(
    client_as, frontdesk, django_assert_max_num_queries, rows
):
    PatientFactory.create_batch(rows)
    client = client_as(frontdesk)
    # session, user, permissions (user + group), role for the nav, count, page, audit entry
    # (one statement), session save (savepoint, update, release)
    with django_assert_max_num_queries(11):
        assert client.get(URL).status_code == 200


@pytest.mark.parametrize("rows", [5, 60])
def test_a_search_costs_the_same_queries_however_many_match(client_as, frontdesk, django_assert_max_num_queries, rows):
    PatientFactory.create_batch(rows, legal_last_name="Johnson")
    client = client_as(frontdesk)
    # session, user, permissions (2), role, ranked page with its total (no
    # separate count), audit entry (one statement), session save (savepoint,
    # update, release)
    with django_assert_max_num_queries(10):
        response = client.get(URL, {"q": "Jonsen"})
    assert response.context["page"].paginator.count == rows
