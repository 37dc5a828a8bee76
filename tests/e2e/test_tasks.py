"""Browser: the front desk leaves a call-back for a nurse from the patient's page; the nurse
finds it on her home and marks it done in place."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from patients.tests.factories import PatientFactory
from staff_tasks.models import Task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"


def _user(username, role, **kwargs):
    user = UserFactory(username=username, role=role, **kwargs)
    user.password = make_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def _sign_in(page, base, user):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_the_desk_leaves_a_callback_the_nurse_completes_from_her_home(live_server, browser, page):
    base = live_server.url
    desk = _user("desk.tasks", Role.FRONT_DESK, first_name="Fran", last_name="Desk")
    nurse = _user("nurse.tasks", Role.NURSE, first_name="Noor", last_name="Haddad", credentials="RN")
    patient = PatientFactory(legal_first_name="Cal", legal_last_name="Backley")
    due = timezone.localtime(timezone.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")

    # The desk, on the patient's page, leaves a call-back for the nurse.
    _sign_in(page, base, desk)
    page.goto(f"{base}/patients/{patient.pk}/")
    page.get_by_role("link", name="New task about this patient").click()
    page.wait_for_url("**/tasks/patient/**/new/")
    page.get_by_label("Kind").select_option(label="Call back")
    page.get_by_label("For").select_option(label=str(nurse))
    page.get_by_label("What to do").fill("Patient asks for a call about her appointment time")
    page.get_by_label("Due").fill(due)
    page.get_by_role("button", name="Save task").click()
    page.wait_for_url(f"**/patients/{patient.pk}/")
    page.get_by_text("Task saved.").wait_for()
    task = Task.objects.get()
    assert (task.kind, task.assignee, task.patient, task.created_by) == ("callback", nurse, patient, desk)

    # The nurse finds it under "My tasks" on her home and marks it done without leaving the page.
    nurse_page = browser.new_context().new_page()
    _sign_in(nurse_page, base, nurse)
    mine = nurse_page.locator("#my-tasks")
    row = mine.locator(f"#task-{task.pk}")
    row.get_by_text("Patient asks for a call about her appointment time").wait_for()
    assert "Backley, Cal" in row.inner_text()
    with nurse_page.expect_response(lambda r: r.url.endswith(f"/tasks/{task.pk}/done/")):
        row.get_by_role("button", name="Mark done").click()
    nurse_page.locator(f"#task-{task.pk}").get_by_text("Done", exact=False).wait_for()
    assert nurse_page.url == f"{base}/"
    task.refresh_from_db()
    assert (task.status, task.closed_by) == ("done", nurse)
