"""Thin Celery task (STYLE 11): a document id in, the render service does the work."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_process_init

from core import pdf
from documents import services


@worker_process_init.connect
def _warm_weasyprint(**kwargs) -> None:
    # Import WeasyPrint and parse the print stylesheet at worker start (about 0.7 s), not per task.
    pdf.warm_up()


@shared_task(name="documents.render", acks_late=True, soft_time_limit=60, time_limit=90, max_retries=2)
def render_document(document_id: int) -> str:
    # Idempotent: an issued row is returned untouched, so a redelivered task does nothing.
    return services.document_render(document_id=document_id).status


# A long export (the audit trail's million rows) runs for minutes: a generous limit, and no retry
# of a failure (the row says "failed"; the user asks again).
@shared_task(name="documents.export", acks_late=True, soft_time_limit=1800, time_limit=1900, max_retries=0)
def write_export(document_id: int) -> str:
    # Idempotent: an export already written is returned untouched.
    return services.data_export_run(document_id=document_id).status
