"""Safety alerts: raised from answers on every channel, e-mailed without PHI, escalated when
nobody acknowledges them, acknowledged with an action."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from assessments.models import InstrumentResponse
from core.audit import Verb
from followups import rules
from followups.models import AlertAction, SafetyAlert, SafetyAlertView
from followups.services._common import AUDIT_CATEGORY, _require, policy_current
from patients.access import has_chart_perms

ACKNOWLEDGE = "followups.acknowledge_safetyalert"
POLICY = "followups.manage_followup_policy"
ON_CALL = "followups.on_call_prescriber"


def on_response_recorded(response: InstrumentResponse, subject) -> None:
    """The ``assessments`` hook (registered in FollowupsConfig.ready): every stored response,
    on every channel, comes through here and nowhere else."""
    safety_check(response=response, clinician_id=_responsible_clinician_id(subject))


def _responsible_clinician_id(subject) -> int | None:
    """The clinician named by what the response was filed against: a consultation, visit or
    link names one; an infusion session through its appointment. None → every clinician."""
    if subject is None:
        return None
    if (clinician_id := getattr(subject, "clinician_id", None)) is not None:
        return clinician_id
    appointment = getattr(subject, "appointment", None)
    return getattr(appointment, "clinician_id", None)


def _thresholds(code: str) -> rules.SafetyThresholds:
    if code not in ("madrs", "qids_sr16"):
        return rules.SafetyThresholds()  # the other scales have sourced cut-offs
    policy = policy_current()
    return rules.SafetyThresholds(
        madrs_item10_min=policy.madrs_item10_alert_min, qids_item12_min=policy.qids_item12_alert_min
    )


@transaction.atomic
def safety_check(*, response: InstrumentResponse, clinician_id: int | None = None) -> SafetyAlert | None:
    """Raise the response's safety alert if its answers call for one; idempotent (one alert
    per response, by the one-to-one key)."""
    reason = rules.safety_alert_reason(
        response.instrument,
        band=response.band,
        flags=response.flags,
        answers=response.answers,
        thresholds=_thresholds(response.instrument),
    )
    if not reason:
        return None
    alert, created = SafetyAlert.objects.get_or_create(
        response=response,
        defaults={
            "patient_id": response.patient_id,
            "clinician_id": clinician_id,
            "reason": reason,
            "created_at": timezone.now(),
        },
    )
    if created:
        audit.record(
            actor=None,
            action="followups.alert.raised",
            verb=Verb.CREATE,
            category=AUDIT_CATEGORY,
            target=alert,
            patient=response.patient,
            changes={"reason": reason, "context": response.context},
        )
        transaction.on_commit(partial(_email_alert, alert.pk))
    return alert


def _email_alert(alert_id: int) -> None:
    """E-mail the clinician (or, with none, everyone who may acknowledge it) with no PHI: only that an
    urgent alert waits on their home page."""
    alert = SafetyAlert.objects.select_related("clinician").get(pk=alert_id)
    if alert.clinician is not None and alert.clinician.email:
        recipients = [alert.clinician.email]
    else:
        recipients = _emails(ACKNOWLEDGE)
    _send(alert, recipients, "Urgent: a patient safety alert needs acknowledgement")


def _emails(permission: str, *, exclude_id: int | None = None) -> list[str]:
    """Active users who hold ``permission`` (a permission, never a group name: an
    administrator may tailor roles), optionally without one of them."""
    users = (
        get_user_model()
        .objects.with_perm(permission, include_superusers=False, backend="django.contrib.auth.backends.ModelBackend")
        .exclude(email="")
    )
    if exclude_id is not None:
        users = users.exclude(pk=exclude_id)
    return sorted(set(users.values_list("email", flat=True)))


def _send(alert: SafetyAlert, recipients: list[str], subject: str) -> None:
    if not recipients:
        return
    send_mail(
        subject=subject,
        message=(
            f"Safety alert #{alert.pk} is waiting for acknowledgement. Sign in to Grace MindCare and open your "
            "home page to review it and record the action taken. (No patient details are sent by e-mail.)"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
        fail_silently=True,
    )


@transaction.atomic
def alerts_escalate_due(*, now: datetime | None = None) -> int:
    """Escalate every open alert nobody acknowledged in time: after the policy's minutes to
    the second clinician (:func:`escalation_recipients`), after twice that to the
    administrators as well (PHI-free e-mail).
    Each step is claimed by a conditional update, so a rerun or a second worker sends
    nothing twice. Returns how many alerts moved up a level."""
    now = now or timezone.now()
    after_minutes = policy_current().alert_escalate_after_minutes
    earliest = now - timedelta(minutes=after_minutes)
    moved = 0
    candidates = SafetyAlert.objects.filter(acknowledged_at=None, escalation_level__lt=2, created_at__lte=earliest)
    for alert in candidates.select_related("patient").order_by("created_at", "id"):
        step = rules.escalation_due(
            created_at=alert.created_at, now=now, level=alert.escalation_level, after_minutes=after_minutes
        )
        if not step.due:
            continue
        claimed = SafetyAlert.objects.filter(
            pk=alert.pk, acknowledged_at=None, escalation_level=alert.escalation_level
        ).update(escalation_level=step.level, escalated_at=now)
        if not claimed:
            continue
        moved += 1
        audit.record(
            actor=None,
            action="followups.alert.escalated",
            verb=Verb.UPDATE,
            category=AUDIT_CATEGORY,
            target=alert,
            patient=alert.patient,
            changes={
                "escalation_level": [alert.escalation_level, step.level],
                "to": [u.pk for u in escalation_recipients(alert, step.level)],
            },
        )
        transaction.on_commit(partial(_email_escalation, alert.pk, step.level))
    return moved


def escalation_recipients(alert: SafetyAlert, level: int) -> list:
    """Who an unacknowledged alert reaches at ``level`` (besides its own clinician).

    Level 1, the second clinician: the one the follow-up policy names; else whoever holds the
    on-call prescriber permission; else (nobody on call) every other user who may acknowledge
    alerts, so it never goes nowhere. Level 2 adds the administrators (who set the policy)."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    if alert.clinician_id is not None:
        users = users.exclude(pk=alert.clinician_id)
    named = policy_current().escalation_second_clinician_id
    second = list(users.filter(pk=named)) if named else []
    if not second:
        second = list(users.filter(pk__in=_holders(ON_CALL)))
    if not second:
        second = list(users.filter(pk__in=_holders(ACKNOWLEDGE)))
    found = {u.pk: u for u in second}
    if level >= 2:
        found.update({u.pk: u for u in users.filter(pk__in=_holders(POLICY))})
    return sorted(found.values(), key=lambda u: u.pk)


def _holders(permission: str):
    return (
        get_user_model()
        .objects.with_perm(permission, include_superusers=False, backend="django.contrib.auth.backends.ModelBackend")
        .values("pk")
    )


def _email_escalation(alert_id: int, level: int) -> None:
    alert = SafetyAlert.objects.get(pk=alert_id)
    recipients = sorted({u.email for u in escalation_recipients(alert, level)})
    _send(alert, recipients, "Escalated: a patient safety alert has not been acknowledged")


@transaction.atomic
def alert_seen(*, alert: SafetyAlert, by: User) -> bool:
    """Note that ``by`` opened the alert (first time only), so colleagues see who has looked.
    Asked of the alert's chart, so a break-glass grant on that patient counts too. True when this
    was the first look (and so already an audited read)."""
    if by is None or not has_chart_perms(by, "followups.view_safetyalert", patient_id=alert.patient_id):
        raise PermissionDenied
    _, created = SafetyAlertView.objects.get_or_create(alert=alert, user=by, defaults={"first_seen_at": timezone.now()})
    if created:
        audit.record(
            actor=by,
            action="followups.alert.seen",
            verb=Verb.READ,
            category=AUDIT_CATEGORY,
            target=alert,
            patient=alert.patient,
        )
    return created


@transaction.atomic
def alert_acknowledge(*, alert: SafetyAlert, by: User, action: str, note: str = "") -> SafetyAlert:
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
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"action": action},
    )
    return locked
