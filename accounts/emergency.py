"""Break-glass: time-boxed, read-only clinical access for a user whose role has none, in an
emergency (e.g. front desk reading medications and allergies for the paramedics).

- Invoking needs ``accounts.invoke_emergency_access``, a patient, a reason and the user's password
  typed again (step-up, ASVS 7.5.3; counted by the per-account password throttle,
  accounts.throttle); it is audited
  with the ``break_glass`` verb and administrators are e-mailed at once (no PHI in the mail).
- The grant is kept in that session only (other devices of the same user get nothing) and
  ends at ``EMERGENCY_ACCESS_MINUTES`` or when the user ends it. While it lasts,
  :class:`EmergencyAccessBackend` adds the clinician's *view* permissions, never a change,
  sign or ledger permission, and every audit event the user writes carries ``break_glass``.
- The grant opens one chart: the backend answers only object checks against a :class:`Chart` of
  the granted patient (``user.has_perm(perm, Chart(patient_id))``), never a plain
  ``has_perm(perm)``. So pages about several patients (worklists, reports, the board's clinical
  view) stay closed, and every access helper names the patient it opens
  (``patients.access.has_chart_perms``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.backends import BaseBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import audit, throttle
from accounts.models import AuditEvent, EmergencyAccess
from accounts.roles import ROLE_PERMISSIONS, Role
from core.site import site_url
from notifications.email import alert_administrators

INVOKE = "accounts.invoke_emergency_access"
SESSION_KEY = "emergency_access"
# Reading one chart, never writing: a nurse's view and download permissions (not reports).
GRANTED = frozenset(
    p
    for p in ROLE_PERMISSIONS[Role.NURSE]
    if p.split(".", 1)[1].startswith(("view_", "download_")) and not p.startswith("reports.")
)


@dataclass(frozen=True)
class Chart:
    """The object of a chart-scoped permission check: one patient's record."""

    patient_id: int


def active_until(user) -> datetime | None:
    """When this request's emergency access ends, or None (set by :func:`attach`)."""
    until = getattr(user, "emergency_until", None)
    return until if until is not None and until > timezone.now() else None


def attach(request) -> None:
    """Middleware step: carry a live grant from the session onto ``request.user``; drop an expired one."""
    grant = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if not grant or not request.user.is_authenticated:
        return
    until = datetime.fromisoformat(grant["until"])
    if until <= timezone.now() or grant.get("user") != request.user.pk or "patient" not in grant:
        del request.session[SESSION_KEY]
        return
    request.user.emergency_until = until
    request.user.emergency_patient_id = grant["patient"]


def granted_patient_id(user) -> int | None:
    """The patient whose chart this request's live grant opens, or None."""
    return getattr(user, "emergency_patient_id", None) if active_until(user) is not None else None


def covers(user, perm: str) -> bool:
    """Whether this request's live grant gives ``perm`` on its one chart (before the object is known)."""
    return granted_patient_id(user) is not None and perm in GRANTED


@transaction.atomic
def start(*, request, patient, reason: str, password: str) -> EmergencyAccess:
    user = request.user
    if not user.has_perm(INVOKE):
        raise PermissionDenied
    errors = {}
    reason = " ".join(reason.split())
    if len(reason) < 10:
        errors["reason"] = "Say what the emergency is (at least a few words)."
    try:
        if not throttle.check_password(user=user, password=password):
            errors["password"] = "That is not your password."  # noqa: S105 - a message, not a secret
    except throttle.TooManyPasswordAttempts as exc:
        errors["password"] = str(exc)
    if errors:
        raise ValidationError(errors)
    end(request=request)  # one chart at a time: a grant for another patient ends the current one
    now = timezone.now()
    grant = EmergencyAccess.objects.create(
        user=user,
        patient_id=patient.pk,
        patient_mrn=patient.mrn,
        reason=reason[:1000],
        started_at=now,
        expires_at=now + timedelta(minutes=settings.EMERGENCY_ACCESS_MINUTES),
    )
    audit.record(
        actor=user,
        action="accounts.emergency_access.started",
        verb=AuditEvent.Verb.BREAK_GLASS,
        category=AuditEvent.Category.SECURITY,
        target=grant,
        patient=patient,
        changes={"reason": grant.reason, "expires_at": grant.expires_at},
    )
    request.session[SESSION_KEY] = {
        "id": grant.pk,
        "user": user.pk,
        "patient": patient.pk,
        "until": grant.expires_at.isoformat(),
    }
    request.user.emergency_until = grant.expires_at
    request.user.emergency_patient_id = patient.pk
    transaction.on_commit(partial(_alert, grant))
    return grant


def end(*, request) -> None:
    grant = request.session.pop(SESSION_KEY, None)
    if not grant:
        return
    ended = EmergencyAccess.objects.filter(pk=grant["id"], ended_at=None).update(ended_at=timezone.now())
    request.user.emergency_until = None
    request.user.emergency_patient_id = None
    if ended:
        audit.record(
            actor=request.user,
            action="accounts.emergency_access.ended",
            verb=AuditEvent.Verb.BREAK_GLASS,
            category=AuditEvent.Category.SECURITY,
            changes={"emergency_access": grant["id"]},
        )


def _alert(grant: EmergencyAccess) -> None:
    link = f"{site_url()}{reverse('accounts:audit-report')}?action=accounts.emergency_access"
    alert_administrators(
        subject="Emergency (break-glass) access to a chart",
        body=(
            f"{grant.user.username} invoked emergency access at "
            f"{timezone.localtime(grant.started_at):%Y-%m-%d %H:%M} for "
            f"{settings.EMERGENCY_ACCESS_MINUTES} minutes. Review the reason and every page read "
            f"in the audit report: {link}\n\nThis message deliberately names no patient."
        ),
    )


class EmergencyAccessBackend(BaseBackend):
    """Adds :data:`GRANTED` on the granted patient's :class:`Chart` while the request carries a live
    grant (see :func:`attach`); nothing without an object, nothing on another chart."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or not isinstance(obj, Chart):
            return set()
        if granted_patient_id(user_obj) != obj.patient_id:
            return set()
        return set(GRANTED)

    def has_perm(self, user_obj, perm, obj=None):
        return perm in self.get_all_permissions(user_obj, obj)
