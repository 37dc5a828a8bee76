"""A chain of clinics: staff scoped to their locations see those locations' patients only; a
chart elsewhere opens only through break-glass, audited as every break-glass is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from conftest import BREAK_GLASS_PASSWORD
from inquiries.tests.factories import InquiryFactory
from patients.access import can_view_clinical, has_chart_perms
from patients.tests.factories import PatientFactory
from patients.tests.test_view_create import form_data
from scheduling.access import location_ids_for, patient_within
from scheduling.models import PatientLocation, WaitlistEntry
from scheduling.rules import AppointmentStatus
from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type

pytestmark = pytest.mark.django_db


@pytest.fixture
def north(db):
    return LocationFactory(name="North")


@pytest.fixture
def south(db):
    return LocationFactory(name="South")


@pytest.fixture
def northern(north):
    """A patient with care at North only."""
    patient = PatientFactory(legal_last_name="Northcott")
    AppointmentFactory(patient=patient, location=north)
    return patient


@pytest.fixture
def southern(south):
    patient = PatientFactory(legal_last_name="Southey")
    AppointmentFactory(patient=patient, location=south)
    return patient


def _sites(patient) -> set[str]:
    return set(PatientLocation.objects.filter(patient=patient).values_list("location__name", flat=True))


def test_a_patient_belongs_to_every_location_where_they_have_care(north, south):
    patient = PatientFactory()
    assert _sites(patient) == set()
    AppointmentFactory(patient=patient, location=north, status=AppointmentStatus.CANCELLED, cancel_reason="Ill")
    assert _sites(patient) == {"North"}  # any status: a cancelled visit was care there too
    WaitlistEntry.objects.create(
        patient=patient,
        appointment_type=appointment_type("consultation"),
        location=south,
        created_at="2026-01-05T12:00Z",
    )
    assert _sites(patient) == {"North", "South"}
    east = LocationFactory(name="East")
    InquiryFactory(patient=patient, linked_at=timezone.now(), preferred_location=east)
    assert _sites(patient) == {"North", "South", "East"}


def test_chain_wide_staff_see_every_location(frontdesk, north, northern, southern):
    assert location_ids_for(frontdesk) is None
    assert patient_within(frontdesk, northern.pk)
    assert patient_within(frontdesk, southern.pk)


def test_a_scoped_desk_lists_and_finds_only_its_locations_patients(
    client, frontdesk, scope_to, south, northern, southern
):
    client.force_login(scope_to(frontdesk, south))
    listed = client.get(reverse("patients:list")).context["page"].object_list
    assert [p.pk for p in listed] == [southern.pk]
    for query in ("Northcott", northern.mrn):
        assert client.get(reverse("patients:list"), {"q": query}).context["page"].paginator.count == 0
    assert client.get(reverse("patients:list"), {"q": "Southey"}).context["page"].paginator.count == 1
    found = client.get(reverse("scheduling:patient-search"), {"q": "Northcott"})
    assert "Northcott" not in found.content.decode()


def test_a_scoped_user_with_no_location_sees_no_patient(client, nurse, scope_to, northern):
    client.force_login(scope_to(nurse))
    assert client.get(reverse("patients:list")).context["page"].paginator.count == 0
    assert client.get(reverse("patients:detail", args=[northern.pk])).status_code == 403


@pytest.mark.parametrize("rows", [5, 60])
def test_a_scoped_list_costs_the_same_queries_however_many_patients(
    client, frontdesk, scope_to, south, django_assert_max_num_queries, rows
):
    for patient in PatientFactory.create_batch(rows):
        PatientLocation.objects.create(patient=patient, location=south)
    PatientFactory.create_batch(rows)  # elsewhere
    client.force_login(scope_to(frontdesk, south))
    # The chain-wide list's 11 and the user's locations (one statement): the scope is a semi-join
    # in the count and the page.
    with django_assert_max_num_queries(12):
        response = client.get(reverse("patients:list"))
    assert response.context["page"].paginator.count == rows


@pytest.mark.parametrize("who", ["frontdesk", "nurse", "clinician"])
def test_another_locations_chart_is_refused_and_says_nothing_of_the_patient(
    client, request, scope_to, south, northern, who
):
    user = scope_to(request.getfixturevalue(who), south)
    client.force_login(user)
    response = client.get(reverse("patients:detail", args=[northern.pk]))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Northcott" not in page
    assert northern.mrn not in page
    assert "Emergency access to this chart" in page
    assert not has_chart_perms(user, "patients.view_patient", patient_id=northern.pk)
    assert not can_view_clinical(user, patient_id=northern.pk)
    for name in ("patients:edit", "patients:contacts", "scheduling:patient-panel"):
        assert client.get(reverse(name, args=[northern.pk])).status_code == 403, name
    appointment = northern.appointments.get()
    assert client.get(reverse("scheduling:appointment-detail", args=[appointment.pk])).status_code == 403
    # A missing id answers the same as another location's chart: ids cannot be probed.
    assert client.get(reverse("patients:detail", args=[2_000_000_000])).status_code == 403


def test_an_in_location_chart_opens_for_a_scoped_nurse(client, nurse, scope_to, north, northern):
    client.force_login(scope_to(nurse, north))
    assert client.get(reverse("patients:detail", args=[northern.pk])).status_code == 200
    assert can_view_clinical(nurse, patient_id=northern.pk)
    # Nothing to break into where the role already reads the clinical record.
    response = client.post(
        reverse("patients:emergency-access", args=[northern.pk]), {"reason": "x" * 20, "password": "x"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("who", ["frontdesk", "nurse"])
def test_break_glass_opens_another_locations_chart_read_only_and_audited(
    client, request, settings, mailoutbox, django_capture_on_commit_callbacks, scope_to, south, northern, who
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    UserFactory(username="admin.alerts", role=Role.ADMINISTRATOR, email="admin@grace-mindcare.invalid")
    user = scope_to(request.getfixturevalue(who), south)
    user.set_password(BREAK_GLASS_PASSWORD)
    user.save(update_fields=["password"])
    client.force_login(user)
    url = reverse("patients:emergency-access", args=[northern.pk])
    refused = client.post(url, {"reason": "Collapsed at our site", "password": "wrong"})
    assert refused.status_code == 200
    assert "Northcott" not in refused.content.decode()
    reason = "Collapsed at our site; paramedics ask for medications."
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": reason, "password": BREAK_GLASS_PASSWORD})
    assert response.status_code == 302
    chart = client.get(reverse("patients:detail", args=[northern.pk]))
    assert chart.status_code == 200
    assert "Northcott" in chart.content.decode()
    assert chart.context["show_clinical"]
    assert chart.context["contact_form"] is None  # reading, never writing
    assert client.get(reverse("patients:edit", args=[northern.pk])).status_code == 403
    event = AuditEvent.objects.get(action="accounts.emergency_access.started")
    assert (event.actor_id, event.patient_id, event.verb) == (user.pk, northern.pk, "break_glass")
    assert AuditEvent.objects.filter(patient_id=northern.pk, actor_id=user.pk, verb="read").exists()
    assert [m.subject.endswith("Emergency (break-glass) access to a chart") for m in mailoutbox] == [True]


def test_a_desk_finds_the_patient_it_registers_before_anything_is_booked(client, frontdesk, scope_to, south):
    client.force_login(scope_to(frontdesk, south))
    response = client.post(
        reverse("patients:create"),
        form_data(legal_first_name="Rhea", legal_last_name="Newcombe"),
    )
    assert response.status_code == 302, response.context["form"].errors
    assert client.get(reverse("patients:list"), {"q": "Newcombe"}).context["page"].paginator.count == 1
    registered = client.get(response["Location"])
    assert registered.status_code == 200
    assert _sites(registered.context["patient"]) == {"South"}


def test_an_administrator_assigns_a_location_in_the_django_admin(client, admin, nurse, north):
    nurse.chain_wide = False
    nurse.save(update_fields=["chain_wide"])
    client.force_login(admin)
    response = client.post(reverse("admin:scheduling_stafflocation_add"), {"user": nurse.pk, "location": north.pk})
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert location_ids_for(nurse) == {north.pk}
    event = AuditEvent.objects.get(action="scheduling.stafflocation.assigned")
    assert (event.verb, event.data_category, event.changes) == (
        "privilege_change",
        "security",
        {"location": [None, "North"]},
    )
    # The chain-wide flag sits with the account.
    page = client.get(reverse("admin:accounts_user_change", args=[nurse.pk])).content.decode()
    assert 'name="chain_wide"' in page


def test_the_staff_location_admin_is_for_those_who_manage_users(client, nurse):
    client.force_login(nurse)
    assert client.get(reverse("admin:scheduling_stafflocation_changelist")).status_code == 302  # to admin sign-in


def test_break_glass_outside_ones_locations_never_writes(client, settings, nurse, scope_to, south, northern):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = scope_to(nurse, south)  # a nurse's role writes notes and moves visits at her own site
    user.set_password(BREAK_GLASS_PASSWORD)
    user.save(update_fields=["password"])
    client.force_login(user)
    opened = client.post(
        reverse("patients:emergency-access", args=[northern.pk]),
        {"reason": "Collapsed at our site; paramedics ask for medications.", "password": BREAK_GLASS_PASSWORD},
    )
    assert opened.status_code == 302
    appointment = northern.appointments.get()
    assert client.get(reverse("scheduling:appointment-detail", args=[appointment.pk])).status_code == 200
    writes = [
        (reverse("patients:contacts", args=[northern.pk]), {"channel": "phone", "summary": "Called"}),
        (reverse("scheduling:appointment-status", args=[appointment.pk]), {"to_status": "checked_in"}),
        (reverse("staff_tasks:patient-new", args=[northern.pk]), {"title": "Call back"}),
    ]
    for url, data in writes:
        assert client.post(url, data).status_code == 403, url
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_the_desks_waitlist_and_the_clinicians_alerts_follow_their_locations(
    client, frontdesk, nurse, scope_to, north, south, northern, southern
):
    from followups.selectors import open_alerts
    from followups.tests.factories import alert_for

    for patient, site in ((northern, north), (southern, south)):
        WaitlistEntry.objects.create(
            patient=patient,
            appointment_type=appointment_type("consultation"),
            location=site,
            created_at=timezone.now(),
        )
        alert_for(patient=patient)
    client.force_login(scope_to(frontdesk, south))
    waiting = client.get(reverse("scheduling:online")).context["page"].object_list
    assert [e.patient_id for e in waiting] == [southern.pk]
    assert [a.patient_id for a in open_alerts(user=scope_to(nurse, south))] == [southern.pk]


def test_the_desks_inquiry_queue_shows_its_locations_and_those_naming_none(client, frontdesk, scope_to, north, south):
    ours = InquiryFactory(last_name="Southall", preferred_location=south)
    anyone = InquiryFactory(last_name="Nowhere", preferred_location=None)
    InquiryFactory(last_name="Northam", preferred_location=north)
    client.force_login(scope_to(frontdesk, south))
    queue = client.get(reverse("inquiries:queue")).context["page"].object_list
    assert {i.pk for i in queue} == {ours.pk, anyone.pk}
    panel = client.get(reverse("inquiries:home-panel"))
    assert panel.context["summary"].new == 2
    assert "Northam" not in panel.content.decode()


def test_the_desks_home_lists_only_its_locations_arrivals(client, frontdesk, scope_to, north, south):
    from datetime import timedelta

    soon = timezone.now() + timedelta(minutes=30)
    here, there = PatientFactory(legal_last_name="Southwick"), PatientFactory(legal_last_name="Northrop")
    AppointmentFactory(patient=here, location=south, start=soon, end=soon + timedelta(minutes=60))
    AppointmentFactory(patient=there, location=north, start=soon, end=soon + timedelta(minutes=60))
    client.force_login(scope_to(frontdesk, south))
    arrivals = client.get(reverse("home")).context["arrivals"] + client.get(reverse("home")).context["tomorrow"]
    assert [row.patient_id for row in arrivals] == [here.pk]


def test_another_locations_inquiry_is_refused_by_its_id_as_its_queue_leaves_it_out(
    client, frontdesk, admin, scope_to, north, south
):
    theirs = InquiryFactory(last_name="Northam", preferred_location=north)
    ours = InquiryFactory(last_name="Southall", preferred_location=south)
    anyone = InquiryFactory(last_name="Nowhere", preferred_location=None)
    client.force_login(scope_to(frontdesk, south))
    refused = client.get(reverse("inquiries:detail", args=[theirs.pk]))
    assert refused.status_code == 403
    assert "Northam" not in refused.content.decode()
    for name, data in (
        ("inquiries:contact", {"channel": "phone", "outcome": "no_answer"}),
        ("inquiries:status", {"status": "closed", "close_reason": "Not interested"}),
        ("inquiries:convert", {}),
        ("inquiries:link", {"mrn": "X"}),
    ):
        assert client.post(reverse(name, args=[theirs.pk]), data).status_code == 403, name
    theirs.refresh_from_db()
    assert (theirs.status, theirs.contacts.count()) == ("new", 0)
    for inquiry in (ours, anyone):
        assert client.get(reverse("inquiries:detail", args=[inquiry.pk])).status_code == 200
    # A missing id is still a 404 to a role that may work the queue.
    assert client.get(reverse("inquiries:detail", args=[2_000_000_000])).status_code == 404
    client.force_login(admin)  # chain-wide
    assert client.get(reverse("inquiries:detail", args=[theirs.pk])).status_code == 200


def _replied(appointment):
    """A reminder sent for ``appointment`` whose confirm link the patient used a moment ago."""
    from reminders.models import Reminder, ReminderLink
    from reminders.tests.conftest import make_rule

    now = timezone.now()
    rule = make_rule(types=[appointment.appointment_type], hours=24, email=False)
    reminder = Reminder.objects.create(
        appointment=appointment,
        rule=rule,
        kind=rule.kind,
        channel="sms",
        idempotency_key=f"scope-{appointment.pk}",
        appointment_start=appointment.start,
        due_at=now,
        status="sent",
        sent_at=now,
    )
    return ReminderLink.objects.create(
        reminder=reminder,
        appointment=appointment,
        appointment_start=appointment.start,
        token_hash=f"{appointment.pk:064d}",
        expires_at=appointment.start,
        used_at=now,
        action="confirm",
    )


def test_the_desks_reminder_replies_and_missing_forms_follow_its_locations(client, frontdesk, scope_to, north, south):
    soon = timezone.now() + timedelta(days=2)
    here, there = PatientFactory(legal_last_name="Southwick"), PatientFactory(legal_last_name="Northrop")
    intake = appointment_type("consultation")
    for patient, site in ((here, south), (there, north)):
        visit = AppointmentFactory(
            patient=patient, location=site, appointment_type=intake, start=soon, end=soon + timedelta(minutes=60)
        )
        _replied(visit)
    client.force_login(frontdesk)  # chain-wide: both
    home = client.get(reverse("home")).context
    assert {r.appointment.patient_id for r in home["link_replies"]} == {here.pk, there.pk}
    assert {r.appointment.patient_id for r in home["lacking_forms"]} == {here.pk, there.pk}
    client.force_login(scope_to(frontdesk, south))
    response = client.get(reverse("home"))
    assert [r.appointment.patient_id for r in response.context["link_replies"]] == [here.pk]
    assert [r.appointment.patient_id for r in response.context["lacking_forms"]] == [here.pk]
    assert "Northrop" not in response.content.decode()


def test_the_clinicians_consultation_panels_follow_their_locations(client, clinician, scope_to, north, south):
    from consultations.tests.factories import ConsultationFactory

    now = timezone.now()
    consultation_type = appointment_type("consultation")
    drafts = {}
    for hours_ago, name, site in ((0, "Southwick", south), (2, "Northrop", north)):
        start = now - timedelta(hours=hours_ago)  # the clinician sees one patient at a time
        visit = AppointmentFactory(
            patient=PatientFactory(legal_last_name=name),
            location=site,
            clinician=clinician,
            appointment_type=consultation_type,
            start=start,
            end=start + timedelta(minutes=60),
        )
        drafts[name] = ConsultationFactory(patient=visit.patient, appointment=visit, clinician=clinician)
    client.force_login(clinician)  # chain-wide: both
    home = client.get(reverse("home")).context
    assert {c.pk for c in home["drafts"]} == {d.pk for d in drafts.values()}
    assert len(home["todays_consultations"]) == 2
    client.force_login(scope_to(clinician, south))
    response = client.get(reverse("home"))
    assert [c.pk for c in response.context["drafts"]] == [drafts["Southwick"].pk]
    assert [a.patient_id for a, _ in response.context["todays_consultations"]] == [drafts["Southwick"].patient_id]
    assert [a.patient_id for a in response.context["todays_patients"]] == [drafts["Southwick"].patient_id]
    assert "Northrop" not in response.content.decode()
