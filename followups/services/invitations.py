"""Scheduled questionnaire invitations from each plan's measurement schedule."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from assessments.models import ResponseContext
from consultations.choices import LIVE_PLAN_STATUSES
from consultations.models import TreatmentPlan
from core import tokens
from core.audit import Verb
from core.site import site_url
from followups import rules
from followups.models import QuestionnaireLink
from followups.services._common import AUDIT_CATEGORY, policy_current
from followups.services.links import NewLink, link_send
from scheduling.models import ACTIVE_STATUSES, Appointment

MOMENT_FOR_TYPE = {"infusion": "pre_infusion", "booster": "pre_infusion", "follow_up": "follow_up"}


def invitations_send_due(*, now: datetime | None = None, hours_ahead: int = 24, limit: int = 200) -> int:
    """Create and send a questionnaire link for each upcoming infusion, booster or follow-up
    whose patient's live plan schedules patient-reported instruments for that moment
    ("pre_infusion" or "follow_up"), once per appointment. The link expires at the visit
    (or the policy's expiry, if sooner). Returns the number of links created."""
    from django.db.models import Exists, OuterRef

    now = now or timezone.now()
    already = QuestionnaireLink.objects.filter(appointment=OuterRef("pk"))
    appointments = list(
        Appointment.objects.filter(
            appointment_type__code__in=list(MOMENT_FOR_TYPE),
            status__in=ACTIVE_STATUSES,
            start__gt=now,
            start__lte=now + timedelta(hours=hours_ahead),
        )
        .filter(~Exists(already))
        .select_related("patient", "appointment_type", "clinician")
        .order_by("start")[:limit]
    )
    plans = {
        p.patient_id: p
        for p in TreatmentPlan.objects.filter(
            patient_id__in={a.patient_id for a in appointments}, status__in=LIVE_PLAN_STATUSES
        ).select_related("created_by")
    }
    policy = policy_current()
    created = 0
    for appointment in appointments:
        plan = plans.get(appointment.patient_id)
        if plan is None:
            continue
        moment = MOMENT_FOR_TYPE[appointment.appointment_type.code]
        codes = [c for c in (plan.measurement_schedule or {}).get(moment, []) if c in rules.SELF_REPORT_CODES]
        if not codes:
            continue
        expires_at = min(appointment.start, now + timedelta(hours=policy.link_expiry_hours))
        token, token_hash = tokens.issue()
        try:
            with transaction.atomic():
                link = QuestionnaireLink.objects.create(
                    patient=appointment.patient,
                    instruments=codes,
                    context=ResponseContext.PRE_INFUSION if moment == "pre_infusion" else ResponseContext.FOLLOW_UP,
                    appointment=appointment,
                    clinician=appointment.clinician or plan.created_by,
                    token_sha256=token_hash,
                    created_by=None,
                    created_at=now,
                    expires_at=expires_at,
                )
        except IntegrityError:  # a concurrent run invited for this appointment first
            continue
        audit.record(
            actor=None,
            action="followups.link.created",
            verb=Verb.CREATE,
            category=AUDIT_CATEGORY,
            target=link,
            patient=appointment.patient,
            changes={"instruments": codes, "appointment": appointment.pk},
        )
        created += 1
        # No opted-in channel: the link stays unsent and the visit gives the questionnaire in clinic.
        with contextlib.suppress(ValidationError):
            link_send(new=NewLink(link, token), base_url=site_url(), by=None)
    return created
