"""The Django admin, audited in one place (ONC (d)(2), (d)(10)).

Two-factor devices have no admin pages at all (:data:`NOT_IN_ADMIN`). Every model page of the
admin goes through :meth:`AuditedAdminSite.admin_view`, so no
``ModelAdmin`` can forget it:

- a GET of a page that shows patient data (a model with a patient column) is an audited read;
- every change the admin itself logs (``LogEntry``: additions, changes, deletions, bulk deletions
  from the "delete selected" action) becomes an audit event in the same transaction, unless a
  service already audited that object during the request (policy and protocol edits call theirs);
- a change to a user's or a group's privileges (superuser, staff, active, groups, permissions) is
  a ``privilege_change`` event with the values before and after.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import wraps
from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model

from accounts import audit, context
from accounts.models import AuditEvent
from core.audit import Category

PATIENT_COLUMNS = frozenset({"patient", "patient_id", "patient_mrn"})
_VERBS = {ADDITION: AuditEvent.Verb.CREATE, CHANGE: AuditEvent.Verb.UPDATE, DELETION: AuditEvent.Verb.DELETE}
_PAST = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}


def shows_patient_data(model) -> bool:
    """A patient, or a row that names one (its pages show PHI)."""
    if model._meta.label == "patients.Patient":
        return True
    return any(f.name in PATIENT_COLUMNS or getattr(f, "attname", "") in PATIENT_COLUMNS for f in model._meta.fields)


def _category(model) -> Category:
    if model._meta.app_label == "accounts":
        return AuditEvent.Category.AUDIT if model is AuditEvent else AuditEvent.Category.SECURITY
    if model._meta.label in ("patients.Patient", "patients.ContactLogEntry"):
        return AuditEvent.Category.DEMOGRAPHICS
    if model._meta.app_label in ("scheduling", "reminders"):  # reminders: the calendar's messages
        return AuditEvent.Category.SCHEDULING
    if model._meta.app_label == "controlled_substances":
        return AuditEvent.Category.CONTROLLED_SUBSTANCE
    return AuditEvent.Category.CLINICAL if shows_patient_data(model) else AuditEvent.Category.CONFIGURATION


def _privileges(model, object_id: str | None) -> dict[str, Any] | None:
    """What a user or group may do, to compare before and after a POST to its admin page."""
    if object_id is None:
        return None
    if model is get_user_model():
        user = model.objects.filter(pk=unquote(object_id)).first()
        if user is None:
            return None
        return {
            "is_superuser": user.is_superuser,
            "is_staff": user.is_staff,
            "is_active": user.is_active,
            "groups": sorted(user.groups.values_list("name", flat=True)),
            "user_permissions": sorted(
                f"{app}.{code}"
                for app, code in user.user_permissions.values_list("content_type__app_label", "codename")
            ),
        }
    if model is Group:
        group = Group.objects.filter(pk=unquote(object_id)).first()
        if group is None:
            return None
        return {
            "permissions": sorted(
                f"{app}.{code}" for app, code in group.permissions.values_list("content_type__app_label", "codename")
            )
        }
    return None


def _record_read(request, model_admin, object_id: str | None) -> None:
    model = model_admin.model
    target = model_admin.get_object(request, unquote(object_id)) if object_id else None
    patient = None
    if target is not None:
        patient = target if model._meta.label == "patients.Patient" else getattr(target, "patient", None)
    audit.record(
        actor=request.user,
        action=f"admin.{model._meta.label_lower}.{'viewed' if object_id else 'listed'}",
        verb=AuditEvent.Verb.READ if object_id else AuditEvent.Verb.QUERY,
        category=_category(model),
        target=target,
        patient=patient,
        changes={} if object_id else {"filters": {k: v for k, v in request.GET.items()}},
    )


def _record_log_entries(request, since: int) -> None:
    ctx = context.current()
    entries = LogEntry.objects.filter(pk__gt=since, user_id=request.user.pk).select_related("content_type")
    for entry in entries.order_by("pk"):
        # django-stubs leaves LogEntry.content_type an untyped foreign key.
        model = cast(ContentType, entry.content_type).model_class() if entry.content_type_id else None
        label = model._meta.label if model is not None else ""
        if (
            ctx.request_id
            and AuditEvent.objects.filter(
                request_id=ctx.request_id, object_type=label, object_id=entry.object_id or ""
            ).exists()
        ):
            continue  # a service already wrote this object's audit event, with its values
        audit.record(
            actor=request.user,
            action=f"admin.{label.lower()}.{_PAST[entry.action_flag]}",
            verb=_VERBS[entry.action_flag],
            category=_category(model) if model is not None else AuditEvent.Category.CONFIGURATION,
            changes={
                "object_type": label,
                "object_id": entry.object_id or "",
                "object": entry.object_repr,
                "message": entry.get_change_message(),
            },
        )


def _record_privileges(request, model, object_id: str, before: dict[str, Any]) -> None:
    after = _privileges(model, object_id)
    if after is None or after == before:
        return
    changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    audit.record(
        actor=request.user,
        action=f"admin.{model._meta.label_lower}.privileges_changed",
        verb=AuditEvent.Verb.PRIVILEGE_CHANGE,
        category=AuditEvent.Category.SECURITY,
        changes={"object_type": model._meta.label, "object_id": str(unquote(object_id)), **changed},
    )


# django-otp's device pages show TOTP keys and recovery codes in clear and let an administrator
# plant a confirmed device with a key of their choosing for anyone (django-otp-webauthn's would let
# them rename or disable someone's passkeys). Devices are enrolled and reset only through the
# audited two-factor pages (accounts.two_factor, accounts.passkeys), so the site refuses them.
NOT_IN_ADMIN = frozenset(
    {
        "otp_totp.TOTPDevice",
        "otp_static.StaticDevice",
        "django_otp_webauthn.WebAuthnCredential",  # passkeys: added and removed by their owner only
        "django_otp_webauthn.WebAuthnAttestation",
    }
)


class AuditedAdminSite(admin.AdminSite):
    site_header = "Grace MindCare administration"

    def has_permission(self, request) -> bool:
        # Superusers only: administrators work in the product's own settings pages, whose forms
        # validate and audit every change; the raw admin is the maintainers' tool.
        return request.user.is_active and request.user.is_superuser

    def register(self, model_or_iterable: type[Model] | Iterable[type[Model]], admin_class=None, **options) -> None:
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else list(model_or_iterable)
        kept = [model for model in models if model._meta.label not in NOT_IN_ADMIN]
        if kept:
            super().register(kept, admin_class, **options)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)
        model_admin = getattr(view, "__self__", None)
        if not isinstance(model_admin, admin.ModelAdmin):
            return inner  # the index, sign-in and password pages: no model, no PHI

        @wraps(inner)
        def audited(request, *args, **kwargs):
            object_id = kwargs.get("object_id")
            model = model_admin.model
            if request.method != "POST":
                response = inner(request, *args, **kwargs)
                if response.status_code == 200 and request.user.is_authenticated and shows_patient_data(model):
                    _record_read(request, model_admin, object_id)
                return response
            # The change, the admin's log of it and our audit events commit together or not at all.
            with transaction.atomic():
                since = LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                before = _privileges(model, object_id)
                response = inner(request, *args, **kwargs)
                if request.user.is_authenticated:
                    _record_log_entries(request, since)
                    if before is not None and object_id is not None:  # a page without an object has no before
                        _record_privileges(request, model, object_id, before)
            return response

        return audited
