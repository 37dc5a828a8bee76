"""Break-glass opens one chart, checked in every access helper: a front desk grant for patient A
reads A's objects through each app's helper and gets 403 for patient B's (the URL-level walk
is tests/test_access_matrix.py's break-glass personas; these pin the helpers themselves)."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.utils import timezone

from accounts import emergency
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def charts(frontdesk):
    """(request of the front desk holding a live grant for A, A, B)."""
    granted, other = PatientFactory(), PatientFactory()
    request = RequestFactory().get("/")
    request.user = frontdesk
    request.session = SessionStore()
    request.session[emergency.SESSION_KEY] = {
        "id": 0,
        "user": frontdesk.pk,
        "patient": granted.pk,
        "until": (timezone.now() + timedelta(minutes=30)).isoformat(),
    }
    emergency.attach(request)  # as the middleware does on every request
    return request, granted, other


# (app, helper of app.access that fetches one object by its id, route kwarg naming that object)
OBJECT_HELPERS = [
    ("consultations", "get_consultation_for_user", "consultation_id"),
    ("consultations", "get_plan_for_user", "plan_id"),
    ("infusions", "get_session_for_user", "session_id"),
    ("followups", "get_visit_for_user", "visit_id"),
    ("followups", "get_alert_for_user", "alert_id"),
    ("documents", "get_document_for_user", "document_id"),
]


@pytest.mark.parametrize(("app", "helper", "kwarg"), OBJECT_HELPERS, ids=[f"{a}.{h}" for a, h, _ in OBJECT_HELPERS])
def test_break_glass_object_helpers_open_the_granted_chart_only(charts, app, helper, kwarg):
    request, a, b = charts
    fetch = getattr(importlib.import_module(f"{app}.access"), helper)
    make = importlib.import_module(f"{app}.tests.factories").object_for_route

    def object_id(patient) -> int:
        made = make(kwarg, patient)
        return made if isinstance(made, int) else made.pk

    assert fetch(request, object_id(a)).patient_id == a.pk
    with pytest.raises(PermissionDenied):
        fetch(request, object_id(b))


# (module, predicate(user, patient_id=...) about one chart)
CHART_PREDICATES = [
    ("patients.access", lambda m, user, pid: m.can_view_clinical(user, patient_id=pid)),
    ("infusions.access", lambda m, user, pid: m.sees_sessions(user, patient_id=pid)),
    ("documents.access", lambda m, user, pid: m.can_download(user, "consultation_summary", patient_id=pid)),
]


@pytest.mark.parametrize(("module", "holds"), CHART_PREDICATES, ids=[m for m, _ in CHART_PREDICATES])
def test_break_glass_chart_predicates_hold_for_the_granted_chart_only(charts, module, holds):
    request, a, b = charts
    helpers = importlib.import_module(module)
    assert holds(helpers, request.user, a.pk)
    assert not holds(helpers, request.user, b.pk)
    assert not holds(helpers, request.user, None)  # a page about several patients


def test_break_glass_patients_helpers_open_the_granted_chart_only(charts):
    from patients.access import CLINICAL, get_patient_for_user, require_chart_perms

    request, a, b = charts
    assert get_patient_for_user(request, a.pk, perm=CLINICAL) == a
    with pytest.raises(PermissionDenied):
        get_patient_for_user(request, b.pk, perm=CLINICAL)
    with pytest.raises(PermissionDenied):
        require_chart_perms(request, CLINICAL, patient_id=b.pk)


def test_break_glass_never_opens_the_ledger_even_for_the_granted_chart(charts):
    from controlled_substances.access import MANAGE, RECORD, get_container, handles_drug, require
    from controlled_substances.tests.factories import object_for_route

    request, a, _ = charts
    entry = object_for_route("entry_id", a)  # a draw administered to the granted patient
    with pytest.raises(PermissionDenied):
        require(request, MANAGE, RECORD)
    with pytest.raises(PermissionDenied):
        get_container(request, entry.container_id, MANAGE, RECORD)
    assert not handles_drug(request.user)
