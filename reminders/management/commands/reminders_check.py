"""``manage.py reminders_check``: alert administrators (once) about overdue unsent reminders.

For a cron job or monitor that runs outside Celery: the dispatcher task does the same check every
minute, but it cannot when beat or the worker is down. Exit status 1 when reminders are overdue.
"""

from django.core.management.base import BaseCommand

from reminders import selectors
from reminders.services import alerting


class Command(BaseCommand):
    help = "Alert administrators (once per reminder) about reminders still unsent well past their due time."

    def handle(self, *args, **options):
        alerted = alerting.reminders_overdue_check()
        overdue = selectors.overdue_unsent_count()
        self.stdout.write(f"overdue unsent reminders: {overdue} (newly alerted: {alerted})")
        if overdue:
            raise SystemExit(1)
