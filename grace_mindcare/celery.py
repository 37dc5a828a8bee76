"""The Celery application: broker from CELERY_BROKER_URL, settings from Django."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grace_mindcare.settings")

app = Celery("grace_mindcare")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
