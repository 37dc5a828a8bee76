"""What the pump delivered: the flowsheet's rate changes and the session's pauses run
through ``rules.delivered``, stored on the session when the infusion completes or stops."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError

from infusions import rules
from infusions.models import InfusionSession, RateChange, SessionTransition

S = rules.SessionStatus


def pauses_of(session: InfusionSession) -> list[tuple[datetime, datetime | None]]:
    """(paused at, resumed at or None) from the session's status log."""
    out: list[tuple[datetime, datetime | None]] = []
    moves = SessionTransition.objects.filter(session=session).order_by("at", "id").values_list("to_status", "at")
    for to_status, at in moves:
        if to_status == S.PAUSED:
            out.append((at, None))
        elif out and out[-1][1] is None and to_status != S.PAUSED:
            out[-1] = (out[-1][0], at)
    return out


def session_delivery(session: InfusionSession, *, ended_at: datetime) -> rules.Delivery | None:
    """The delivery of a started session up to ``ended_at`` (None when it never started on a
    verified calculation). The bag is the calculation the infusion started on: its drug (mg)
    in its total volume (mL), run at its rate until the first charted rate change."""
    dose = session.started_dose
    if session.started_at is None or dose is None:
        return None
    changes = RateChange.objects.filter(session=session).order_by("at", "id").values_list("at", "rate_ml_per_h")
    return rules.delivered(
        started_at=session.started_at,
        ended_at=ended_at,
        initial_rate_ml_per_h=dose.rate_ml_per_h,
        rate_changes=[(max(at, session.started_at), rate) for at, rate in changes],
        pauses=[(max(p, session.started_at), r) for p, r in pauses_of(session) if p <= ended_at],
        bag_mg=dose.dose_mg,
        bag_volume_ml=dose.total_volume_ml,
    )


def record_delivery(session: InfusionSession, *, ended_at: datetime) -> list[str]:
    """Set ``delivered_ml``/``delivered_mg`` on a locked session being completed or stopped
    (the caller saves); returns the field names changed."""
    try:
        delivery = session_delivery(session, ended_at=ended_at)
    except rules.DeliveryError as error:
        raise ValidationError(f"The delivery cannot be computed: {error.message}.") from error
    if delivery is None:
        return []
    session.delivered_ml = delivery.volume_ml
    session.delivered_mg = delivery.mg
    return ["delivered_ml", "delivered_mg"]
