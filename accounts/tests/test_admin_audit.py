"""The Django admin is audited in one place (accounts.admin_site): reads of pages with patient
data, every change it logs, bulk deletions, and privilege changes with their values."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import GROUP_NAMES, Role
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _new_events(since: int):
    return list(AuditEvent.objects.filter(id__gt=since).order_by("id"))


def _last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_admin_pages_that_show_patient_data_are_audited_reads(client, admin, patient):
    client.force_login(admin)
    since = _last_id()
    assert client.get(reverse("admin:patients_patient_changelist")).status_code == 200
    assert client.get(reverse("admin:patients_patient_change", args=[patient.pk])).status_code == 200
    listed, viewed = _new_events(since)
    assert (listed.action, listed.verb) == ("admin.patients.patient.listed", "query")
    assert (viewed.action, viewed.verb, viewed.patient_id) == ("admin.patients.patient.viewed", "read", patient.pk)


def test_admin_pages_without_patient_data_write_no_read_event(client, admin):
    client.force_login(admin)
    since = _last_id()
    assert client.get(reverse("admin:controlled_substances_supplier_changelist")).status_code == 200
    assert _new_events(since) == []


def test_making_a_user_superuser_and_administrator_in_the_admin_is_an_audited_privilege_change(client, admin):
    colleague = UserFactory(username="colleague", role=Role.FRONT_DESK)
    administrators = Group.objects.get(name=GROUP_NAMES[Role.ADMINISTRATOR])
    front_desk = Group.objects.get(name=GROUP_NAMES[Role.FRONT_DESK])
    client.force_login(admin)
    since = _last_id()
    response = client.post(
        reverse("admin:accounts_user_change", args=[colleague.pk]),
        {
            "username": "colleague",
            "first_name": colleague.first_name,
            "last_name": colleague.last_name,
            "email": colleague.email,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [administrators.pk, front_desk.pk],
            "date_joined_0": "2026-01-05",
            "date_joined_1": "09:00:00",
            "display_name": "",
            "credentials": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    events = _new_events(since)
    privilege = next(e for e in events if e.verb == AuditEvent.Verb.PRIVILEGE_CHANGE)
    assert privilege.changes["is_superuser"] == [False, True]
    assert privilege.changes["is_staff"] == [False, True]
    assert privilege.changes["groups"] == [["Front desk"], sorted(["Administrator", "Front desk"])]
    assert privilege.data_category == "security"
    assert any(e.action == "admin.accounts.user.changed" for e in events)


def test_admin_bulk_delete_writes_one_audit_event_per_deleted_row(client, admin):
    groups = [Group.objects.create(name="Night shift"), Group.objects.create(name="Weekend cover")]
    client.force_login(admin)
    since = _last_id()
    response = client.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": [g.pk for g in groups], "post": "yes"},
    )
    assert response.status_code == 302
    deleted = [e for e in _new_events(since) if e.verb == AuditEvent.Verb.DELETE]
    assert sorted(e.changes["object_id"] for e in deleted) == sorted(str(g.pk) for g in groups)
    assert {e.action for e in deleted} == {"admin.auth.group.deleted"}


@pytest.mark.parametrize(
    "path", ["/admin/otp_totp/totpdevice/", "/admin/otp_static/staticdevice/", "/admin/otp_totp/totpdevice/add/"]
)
def test_the_admin_has_no_two_factor_device_pages_to_read_keys_or_plant_a_device(client, admin, path):
    client.force_login(admin)
    assert client.get(path).status_code == 404


def test_a_product_edit_in_the_admin_is_an_audit_event(client, admin):
    """A change to the ledger's product (its concentration drives every dose drawn from it)."""
    from controlled_substances.tests.factories import ProductFactory

    product = ProductFactory()
    client.force_login(admin)
    since = _last_id()
    response = client.post(
        reverse("admin:controlled_substances_product_change", args=[product.pk]),
        {
            "name": product.name,
            "ndc": product.ndc,
            "schedule": product.schedule,
            "form": product.form,
            "concentration_mg_per_ml": "100.000",
            "container_volume_ml": str(product.container_volume_ml),
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    (event,) = [e for e in _new_events(since) if e.verb == AuditEvent.Verb.UPDATE]
    assert event.action == "admin.controlled_substances.product.changed"
    assert event.actor_id == admin.pk
    assert event.changes["object_id"] == str(product.pk)
    assert "Concentration" in event.changes["message"]


def _admin_models_with_patient_data():
    from django.contrib import admin as django_admin

    from accounts.admin_site import shows_patient_data

    return sorted(m._meta.label for m in django_admin.site._registry if shows_patient_data(m))


def test_the_admin_models_named_as_unaudited_are_classified_as_showing_patient_data():
    assert {
        "patients.Patient",
        "patients.ContactLogEntry",
        "consultations.Consultation",
        "assessments.InstrumentResponse",  # questionnaire responses
        "scheduling.Appointment",
    } <= set(_admin_models_with_patient_data())


@pytest.mark.parametrize("label", _admin_models_with_patient_data())
def test_every_admin_list_that_shows_patient_data_writes_one_audit_event(client, admin, label):
    from django.apps import apps

    meta = apps.get_model(label)._meta
    client.force_login(admin)
    since = _last_id()
    assert client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")).status_code == 200
    (event,) = _new_events(since)
    assert (event.action, event.verb) == (f"admin.{meta.label_lower}.listed", "query")
