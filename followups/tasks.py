"""Thin Celery tasks (STYLE 11): the service does the work and is idempotent (one link per
appointment, checked in the same query that picks the appointments)."""

from __future__ import annotations

from celery import shared_task

from followups import services


@shared_task(name="followups.invitations.send_due", acks_late=True, soft_time_limit=240, time_limit=300)
def send_due_questionnaire_invitations() -> int:
    return services.invitations_send_due()


@shared_task(name="followups.alerts.escalate", acks_late=True, soft_time_limit=50, time_limit=60)
def escalate_safety_alerts() -> int:
    # Every minute: the service claims each step with a conditional update, so an overlap
    # with the previous run, or a second worker, e-mails nobody twice.
    return services.alerts_escalate_due()
