import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import F

from accounts.roles import Role, role_of
from patients.models import Patient


def _names():
    return list(Patient.objects.order_by("id").values_list("legal_last_name", "legal_first_name", "date_of_birth"))


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_patients():
    with transaction.atomic():
        call_command("seed_demo", patients=30, seed=7, allow_demo_accounts=True)
        first = _names()
        transaction.set_rollback(True)  # back to an empty database, as on a fresh install
    call_command("seed_demo", patients=30, seed=7, allow_demo_accounts=True)
    assert _names() == first
    assert len(first) == 30


@pytest.mark.django_db
def test_it_refuses_a_database_that_already_has_patients(patient):
    with pytest.raises(CommandError, match="already has patients"):
        call_command("seed_demo", patients=5)
    call_command("seed_demo", patients=5, if_empty=True)  # make run's form: a quiet no-op
    assert Patient.objects.count() == 1


@pytest.mark.django_db
def test_demo_accounts_exist_only_when_allowed(settings):
    settings.DEBUG = False
    call_command("seed_demo", patients=3)
    demo = ["frontdesk", "nurse", "clinician", "admin"]
    assert not get_user_model().objects.filter(username__in=demo).exists()
    call_command("seed_demo", patients=3, force=True, allow_demo_accounts=True)
    users = get_user_model().objects.filter(username__in=demo)
    assert users.count() == 4
    assert all(u.check_password("grace-demo") for u in users)
    assert users.get(username="admin").is_superuser
    assert {u.username: role_of(u) for u in users} == {
        "frontdesk": Role.FRONT_DESK,
        "nurse": Role.NURSE,
        "clinician": Role.PRESCRIBER,
        "admin": Role.ADMINISTRATOR,
    }


@pytest.mark.django_db
def test_every_demo_infusion_session_runs_under_a_signed_order_version_of_its_plan():
    from infusions.models import DoseCalculation, InfusionSession

    call_command("seed_demo", patients=40, seed=3, allow_demo_accounts=True)
    sessions = InfusionSession.objects.select_related("order")
    assert sessions.exists()
    assert not sessions.filter(order__isnull=True).exists()
    for session in sessions:
        assert session.order.plan_id == session.plan_id
        assert session.order.signed_by_id is not None
        assert session.order.signed_at is not None
    # Each calculation rests on the same version as its session.
    assert not DoseCalculation.objects.exclude(order_id=F("session__order_id")).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("local_time", ["09:50", "11:05", "15:45"])
def test_a_demo_started_while_the_clinic_is_open_has_an_infusion_running_and_reminders_already_sent(local_time):
    """Whatever the time of day against the booking grid (mid-block, in the gap between blocks)."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    import time_machine

    from infusions.models import InfusionSession
    from reminders.models import Reminder

    hour, minute = map(int, local_time.split(":"))
    # A Tuesday with no holiday near it; the demo's sites are in New York.
    at = datetime.combine(datetime(2026, 3, 10).date(), time(hour, minute), tzinfo=ZoneInfo("America/New_York"))
    with time_machine.travel(at, tick=False):
        call_command("seed_demo", patients=80, seed=2026, allow_demo_accounts=True)
    running = InfusionSession.objects.filter(status="infusing")
    assert running.exists()
    for session in running.select_related("plan"):
        assert session.started_at <= at < session.started_at + timedelta(minutes=session.plan.infusion_minutes)
    sent = Reminder.objects.filter(status="sent")
    assert sent.exists()
    assert not sent.filter(sent_at__gte=at).exists()
    assert not sent.filter(appointment__start__gte=at).exists()


@pytest.mark.django_db
def test_the_medical_director_has_a_policy_change_to_decide_in_the_demo():
    from prescribers.models import PolicyChange

    call_command("seed_demo", patients=5, seed=1, allow_demo_accounts=True)
    change = PolicyChange.objects.get()
    assert change.status == PolicyChange.Status.PENDING
    assert change.proposed_by.username == "admin"
    call_command("seed_demo", patients=5, seed=1, if_empty=True)  # make run again: nothing added
    assert PolicyChange.objects.count() == 1
