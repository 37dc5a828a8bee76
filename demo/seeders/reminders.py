"""Reminders already sent for the last weeks' visits (synthetic), so the reminders report and a
patient's history show what a running clinic's do: most sent on time, a few failed by the
provider, on the channels each patient agreed to. The next four weeks' reminders are pending
(the scheduling seeder makes them; the dispatcher sends them under ``make run``)."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.apps import apps as django_apps
from django.utils import timezone

from demo.context import SeedContext
from reminders import rules
from reminders.models import Channel, Reminder, ReminderRule
from reminders.services.sync import idempotency_key
from scheduling.models import Appointment

HISTORY_DAYS = 42
FAILURE_RATE = 0.04  # a provider's occasional refusal (an unreachable number, a full mailbox)
BATCH = 2000


class _MigrationApps:
    """The model registry as the default-rules migration saw it: ReminderRule was first
    declared in scheduling and now lives in reminders."""

    def get_model(self, app_label: str, model_name: str):
        return django_apps.get_model("reminders" if model_name == "ReminderRule" else app_label, model_name)


def seed(ctx: SeedContext) -> None:
    if not ReminderRule.objects.exists():  # a test database flushed between tests
        import_module("scheduling.migrations.0005_default_reminder_rules").create(_MigrationApps(), None)
    now = timezone.now()
    all_rules = list(ReminderRule.objects.filter(active=True).prefetch_related("appointment_types"))
    types_of = {r.pk: {t.pk for t in r.appointment_types.all()} for r in all_rules}
    visits = (
        Appointment.objects.filter(start__lt=now, start__gte=now - timedelta(days=HISTORY_DAYS))
        .exclude(status="entered_in_error")
        .select_related("location", "patient")
        .order_by("start", "id")
    )
    rows = []
    for visit in visits.iterator(chunk_size=BATCH):
        patient = visit.patient
        agreed: dict[str, bool] = {Channel.SMS: patient.sms_opt_in, Channel.EMAIL: patient.email_opt_in}
        for rule in all_rules:
            if visit.appointment_type_id not in types_of[rule.pk] or rule.location_id not in (None, visit.location_id):
                continue
            due = rules.scheduled_at(
                start=visit.start,
                tz_name=visit.location.time_zone,
                offset=rules.Offset(mode=rule.offset_mode, hours_before=rule.hours_before, local_time=rule.local_time),
                quiet=rules.QuietHours(rule.quiet_start, rule.quiet_end),
            )
            if due >= now:
                continue
            for channel in rule.channels:
                if not agreed[channel]:
                    continue
                failed = ctx.rng.random() < FAILURE_RATE
                rows.append(
                    Reminder(
                        appointment_id=visit.pk,
                        rule_id=rule.pk,
                        kind=rule.kind,
                        channel=channel,
                        idempotency_key=idempotency_key(visit.pk, rule.pk, channel, visit.start),
                        appointment_start=visit.start,
                        due_at=due,
                        status=Reminder.Status.FAILED if failed else Reminder.Status.SENT,
                        attempts=3 if failed else 1,
                        claimed_at=due,
                        sent_at=None if failed else due + timedelta(seconds=ctx.rng.randint(2, 40)),
                        provider_message_id="" if failed else f"demo-{visit.pk}-{rule.pk}-{channel}",
                        last_error="Provider refused the recipient (HTTP 400)" if failed else "",
                    )
                )
    Reminder.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    ctx.counts["reminders sent"] = sum(1 for r in rows if r.status == Reminder.Status.SENT)
