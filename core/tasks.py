"""A Celery task base that enqueues on commit (as pretix's ``TransactionAwareTask``).

A task declared with ``@shared_task(base=TransactionAwareTask)`` is sent to the broker only when the
surrounding database transaction commits, and never when it rolls back, so a worker never looks for a
row that is not there yet (or never will be). Outside a transaction it is sent at once. Because the
sending may wait, ``delay``/``apply_async`` return None instead of an AsyncResult (this project ignores
task results). Call sites write ``task.delay(...)``, never ``transaction.on_commit(lambda: ...)``."""

from __future__ import annotations

from functools import partial

from celery import Task
from django.db import transaction


class TransactionAwareTask(Task):
    abstract = True

    def apply_async(self, *args, **kwargs) -> None:
        transaction.on_commit(partial(super().apply_async, *args, **kwargs))
