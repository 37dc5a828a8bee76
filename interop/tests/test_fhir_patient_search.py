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
