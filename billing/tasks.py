"""Thin Celery task: card payments and refunds the provider has not settled, asked about again.
Beat entry in settings (``billing-reconcile-pending``, every five minutes)."""

from __future__ import annotations

from celery import shared_task

from billing import settlement


@shared_task(name="billing.reconcile_pending", acks_late=True, soft_time_limit=240, time_limit=300, max_retries=0)
def reconcile_pending() -> dict[str, int]:
    # Each row is claimed under its own lock and a settled row is final, so two runs never settle one twice.
    return settlement.pending_reconcile()
