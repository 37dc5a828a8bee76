"""Safety alerts: raised from answers, e-mailed without PHI, acknowledged with an action."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from assessments.models import InstrumentResponse
from followups import rules
from followups.models import AlertAction, SafetyAlert
from followups.services._common import AUDIT_CATEGORY, _require

ACKNOWLEDGE = "followups.acknowledge_safetyalert"


@transaction.atomic
def safety_check(*, response: InstrumentResponse, clinician=None) -> SafetyAlert | None:
    reason = rules.safety_alert_reason(response.instrument, band=response.band, flags=response.flags)
    if not reason:
        return None
    alert, created = SafetyAlert.objects.get_or_create(
        response=response,
        defaults={"patient": response.patient, "clinician": clinician, "reason": reason, "created_at": timezone.now()},
    )
    if created:
        audit.record(
            actor=None,
            action="followups.alert.raised",
            verb="create",
            category=AUDIT_CATEGORY,
            target=alert,
            patient=response.patient,
            changes={"reason": reason},
        )
        alert_id = alert.pk
        transaction.on_commit(lambda: _email_alert(alert_id))
    return alert


def _email_alert(alert_id: int) -> None:
    """E-mail the clinician (or, with none, everyone who may acknowledge it) with no PHI: only that an
    urgent alert waits on their home page."""
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail

    alert = SafetyAlert.objects.select_related("clinician").get(pk=alert_id)
    if alert.clinician is not None and alert.clinician.email:
        recipients = [alert.clinician.email]
    else:
        # Whoever may acknowledge it (a permission, never a group name: an administrator may tailor roles).
        users = (
            get_user_model()
            .objects.with_perm(
                ACKNOWLEDGE, include_superusers=False, backend="django.contrib.auth.backends.ModelBackend"
            )
            .exclude(email="")
        )
        recipients = sorted(set(users.values_list("email", flat=True)))
    if not recipients:
        return
    send_mail(
        subject="Urgent: a patient safety alert needs acknowledgement",
        message=(
            f"Safety alert #{alert.pk} is waiting for you. Sign in to Grace MindCare and open your home page "
            "to review it and record the action taken. (No patient details are sent by e-mail.)"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
        fail_silently=True,
    )


@transaction.atomic
def alert_acknowledge(*, alert: SafetyAlert, by, action: str, note: str = "") -> SafetyAlert:
    _require(by, ACKNOWLEDGE)
    locked = SafetyAlert.objects.select_for_update().get(pk=alert.pk)
    if locked.acknowledged_at is not None:
        raise ValidationError("This alert was already acknowledged.")
    if action not in AlertAction.values:
        raise ValidationError({"action": "Choose the action taken."})
    locked.acknowledged_at, locked.acknowledged_by = timezone.now(), by
    locked.action, locked.action_note = action, note.strip()[:500]
    locked.save(update_fields=["acknowledged_at", "acknowledged_by", "action", "action_note"])
    audit.record(
        actor=by,
        action="followups.alert.acknowledged",
        verb="update",
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"action": action},
    )
    return locked
