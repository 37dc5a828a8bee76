"""Recovery and discharge: scores through ``assessments``, discharge details, and the
computed readiness that moves the session to and from discharge-ready."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from assessments.services import response_record
from core.audit import Verb
from infusions import rules
from infusions.models import InfusionSession
from infusions.selectors import recovery as recovery_selectors
from infusions.services._common import AUDIT_CATEGORY, lock, require, require_unsigned
from infusions.services.lifecycle import CHANGE, session_transition

S = rules.SessionStatus
RECOVERY_STATUSES = (S.COMPLETED, S.STOPPED_EARLY, S.RECOVERING, S.DISCHARGE_READY)
PRE_INSTRUMENTS = ("phq9", "cssrs_screen")


@transaction.atomic
def readiness_refresh(*, session: InfusionSession, by: User, at: datetime | None = None) -> InfusionSession:
    """Recompute readiness: recovering → discharge-ready when every criterion is met, and
    back to recovering when one no longer is. Never set by hand."""
    at = at or timezone.now()
    session = InfusionSession.objects.select_related("patient", "pre_check", "plan__protocol", "appointment").get(
        pk=session.pk
    )
    readiness = recovery_selectors.readiness(session, at=at)
    if session.status == S.RECOVERING and readiness.ready:
        return session_transition(session=session, to=S.DISCHARGE_READY, by=by, at=at)
    if session.status == S.DISCHARGE_READY and not readiness.ready:
        return session_transition(
            session=session, to=S.RECOVERING, by=by, at=at, reason="; ".join(readiness.reasons_not_ready)
        )
    return session


@transaction.atomic
def instrument_record(*, session: InfusionSession, by: User, code: str, answers: Any) -> Any:
    """Today's PHQ-9 / C-SSRS (before) or Aldrete / PADSS (recovery), scored by
    ``assessments`` and filed against the session."""
    require(by, CHANGE)
    require_unsigned(session)
    if code in PRE_INSTRUMENTS:
        context = "pre_infusion"
    elif code in rules.DISCHARGE_SCORE_CODES:
        if session.status not in RECOVERY_STATUSES:
            raise ValidationError("Recovery scores are recorded after the infusion.")
        context = "post_infusion"
    else:
        raise ValidationError(f"{code} is not recorded on the infusion day.")
    response = response_record(
        patient=session.patient, code=code, answers=answers, context=context, by=by, subject=session
    )
    if code in rules.DISCHARGE_SCORE_CODES:
        readiness_refresh(session=session, by=by)
    return response


@transaction.atomic
def discharge_details_record(
    *,
    session: InfusionSession,
    by: User,
    escort_present: bool,
    escort_name: str,
    escort_phone: str,
    instructions_given: bool,
) -> InfusionSession:
    """Escort at discharge (present and named) and the discharge instructions (no driving
    or machinery until the next day after sleep [S16], who to call, crisis line 988)."""
    require(by, CHANGE)
    locked = lock(session)
    require_unsigned(locked)
    if locked.status not in RECOVERY_STATUSES:
        raise ValidationError("Discharge details are recorded in recovery.")
    if escort_present and not escort_name.strip():
        raise ValidationError({"escort_name": "Name the escort."})
    locked.escort_present_at_discharge = escort_present
    locked.escort_name = escort_name.strip()
    locked.escort_phone = escort_phone.strip()
    fields = ["escort_present_at_discharge", "escort_name", "escort_phone", "updated_at"]
    if instructions_given and locked.instructions_given_at is None:
        locked.instructions_given_at, locked.instructions_given_by = timezone.now(), by
        fields += ["instructions_given_at", "instructions_given_by"]
    locked.save(update_fields=fields)
    audit.record(
        actor=by,
        action="infusions.discharge.details",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={
            "escort_present": escort_present,
            "escort_name": locked.escort_name,
            "instructions_given": instructions_given,
        },
    )
    return readiness_refresh(session=locked, by=by)


def session_discharge(*, session: InfusionSession, by: User) -> InfusionSession:
    return session_transition(session=session, to=S.DISCHARGED, by=by)
