"""FHIR Patient search by name: a prefix, case- and accent-insensitive (FHIR's string search)."""

from __future__ import annotations

import pytest

from interop.tests.test_fhir_api import bearer, fhir_get
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def found(client, headers, **params) -> set[str]:
    response = fhir_get(client, "Patient", headers, **params)
    assert response.status_code == 200
    return {entry["resource"]["name"][0]["family"] for entry in response.json().get("entry", [])}


def test_name_searches_match_a_prefix_whatever_the_case_and_accents(client, frontdesk):
    PatientFactory(legal_first_name="José", legal_last_name="García-Núñez", preferred_name="Pepe")
    PatientFactory(legal_first_name="Ada", legal_last_name="Lovelace")
    PatientFactory(legal_first_name="Gareth", legal_last_name="Jones")
    headers = bearer(frontdesk)
    assert found(client, headers, family="garcia") == {"García-Núñez"}
    assert found(client, headers, family="GARCÍA-NÚ") == {"García-Núñez"}
    assert found(client, headers, family="núñez") == set()  # a prefix of the name, not any part of it
    assert found(client, headers, given="jose") == {"García-Núñez"}
    assert found(client, headers, given="pep") == {"García-Núñez"}  # the preferred name too
    assert found(client, headers, name="gar") == {"García-Núñez", "Jones"}
    assert found(client, headers, name="love") == {"Lovelace"}


def test_a_search_of_patients_reads_what_it_needs_once(client, frontdesk, django_assert_max_num_queries):
    """Token (with its client's registration), the page's patients with the count of every match, and
    the audit (its transaction, the chain's lock, the rows with the chain's head): the role and
    permissions come from the cache, and the audit reuses the patients the page read."""
    PatientFactory.create_batch(4, legal_last_name="Okafor")
    headers = bearer(frontdesk)
    assert len(fhir_get(client, "Patient", headers, family="okafor").json()["entry"]) == 4  # warms the cache
    PatientFactory.create_batch(8, legal_last_name="Okafor")
    with django_assert_max_num_queries(7):
        assert len(fhir_get(client, "Patient", headers, family="okafor").json()["entry"]) == 12


def test_a_name_search_pages_through_its_matches_in_name_order_and_counts_them(client, frontdesk):
    for first in ("Eve", "Ada", "Cy", "Bo", "Di"):
        PatientFactory(legal_first_name=first, legal_last_name="Okafor")
    PatientFactory(legal_first_name="Al", legal_last_name="Okoro")
    headers = bearer(frontdesk)

    def page(offset):
        bundle = fhir_get(client, "Patient", headers, family="okaf", _count="2", _offset=str(offset)).json()
        firsts = [entry["resource"]["name"][0]["given"][0] for entry in bundle.get("entry", [])]
        return bundle["total"], firsts, [link["relation"] for link in bundle["link"]]

    assert page(0) == (5, ["Ada", "Bo"], ["self", "next"])
    assert page(2) == (5, ["Cy", "Di"], ["self", "next", "previous"])
    assert page(4) == (5, ["Eve"], ["self", "previous"])
    assert page(6) == (5, [], ["self", "previous"])  # past the end: still counted, nothing listed


def test_a_tokens_user_who_loses_a_role_is_refused_at_the_next_request(client, frontdesk):
    from django.contrib.auth.models import Group

    PatientFactory(legal_last_name="Okafor")
    headers = bearer(frontdesk)
    assert fhir_get(client, "Patient", headers, family="okafor").status_code == 200
    frontdesk.groups.set([])  # an administrator takes the role away (signals bump the user's stamp)
    assert fhir_get(client, "Patient", headers, family="okafor").status_code == 403
    frontdesk.groups.set(Group.objects.filter(name="Front desk"))
    assert fhir_get(client, "Patient", headers, family="okafor").status_code == 200


def test_phone_numbers_are_sent_as_stored_whichever_way_the_patient_was_read():
    from interop import resources, selectors
    from patients.models import Patient

    made = PatientFactory(
        phone="+16175550123", emergency_contact_name="Sam Okafor", emergency_contact_phone="+16175550188"
    )
    api = resources.patient(selectors.api_patients().get(pk=made.pk))
    assert api == resources.patient(Patient.objects.get(pk=made.pk))
    assert api["telecom"][0]["value"] == "+16175550123"
    assert api["contact"][0]["telecom"][0]["value"] == "+16175550188"
    bare = PatientFactory(phone="", emergency_contact_name="", emergency_contact_phone="")
    unlisted = resources.patient(selectors.api_patients().get(pk=bare.pk))
    assert unlisted == resources.patient(Patient.objects.get(pk=bare.pk))
    assert not [t for t in unlisted.get("telecom", []) if t["system"] == "phone"]
