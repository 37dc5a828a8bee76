"""Tasks between staff: leaving one, seeing it on the right home, closing it, and what the
front desk may read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, InternalError, ProgrammingError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from patients.tests.factories import PatientFactory
from staff_tasks import services
from staff_tasks.models import Task
from staff_tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

SECRET = "BP 182/110 at the last visit; ask about the new SSRI."


def _in(hours: float):
    return timezone.now() + timedelta(hours=hours)


def _wall(hours: float) -> str:
    return timezone.localtime(_in(hours)).strftime("%Y-%m-%dT%H:%M")


def test_the_desk_leaves_a_callback_for_the_nurses_audited_and_in_history(frontdesk, patient):
    task = services.task_create(
        by=frontdesk,
        kind=Task.Kind.CALLBACK,
        summary="Patient asks for a call about tomorrow's time",
        due_at=_in(3),
        assignee_role=Role.NURSE,
        patient=patient,
    )
    assert task.status == Task.Status.OPEN
    event = AuditEvent.objects.get(action="staff_tasks.task.created")
    assert (event.actor, event.patient_id, event.object_id) == (frontdesk, patient.pk, str(task.pk))
    assert Task.pgh_event_model.objects.filter(pgh_obj_id=task.pk).count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "surgery"}, "kind"),
        ({"summary": "   "}, "summary"),
        ({"assignee_role": ""}, "assignee"),
        ({"assignee_role": "janitor"}, "assignee"),
        ({"due_at": None}, "due_at"),
        ({"due_at": "past"}, "due_at"),
        ({"clinical_note": SECRET}, "clinical_note"),  # the desk writes no clinical note
    ],
)
def test_the_service_refuses_bad_input_at_the_field(frontdesk, changes, field):
    arguments = {
        "kind": Task.Kind.CALLBACK,
        "summary": "Call back",
        "due_at": _in(2),
        "assignee_role": Role.NURSE,
        **changes,
    }
    if arguments["due_at"] == "past":
        arguments["due_at"] = _in(-2)
    with pytest.raises(ValidationError) as caught:
        services.task_create(by=frontdesk, **arguments)
    assert field in caught.value.message_dict


def test_an_account_in_no_role_cannot_leave_a_task(outsider):
    with pytest.raises(PermissionDenied):
        services.task_create(by=outsider, kind="other", summary="x", due_at=_in(1), assignee_role=Role.NURSE)


def test_a_task_is_never_deleted_and_stays_as_it_was_closed(nurse):
    task = TaskFactory()
    services.task_complete(task=task, by=nurse)
    with pytest.raises((IntegrityError, InternalError, ProgrammingError)), transaction.atomic():
        Task.objects.filter(pk=task.pk).delete()
    with pytest.raises((IntegrityError, InternalError, ProgrammingError)), transaction.atomic():
        Task.objects.filter(pk=task.pk).update(summary="rewritten")
    task.refresh_from_db()
    assert (task.status, task.closed_by) == (Task.Status.DONE, nurse)
    with pytest.raises(ValidationError, match="already done"):
        services.task_cancel(task=task, by=nurse, reason="duplicate")


def test_only_the_assignee_their_role_or_the_asker_closes_a_task(frontdesk, nurse, clinician):
    task = TaskFactory(assignee_role=Role.NURSE, created_by=frontdesk)
    with pytest.raises(PermissionDenied):
        services.task_complete(task=task, by=clinician)  # a prescriber is not in the Nurse role
    services.task_cancel(task=task, by=frontdesk, reason="Patient rang again and it is sorted")
    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED
    assert task.cancel_reason == "Patient rang again and it is sorted"


# --- Pages ------------------------------------------------------------------------


def test_the_nurse_sees_the_desks_task_on_her_home_and_closes_it_with_htmx(client_as, frontdesk, nurse, patient):
    task = TaskFactory(patient=patient, created_by=frontdesk, due_at=_in(-1))  # overdue
    client = client_as(nurse)
    panel = client.get(reverse("staff_tasks:home-panel")).content.decode()
    assert task.summary in panel
    assert "Overdue" in panel
    assert patient.display_name in panel
    response = client.post(reverse("staff_tasks:done", args=[task.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Done" in response.content.decode()
    assert "Mark done" not in response.content.decode()
    task.refresh_from_db()
    assert (task.status, task.closed_by) == (Task.Status.DONE, nurse)
    assert task.summary not in client.get(reverse("staff_tasks:home-panel")).content.decode()


def test_cancelling_without_a_reason_is_answered_at_the_field(client_as, nurse):
    task = TaskFactory()
    client = client_as(nurse)
    url = reverse("staff_tasks:cancel", args=[task.pk])
    response = client.post(url, {"reason": ""}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Say why the task is cancelled." in body
    assert 'aria-invalid="true"' in body
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN
    client.post(url, {"reason": "Booked by phone instead"}, HTTP_HX_REQUEST="true")
    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED


def test_the_desk_cannot_close_a_task_that_is_not_theirs(client_as, frontdesk):
    task = TaskFactory(created_by=UserFactory(role=Role.NURSE), assignee_role=Role.PRESCRIBER)
    assert client_as(frontdesk).post(reverse("staff_tasks:done", args=[task.pk])).status_code == 403


def test_the_front_desk_never_sees_a_clinical_note(client_as, frontdesk, nurse, clinician, patient):
    """A nurse's request to the prescriber carries a clinical note; the desk that is asked to
    book the patient sees what to do, never the note, on its home, the list or the chart."""
    services.task_create(
        by=nurse,
        kind=Task.Kind.PRESCRIBER_REQUEST,
        summary="Review before the next infusion",
        due_at=_in(4),
        assignee=clinician,
        patient=patient,
        clinical_note=SECRET,
    )
    desk_task = services.task_create(
        by=nurse,
        kind=Task.Kind.FORM_TO_CHASE,
        summary="Ask the patient to bring the signed consent form",
        due_at=_in(4),
        assignee_role=Role.FRONT_DESK,
        patient=patient,
        clinical_note=SECRET,
    )
    pages = [reverse("staff_tasks:home-panel"), reverse("staff_tasks:list")]
    pages.append(reverse("staff_tasks:patient-panel", args=[patient.pk]))
    desk = client_as(frontdesk)
    for url in pages:
        body = desk.get(url).content.decode()
        assert SECRET not in body, url
    assert desk_task.summary in desk.get(reverse("staff_tasks:home-panel")).content.decode()
    assert "Review before the next infusion" in desk.get(pages[2]).content.decode()
    assert "clinical_note" not in desk.get(reverse("staff_tasks:patient-new", args=[patient.pk])).content.decode()
    for who in (nurse, clinician):
        assert SECRET in client_as(who).get(pages[2]).content.decode()


def test_the_new_task_form_answers_each_field_and_keeps_what_was_typed(client_as, nurse):
    client = client_as(nurse)
    url = reverse("staff_tasks:new")
    response = client.post(url, {"kind": "", "assignee": "", "summary": "Ring Mrs Example", "due_at": "tomorrow"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Ring Mrs Example" in body
    assert 'value="tomorrow"' in body
    assert "Enter a date and time" in body
    assert body.count("This field is required.") == 2
    response = client.post(
        url,
        {
            "kind": "callback",
            "assignee": "role:front_desk",
            "summary": "Ring Mrs Example",
            "due_at": _wall(-3),
            "mrn": "NO-SUCH",
        },
    )
    body = response.content.decode()
    assert "in the past" in body
    assert "No patient has that MRN." in body
    assert not Task.objects.exists()


def test_a_task_left_from_the_chart_names_its_patient(client_as, nurse, patient):
    client = client_as(nurse)
    url = reverse("staff_tasks:patient-new", args=[patient.pk])
    response = client.post(
        url,
        {
            "kind": "prescriber_request",
            "assignee": "role:prescriber",
            "summary": "Sign the standing order",
            "due_at": _wall(5),
            "clinical_note": "Dose change discussed",
        },
    )
    assert response.status_code == 302
    task = Task.objects.get()
    assert (task.patient, task.assignee_role, task.clinical_note) == (patient, "prescriber", "Dose change discussed")


def test_a_task_left_from_the_home_finds_its_patient_by_mrn(client_as, frontdesk, nurse, patient):
    response = client_as(frontdesk).post(
        reverse("staff_tasks:new"),
        {
            "kind": "callback",
            "assignee": f"user:{nurse.pk}",
            "summary": "Call back",
            "due_at": _wall(1),
            "mrn": patient.mrn.lower(),
        },
    )
    assert response.status_code == 302
    assert Task.objects.get().patient == patient


def test_a_desk_of_one_site_is_not_told_whether_another_sites_mrn_exists(client_as, frontdesk, nurse, scope_to):
    from scheduling.models import PatientLocation
    from scheduling.tests.factories import LocationFactory

    here, there = LocationFactory(name="Here"), LocationFactory(name="There")
    elsewhere = PatientFactory()
    PatientLocation.objects.create(patient=elsewhere, location=there)
    scope_to(frontdesk, here)
    answers = []
    for mrn in (elsewhere.mrn, "NO-SUCH"):
        response = client_as(frontdesk).post(
            reverse("staff_tasks:new"),
            {"kind": "callback", "assignee": f"user:{nurse.pk}", "summary": "Call", "due_at": _wall(1), "mrn": mrn},
        )
        answers.append((response.status_code, "No patient has that MRN." in response.content.decode()))
    assert answers == [(400, True), (400, True)]
    assert not Task.objects.exists()


@pytest.mark.parametrize("count", [5, 50])
def test_the_home_panel_costs_the_same_queries_however_many_tasks(
    client_as, nurse, frontdesk, django_assert_max_num_queries, count
):
    for n in range(count):
        TaskFactory(patient=PatientFactory(), created_by=frontdesk, due_at=_in(n - 2))
        TaskFactory(assignee=nurse, assignee_role="", created_by=frontdesk)
    client = client_as(nurse)
    client.get(reverse("staff_tasks:home-panel"))  # warm the session and permission caches
    with django_assert_max_num_queries(10):
        response = client.get(reverse("staff_tasks:home-panel"))
    assert response.status_code == 200
    with django_assert_max_num_queries(11):
        assert client.get(reverse("staff_tasks:list")).status_code == 200
