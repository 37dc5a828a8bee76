"""A fresh demo shows tasks on each role's home and something to prepare for the next clinic day."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from reports.selectors.prepare import clinic_day_after, prepare_day
from staff_tasks.models import Task
from staff_tasks.selectors import home_tasks


@pytest.mark.django_db
def test_the_demo_has_tasks_for_every_role_and_a_day_to_prepare():
    call_command("seed_demo", patients=40, seed=5, allow_demo_accounts=True)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["frontdesk", "nurse", "clinician"])}
    now = timezone.now()
    nurse = home_tasks(user=users["nurse"], now=now, clinical=True)
    assert nurse["role_tasks"]
    assert nurse["my_tasks"]
    assert nurse["overdue_count"] >= 1
    assert home_tasks(user=users["clinician"], now=now, clinical=True)["my_tasks"]
    assert home_tasks(user=users["frontdesk"], now=now, clinical=False)["role_tasks"]
    assert set(Task.objects.values_list("status", flat=True)) == {"open", "done", "cancelled"}

    # Whichever weekday the suite runs on, one of the next clinic days has visits to prepare (a small
    # demo does not book every day; which days depends on the seed and on today's date).
    day, visits = timezone.localdate(), []
    for _ in range(7):
        day = clinic_day_after(day)
        visits = prepare_day(day=day)
        if visits:
            break
    assert visits
    assert any(not v.readiness.ready for v in visits)
