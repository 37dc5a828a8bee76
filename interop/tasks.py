"""Thin Celery task: an export id in, the export service builds its files."""

from __future__ import annotations

from celery import shared_task

from interop import export_services


# A whole population runs for minutes: a generous limit, and no retry of a failure (the export
# says "failed"; the client asks again).
@shared_task(name="interop.export", acks_late=True, soft_time_limit=3600, time_limit=3700, max_retries=0)
def build_export(export_id: str) -> str:
    # Idempotent: an export already claimed by a worker is returned untouched.
    export = export_services.export_run(export_id=export_id)
    return export.status if export is not None else "missing"
