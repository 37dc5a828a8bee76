"""Thin Celery tasks (STYLE 11): the service does the work and is idempotent (one link per
appointment, checked in the same query that picks the appointments)."""

from __future__ import annotations

from celery import shared_task

from followups import services


@shared_task(name="followups.invitations.send_due", acks_late=True, soft_time_limit=240, time_limit=300)
def send_due_questionnaire_invitations() -> int:
    return services.invitations_send_due()
