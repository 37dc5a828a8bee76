"""Administrators configure reminder rules in the admin; the reminder list is read-only."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from accounts.admin_site import _category
from accounts.models import AuditEvent
from reminders.models import Reminder, ReminderLink, ReminderRule

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["reminderrule", "reminder"])
def test_reminder_admin_pages_open_for_administrators_only(client_as, admin, frontdesk, model):
    url = reverse(f"admin:reminders_{model}_changelist")
    assert client_as(admin).get(url).status_code == 200
    assert client_as(frontdesk).get(url).status_code in (302, 403)


def test_the_seeded_default_rules_are_there_and_editable(client_as, admin, clinic):
    # The rules come from a data migration; an earlier transactional test may have flushed them.
    # It runs on the models as they were then (in the scheduling app; the same tables).
    state = MigrationLoader(connection).project_state(("scheduling", "0006_reminder_links"))
    import_module("scheduling.migrations.0005_default_reminder_rules").create(state.apps, None)
    rule = ReminderRule.objects.get(name="Instructions the evening before")
    page = client_as(admin).get(reverse("admin:reminders_reminderrule_change", args=[rule.pk]))
    assert page.status_code == 200
    assert ReminderRule.objects.filter(kind="appointment_reminder", hours_before__in=[72, 24]).count() == 2


def test_a_rule_text_naming_the_drug_is_refused_at_the_field(client_as, admin, clinic):
    response = client_as(admin).post(
        reverse("admin:reminders_reminderrule_add"),
        {
            "name": "Bad",
            "kind": "appointment_reminder",
            "appointment_types": [clinic.consultation.pk],
            "send_sms": "on",
            "offset_mode": "hours_before",
            "hours_before": 24,
            "quiet_start": "21:00",
            "quiet_end": "08:00",
            "subject": "Your appointment at {clinic}",
            "text": "Your ketamine session on {date}",
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert "must not name the treatment" in response.content.decode()
    assert not ReminderRule.objects.filter(name="Bad").exists()


@pytest.mark.parametrize("model", [ReminderRule, Reminder, ReminderLink])
def test_admin_changes_to_reminders_are_audited_as_scheduling_as_before_the_move(model):
    assert _category(model) == AuditEvent.Category.SCHEDULING
