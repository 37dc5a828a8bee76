"""Thin Celery task for the daily reconciliation (STYLE 11). Beat entry (settings):
``"ledger-reconcile": {"task": "controlled_substances.reconcile", "schedule": 86400.0}``."""

from __future__ import annotations

from celery import shared_task

from controlled_substances import services


@shared_task(name="controlled_substances.reconcile", acks_late=True, soft_time_limit=240, time_limit=300)
def reconcile() -> int:
    return len(services.reconciliation_run())
