"""The shared steps of the patient links (patients.links): what no token and no session can open.
Each link flow's own tests (questionnaire, packet, consent, self-booking, reminder) walk the rest."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore

from patients import links
from patients.models import Patient


@pytest.mark.parametrize("token", ["", "x" * (links.MAX_TOKEN_LENGTH + 1)])
def test_an_empty_or_oversized_token_matches_nothing_without_a_query(token):
    # No database in this test: a query would fail it.
    assert links.for_token(Patient, token, hash_field="mrn") is None


@pytest.mark.parametrize("value", [None, "12", True, 1.0])
def test_only_a_link_id_the_server_stored_is_pending(rf, value):
    request = rf.get("/")
    request.session = SessionStore()
    if value is not None:
        request.session["pending"] = value
    assert links.pending(request, "pending") is None
    request.session["pending"] = 12
    assert links.pending(request, "pending") == 12
