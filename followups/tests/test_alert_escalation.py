"""An unacknowledged safety alert is escalated on time (other clinicians, then the
administrators, PHI-free), and the alert page shows who has seen it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from followups import services, tasks
from followups.models import FollowUpPolicy, SafetyAlert, SafetyAlertView
from followups.tests.factories import alert_for, clinician_user

pytestmark = pytest.mark.django_db

RAISED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def staff():
    return {
        "own": clinician_user(email="own@example.org"),
        "other": clinician_user(email="other@example.org"),
        "admin": UserFactory(role=Role.ADMINISTRATOR, email="admin@example.org"),
        "desk": UserFactory(role=Role.FRONT_DESK, email="desk@example.org"),
    }


@pytest.fixture
def alert(staff, patient):
    with time_machine.travel(RAISED, tick=False):
        return alert_for(patient=patient, clinician=staff["own"])


def _escalate_at(minutes: int, capture) -> int:
    mail.outbox.clear()
    with time_machine.travel(RAISED + timedelta(minutes=minutes), tick=False), capture(execute=True):
        return tasks.escalate_safety_alerts()


def test_an_unacknowledged_alert_goes_to_the_other_clinicians_then_the_administrators(
    alert, staff, patient, django_capture_on_commit_callbacks
):
    assert _escalate_at(29, django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []

    assert _escalate_at(30, django_capture_on_commit_callbacks) == 1
    (message,) = mail.outbox
    assert message.to == ["other@example.org"]
    alert.refresh_from_db()
    assert (alert.escalation_level, alert.escalated_at) == (1, RAISED + timedelta(minutes=30))

    assert _escalate_at(45, django_capture_on_commit_callbacks) == 0  # nothing sent twice
    assert mail.outbox == []

    assert _escalate_at(60, django_capture_on_commit_callbacks) == 1
    (message,) = mail.outbox
    assert sorted(message.to) == ["admin@example.org", "other@example.org"]
    assert "escalated" in message.subject.lower()
    body = (message.subject + message.body).replace(f"#{alert.pk}", "#<alert>")
    for phi in (patient.legal_first_name, patient.legal_last_name, patient.mrn, "PHQ", "item 9"):
        assert phi not in body
    assert _escalate_at(600, django_capture_on_commit_callbacks) == 0
    assert AuditEvent.objects.filter(action="followups.alert.escalated").count() == 2


def test_an_acknowledged_alert_is_never_escalated(alert, staff, django_capture_on_commit_callbacks):
    with time_machine.travel(RAISED + timedelta(minutes=10), tick=False):
        services.alert_acknowledge(alert=alert, by=staff["own"], action="called_patient")
    assert _escalate_at(120, django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []
    assert SafetyAlert.objects.get(pk=alert.pk).escalation_level == 0


def test_the_escalation_time_is_the_clinics(alert, staff, django_capture_on_commit_callbacks):
    FollowUpPolicy.objects.update_or_create(pk=1, defaults={"alert_escalate_after_minutes": 10})
    assert _escalate_at(10, django_capture_on_commit_callbacks) == 1
    assert SafetyAlert.objects.get(pk=alert.pk).escalation_level == 1


@pytest.mark.parametrize("minutes", [4, 1441])
def test_the_escalation_time_is_bounded_in_the_database(minutes):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        FollowUpPolicy.objects.update_or_create(pk=1, defaults={"alert_escalate_after_minutes": minutes})


def test_the_alert_page_shows_who_has_seen_it(client, alert, staff):
    url = reverse("followups:alert-detail", args=[alert.pk])
    client.force_login(staff["other"])
    client.get(url)
    client.get(url)  # a second look does not add a second line
    client.force_login(staff["own"])
    page = client.get(url).content.decode()
    assert list(SafetyAlertView.objects.filter(alert=alert).values_list("user", flat=True)) == [
        staff["other"].pk,
        staff["own"].pk,
    ]
    assert str(staff["other"]) in page.split('id="alert-seen-by"')[1].split("</p>")[0]
    assert AuditEvent.objects.filter(action="followups.alert.seen").count() == 2


def test_the_alert_page_query_count_is_bounded(client, alert, staff, django_assert_max_num_queries):
    for user in (staff["other"], staff["admin"]):
        client.force_login(user)
        client.get(reverse("followups:alert-detail", args=[alert.pk]))
    client.force_login(staff["own"])
    url = reverse("followups:alert-detail", args=[alert.pk])
    client.get(url)
    # session, user, perms (2), alert, seen (get + audit chain), seen-by list, session save…
    with django_assert_max_num_queries(14):
        assert client.get(url).status_code == 200


def _grant(user, codename: str) -> None:
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="followups"))


@pytest.mark.parametrize(
    ("case", "setup", "first", "then"),
    [
        # The clinic names its second clinician: only they are e-mailed first.
        ("named second clinician", "named", ["second@example.org"], ["admin@example.org", "second@example.org"]),
        # No one named: the on-call prescriber (a permission the administrator grants).
        ("on-call prescriber", "on_call", ["second@example.org"], ["admin@example.org", "second@example.org"]),
        # Nobody named or on call: every other clinician, so the alert never goes nowhere.
        (
            "nobody designated",
            None,
            ["other@example.org", "second@example.org"],
            ["admin@example.org", "other@example.org", "second@example.org"],
        ),
    ],
)
def test_escalation_goes_to_the_second_clinician_then_the_administrators(
    alert, staff, django_capture_on_commit_callbacks, case, setup, first, then
):
    second = clinician_user(email="second@example.org")
    if setup == "named":
        FollowUpPolicy.objects.update_or_create(pk=1, defaults={"escalation_second_clinician": second})
    elif setup == "on_call":
        _grant(second, "on_call_prescriber")
    assert _escalate_at(30, django_capture_on_commit_callbacks) == 1
    (message,) = mail.outbox
    assert sorted(message.to) == first
    assert _escalate_at(60, django_capture_on_commit_callbacks) == 1
    (message,) = mail.outbox
    assert sorted(message.to) == then
    assert "own@example.org" not in message.to  # the alert's own clinician already has it


def test_the_alert_page_names_who_it_was_escalated_to(client, alert, staff, django_capture_on_commit_callbacks):
    second = clinician_user(email="second@example.org", first_name="Robin", last_name="Okafor")
    FollowUpPolicy.objects.update_or_create(pk=1, defaults={"escalation_second_clinician": second})
    _escalate_at(30, django_capture_on_commit_callbacks)
    client.force_login(staff["own"])
    page = client.get(reverse("followups:alert-detail", args=[alert.pk])).content.decode()
    seen = page.split('id="alert-seen-by"')[1].split("</p>")[0]
    assert "the second clinician was e-mailed" in seen
    assert str(second) in seen
