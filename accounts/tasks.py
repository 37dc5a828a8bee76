"""Thin Celery tasks (STYLE 11)."""

from __future__ import annotations

from celery import shared_task

from accounts import audit, heartbeat, password_reset_mail
from core.tasks import TransactionAwareTask


@shared_task(
    base=TransactionAwareTask, name="accounts.password_reset.send", acks_late=True, soft_time_limit=50, time_limit=60
)
def send_password_reset(*, email: str, domain: str, use_https: bool) -> None:
    password_reset_mail.password_reset_send(email=email, domain=domain, use_https=use_https)


@shared_task(name="accounts.audit.anchor", acks_late=True, soft_time_limit=50, time_limit=60)
def anchor_audit_chains() -> None:
    audit.anchor_chains()


@shared_task(name="accounts.heartbeat.worker", acks_late=True, soft_time_limit=20, time_limit=30, expires=60)
def worker_heartbeat() -> None:
    heartbeat.stamp(heartbeat.WORKER)
