"""The Celery application: broker from CELERY_BROKER_URL, settings from Django."""

import os

from celery import Celery
from celery.signals import beat_init, before_task_publish

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grace_mindcare.settings")

app = Celery("grace_mindcare")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@beat_init.connect
def _stamp_beat_heartbeat(sender=None, **kwargs) -> None:
    """In the beat process only: each task beat sends stamps its heartbeat for /healthz."""
    from accounts import heartbeat  # lazy: Django's apps are loaded when beat starts, not when this module is

    before_task_publish.connect(heartbeat.stamp_beat, weak=False, dispatch_uid="grace_beat_heartbeat")
