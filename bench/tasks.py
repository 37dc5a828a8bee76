"""Tasks only the benchmark's own worker loads (``celery worker -I bench.tasks``)."""

from celery import shared_task


@shared_task(name="bench.noop", acks_late=True, ignore_result=True)
def noop(i: int) -> None:
    """The in-run reference for reminder dispatch: a task that does nothing, same broker and worker."""
    return None
