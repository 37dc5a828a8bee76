"""Every URL × every role, against the table in access_table.py (security-reference A1)."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from patients.tests.factories import PatientFactory
from tests.access_table import (
    ACCESS,
    ADMIN_NAMESPACE,
    BAD,
    BREAK_GLASS_PERSONAS,
    DENY,
    GONE,
    LOGIN,
    OK,
    PERSONAS,
    SECOND_SITE_PERSONAS,
    TOKEN,
    break_glass_expectation,
    second_site_expectation,
)


def _url_names(patterns=None, namespace=""):
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _url_names(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{namespace}{p.name}", p


def _route_kwargs(pattern: URLPattern, patient) -> dict:
    kwargs = {}
    for name in re.findall(r"<(?:\w+:)?(\w+)>", str(pattern.pattern)):
        if name in {"pk", "patient_id", "patient_pk"}:
            kwargs[name] = patient.pk
        elif name == "uidb64":
            kwargs[name] = "MQ"
        elif name == "token":
            kwargs[name] = "set-password"
        elif name == "appointment_id":
            from scheduling.tests.factories import AppointmentFactory

            kwargs[name] = AppointmentFactory(patient=patient).pk
        elif name in {"consultation_id", "plan_id"}:
            from consultations.tests.factories import object_for_route

            kwargs[name] = object_for_route(name, patient).pk
        elif name in {"container_id", "entry_id", "report_id", "count_id", "line_id"}:
            from controlled_substances.tests.factories import object_for_route as cs_object

            kwargs[name] = cs_object(name, patient).pk
        elif name in {"visit_id", "suggestion_id", "alert_id"}:
            from followups.tests.factories import object_for_route as followup_object

            kwargs[name] = followup_object(name, patient).pk
        elif name == "document_id":
            from documents.tests.factories import object_for_route as document_for_route

            kwargs[name] = document_for_route(name, patient).pk
        elif name in {
            "session_id",
            "dose_id",
            "infusion_alert_id",
            "adverse_event_id",
            "rescue_dose_id",
            "location_id",
            "code",
        }:
            from infusions.tests.factories import object_for_route as infusion_object

            kwargs[name] = infusion_object(name, patient)
        elif name in {"finding_id", "rescreen_id"}:
            from courses.tests.factories import object_for_route as course_object

            kwargs[name] = course_object(name, patient).pk
        elif name == "user_id":
            from accounts.tests.factories import UserFactory

            kwargs[name] = UserFactory().pk
        elif name in {"invoice_id", "payment_id", "package_id", "visit_item_id"}:
            from billing.tests.factories import object_for_route as billing_object

            kwargs[name] = billing_object(name, patient).pk
        elif name in {"provider_id", "member_id", "authorisation_id", "letter_id", "adjunct_id"}:
            from care_team.tests.factories import object_for_route as care_team_object

            kwargs[name] = care_team_object(name, patient).pk
        elif name == "task_id":
            from staff_tasks.tests.factories import TaskFactory

            kwargs[name] = TaskFactory(patient=patient, assignee_role="nurse").pk
        elif name == "inquiry_id":
            from inquiries.tests.factories import object_for_route as inquiry_object

            kwargs[name] = inquiry_object(name, patient).pk
        elif name == "section":
            kwargs[name] = "locations"
        elif name == "policy":
            kwargs[name] = "infusion-policy"
        elif name == "row_id":
            from scheduling.tests.factories import LocationFactory

            kwargs[name] = LocationFactory().pk
        elif name in {"self_booking_id", "waitlist_entry_id"}:
            kwargs[name] = 2_000_000_000  # no such request or entry: a permitted role gets 404
        elif name == "change_id":
            kwargs[name] = 2_000_000_000  # no such policy change: a permitted role gets 404
        elif name in {"packet_id", "fact_id", "medication_id"}:
            from packets.tests.factories import object_for_route as packet_object

            kwargs[name] = packet_object(name, patient).pk
        elif name == "step":
            kwargs[name] = "details"
        elif name in {"consent_kind", "consent_signature_id", "consent_version_id"}:
            from consents.tests.factories import object_for_route as consent_object

            kwargs[name] = consent_object(name, patient)
        elif name == "feed_token":
            kwargs[name] = "not-a-real-token"
        elif name == "resource_type":
            kwargs[name] = "Patient"
        elif name == "resource_id":
            kwargs[name] = patient.pk
        elif name == "export_id":
            kwargs[name] = "00000000-0000-4000-8000-000000000001"  # no such export: a permitted role gets 404
        elif name == "group_id":
            kwargs[name] = "location-1"
        elif name == "name":
            kwargs[name] = "Patient.ndjson"
        else:
            raise AssertionError(f"access test does not know how to fill <{name}> in {pattern.pattern}")
    return kwargs


def test_every_url_is_classified():
    names = {name for name, _ in _url_names() if not name.startswith(f"{ADMIN_NAMESPACE}:")}
    unclassified = sorted(names - ACCESS.keys())
    stale = sorted(ACCESS.keys() - names)
    assert not unclassified, f"URLs missing from tests/access_table.py: {unclassified}"
    assert not stale, f"rows for URLs that no longer exist: {stale}"


def _outcome(response) -> str:
    if response.status_code == 400:
        return BAD
    if response.status_code == 401:
        return TOKEN
    if response.status_code == 403:
        return DENY
    if response.status_code in (404, 405):
        return GONE
    if response.status_code in (301, 302) and "/accounts/login/" in response.get("Location", ""):
        return LOGIN
    if response.status_code < 400:
        return OK
    return f"status {response.status_code}"


@pytest.fixture
def services_alive(db):
    """A running clinic's worker and beat, so /healthz answers on its access alone (without fresh
    heartbeats it says 503 whoever asks, which is its job and is tested in tests/test_health.py)."""
    from accounts import heartbeat

    heartbeat.stamp(heartbeat.WORKER)
    heartbeat.stamp(heartbeat.BEAT)


CASES = [(name, who) for name in sorted(ACCESS) for who in PERSONAS]


@pytest.mark.django_db
@pytest.mark.parametrize(("url_name", "who"), CASES, ids=[f"{n}-{w}" for n, w in CASES])
def test_role_gets_what_the_table_says(client, persona, patient, services_alive, url_name, who):
    patterns = dict(_url_names())
    spec = ACCESS[url_name]
    url = reverse(url_name, kwargs=_route_kwargs(patterns[url_name], patient))
    if who != "anonymous":
        client.force_login(persona[who])
    response = getattr(client, spec["method"])(url)
    assert _outcome(response) == spec["expect"][who], f"{who} {spec['method'].upper()} {url}"


BREAK_GLASS_CASES = [(name, who) for name in sorted(ACCESS) for who in BREAK_GLASS_PERSONAS]


@pytest.mark.django_db
@pytest.mark.parametrize(("url_name", "who"), BREAK_GLASS_CASES, ids=[f"{n}-{w}" for n, w in BREAK_GLASS_CASES])
def test_break_glass_opens_the_granted_chart_only(client, break_glass, patient, services_alive, url_name, who):
    """Emergency access for patient A reads A's clinical record; B's answers as for the front desk."""
    patterns = dict(_url_names())
    spec = ACCESS[url_name]
    url = reverse(url_name, kwargs=_route_kwargs(patterns[url_name], patient))
    break_glass(client, patient if who == "breakglass_own" else PatientFactory())
    response = getattr(client, spec["method"])(url)
    assert _outcome(response) == break_glass_expectation(url_name, who), f"{who} {spec['method'].upper()} {url}"


@pytest.fixture
def elsewhere(persona, patient, scope_to):
    """The route's patient has care at the first location; the personas work at the second only."""
    from scheduling.tests.factories import AppointmentFactory, LocationFactory

    first, second = LocationFactory(name="First site"), LocationFactory(name="Second site")
    AppointmentFactory(patient=patient, location=first)
    return {who: scope_to(persona[role], second) for who, role in SECOND_SITE_PERSONAS.items()}


SECOND_SITE_CASES = [(name, who) for name in sorted(ACCESS) for who in SECOND_SITE_PERSONAS]


@pytest.mark.django_db
@pytest.mark.parametrize(("url_name", "who"), SECOND_SITE_CASES, ids=[f"{n}-{w}" for n, w in SECOND_SITE_CASES])
def test_another_locations_staff_are_refused_this_locations_charts(
    client, elsewhere, patient, services_alive, url_name, who
):
    patterns = dict(_url_names())
    spec = ACCESS[url_name]
    url = reverse(url_name, kwargs=_route_kwargs(patterns[url_name], patient))
    client.force_login(elsewhere[who])
    response = getattr(client, spec["method"])(url)
    assert _outcome(response) == second_site_expectation(url_name, who), f"{who} {spec['method'].upper()} {url}"


@pytest.mark.django_db
@pytest.mark.parametrize("who", SECOND_SITE_PERSONAS)
def test_another_locations_staff_see_none_of_this_locations_patients(client, elsewhere, patient, who):
    from accounts.roles import role_of
    from staff_tasks.tests.factories import TaskFactory

    first = patient.appointments.get().location
    TaskFactory(patient=patient, assignee_role=role_of(elsewhere[who]))
    client.force_login(elsewhere[who])
    listed = client.get(reverse("patients:list"))
    assert listed.status_code == 200
    assert listed.context["page"].paginator.count == 0
    found = client.get(reverse("patients:list"), {"q": patient.legal_last_name})
    assert found.context["page"].paginator.count == 0
    # The calendar offers the second location only; an address naming the first falls back to it.
    calendar = client.get(reverse("scheduling:calendar"), {"location": first.pk})
    assert calendar.status_code == 200
    assert [loc.name for loc in calendar.context["locations"]] == ["Second site"]
    assert calendar.context["location"].name == "Second site"
    assert patient.legal_last_name not in calendar.content.decode()
    tasks = client.get(reverse("staff_tasks:list"))
    assert tasks.status_code == 200
    assert patient.legal_last_name not in tasks.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("who", PERSONAS)
def test_only_administrators_reach_the_django_admin(client, persona, who):
    if who != "anonymous":
        client.force_login(persona[who])
    response = client.get(reverse("admin:index"))
    if who == "admin":
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
