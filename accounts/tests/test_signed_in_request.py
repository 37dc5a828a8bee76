"""What every signed-in request costs, and that keeping its role and permissions in the session
never outlives a change of them (ASVS 7.4.2, 8.3.2; security-reference A8, B1)."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import GROUP_NAMES, Role
from accounts.tests.factories import UserFactory

BASELINE = "accounts:password-change-done"


def _session_writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith(("UPDATE", "INSERT")) and "django_session" in q["sql"]]


@pytest.mark.django_db
def test_a_signed_in_page_reads_the_session_and_the_user_and_nothing_else(
    client, frontdesk, django_assert_max_num_queries
):
    """Before: session, user, groups, user permissions, group permissions, and BEGIN/UPDATE/COMMIT
    of the session on every request (nine round trips with the health check). Now two."""
    with time_machine.travel("2026-03-02 09:00 +0000", tick=False) as clock:
        client.force_login(frontdesk)
        assert client.get(reverse(BASELINE)).status_code == 200  # the session learns the role once
        clock.shift(timedelta(seconds=20))
        with django_assert_max_num_queries(2):
            response = client.get(reverse(BASELINE))
    assert response.status_code == 200
    assert "Patients" in response.content.decode()  # the navigation still follows the permissions


@pytest.mark.django_db
def test_the_session_is_written_only_when_its_activity_moved_a_minute(client, frontdesk):
    with time_machine.travel("2026-03-02 09:00 +0000", tick=False) as clock:
        client.force_login(frontdesk)
        client.get(reverse(BASELINE))
        clock.shift(timedelta(seconds=50))
        with CaptureQueriesContext(connection) as within:
            client.get(reverse(BASELINE))
        clock.shift(timedelta(seconds=11))
        with CaptureQueriesContext(connection) as after:
            client.get(reverse(BASELINE))
    assert _session_writes(within.captured_queries) == []
    assert len(_session_writes(after.captured_queries)) == 1


@pytest.mark.django_db
def test_the_idle_time_out_never_falls_after_the_configured_minutes(client, clinician, settings):
    """Activity is written once a minute, so the time-out counts from the last activity written:
    a person idle for the configured minutes after their last request is signed out, even when that
    request came within a minute of the one before (at most a minute early, never late)."""
    with time_machine.travel("2026-03-02 09:00 +0000", tick=False) as clock:
        client.force_login(clinician)
        assert client.get(reverse("home")).status_code == 200
        clock.shift(timedelta(seconds=40))
        assert client.get(reverse("home")).status_code == 200  # not written: within the minute
        clock.shift(timedelta(minutes=settings.SESSION_IDLE_MINUTES))
        response = client.get(reverse("home"))
    assert response.status_code == 302
    assert "expired=1" in response["Location"]


@pytest.mark.django_db
def test_a_deactivated_user_is_refused_at_the_next_request(client, frontdesk):
    client.force_login(frontdesk)
    assert client.get(reverse("patients:list")).status_code == 200
    frontdesk.is_active = False
    frontdesk.save(update_fields=["is_active"])
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.django_db
def test_a_role_taken_away_closes_its_pages_at_the_next_request(client):
    administrator = UserFactory(role=Role.ADMINISTRATOR)
    client.force_login(administrator)
    assert client.get(reverse("accounts:audit-report")).status_code == 200
    administrator.groups.clear()
    assert client.get(reverse("accounts:audit-report")).status_code == 403


@pytest.mark.django_db
def test_a_permission_taken_from_a_group_closes_its_pages_for_every_member_at_once(client):
    administrator = UserFactory(role=Role.ADMINISTRATOR)
    client.force_login(administrator)
    assert client.get(reverse("accounts:audit-report")).status_code == 200
    group = Group.objects.get(name=GROUP_NAMES[Role.ADMINISTRATOR])
    group.permissions.remove(Permission.objects.get(codename="view_auditevent", content_type__app_label="accounts"))
    assert client.get(reverse("accounts:audit-report")).status_code == 403


@pytest.mark.django_db
def test_a_permission_given_to_a_user_opens_its_page_at_the_next_request(client, frontdesk):
    client.force_login(frontdesk)
    assert client.get(reverse("accounts:audit-report")).status_code == 403
    frontdesk.user_permissions.add(
        Permission.objects.get(codename="view_auditevent", content_type__app_label="accounts")
    )
    assert client.get(reverse("accounts:audit-report")).status_code == 200


@pytest.mark.django_db
def test_a_user_added_to_a_group_from_the_group_side_gets_its_role_at_once(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("patients:list")).status_code == 403
    Group.objects.get(name=GROUP_NAMES[Role.FRONT_DESK]).user_set.add(outsider)
    assert client.get(reverse("patients:list")).status_code == 200
