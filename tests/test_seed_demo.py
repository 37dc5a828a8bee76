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
