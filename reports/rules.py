"""Pure rules for "prepare tomorrow": which clinic day comes next, and what one booked visit
still lacks. Values in, values out: no ORM, no request, no clock (``today`` is passed in).

Nothing here is a clinical threshold. What a visit needs follows what the product already
enforces at the visit: a signed intake and a live plan with a signed standing order before an
infusion starts (``infusions.services.lifecycle``), the consents the clinic requires signed on
their current version before an infusion and the treatment consent before the intake decision
(the consents app; clinical-reference [S33][S44]), the
questionnaires the plan schedules for the visit, and an escort for sedation [S26].
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

# How far ahead "the next day the clinic is open" is looked for (a long closure, a holiday
# fortnight); beyond it the page shows the day after today and the date picker.
LOOKAHEAD_DAYS = 21

INFUSION_KINDS = ("infusion", "booster")

# Where each missing item is put right (the selector turns these into links).
FIX_INTAKE, FIX_CONSENT, FIX_PLAN, FIX_ORDER = "intake", "consent", "plan", "order"
FIX_QUESTIONNAIRE, FIX_ESCORT, FIX_ALERT = "questionnaire", "escort", "alert"


# One weekly opening window as far as "is the site open that day" goes: its weekday and the
# local days it applies from and until (inclusive; None = open-ended).
HoursSpan = tuple[int, date | None, date | None]


def _open_on(day: date, hours: Iterable[HoursSpan]) -> bool:
    return any(
        weekday == day.weekday() and (first is None or first <= day) and (last is None or day <= last)
        for weekday, first, last in hours
    )


def next_open_day(
    today: date, *, hours: Iterable[HoursSpan], closed: Iterable[date], lookahead: int = LOOKAHEAD_DAYS
) -> date:
    """The first day after ``today`` with opening hours in effect and no closure; the day after
    today if none is found within ``lookahead`` days."""
    spans, shut = list(hours), set(closed)
    for offset in range(1, lookahead + 1):
        day = today + timedelta(days=offset)
        if day not in shut and _open_on(day, spans):
            return day
    return today + timedelta(days=1)


def first_open_day(
    today: date, *, hours_by_site: Mapping[int, Iterable[HoursSpan]], closed_by_site: Mapping[int, Iterable[date]]
) -> date:
    """The soonest next open day over every site (each with its own hours and closures)."""
    days = [
        next_open_day(today, hours=hours, closed=closed_by_site.get(site, ()))
        for site, hours in hours_by_site.items()
        if hours
    ]
    return min(days) if days else today + timedelta(days=1)


@dataclass(frozen=True)
class VisitFacts:
    """What is on record for one booked visit, as the selector read it."""

    kind: str  # the appointment type's code
    intake_signed: bool = False
    # Each consent the visit needs that is not current, as (label, state) from the consents app:
    # state "missing", "outdated", "withdrawn" or "none_published".
    consent_gaps: tuple[tuple[str, str], ...] = ()
    plan_status: str = ""  # the patient's live (or draft) plan's status; "" for none
    order_signed: bool = False  # the plan has a standing order in force
    first_infusion: bool = False  # no infusion has started on the plan yet
    questionnaires: tuple[str, ...] = ()  # names of what the plan schedules before this visit
    questionnaire_state: str = ""  # "completed", "outstanding" (sent, not answered) or "not_sent"
    escort_required: bool = False
    escort_confirmed: bool = False
    open_alerts: int = 0


@dataclass(frozen=True)
class Missing:
    text: str
    fix: str
    blocking: bool = True  # the visit cannot go ahead as booked until it is put right


@dataclass(frozen=True)
class Readiness:
    missing: tuple[Missing, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def ready(self) -> bool:
        return not self.missing


def consent_gap_text(label: str, state: str) -> str:
    if state == "outdated":
        return f"{label} consent: a new version to sign"
    if state == "withdrawn":
        return f"{label} consent withdrawn"
    return f"{label} consent not signed"


def visit_readiness(facts: VisitFacts) -> Readiness:
    """What one visit still lacks, most fundamental first, each with where it is put right."""
    missing: list[Missing] = []
    notes: list[str] = []
    if facts.kind == "consultation":
        # The intake can be held without it; only its decision to proceed needs it.
        for label, _state in facts.consent_gaps:
            missing.append(Missing(f"{label} consent to sign before the intake decision", FIX_CONSENT, blocking=False))
    elif facts.kind in INFUSION_KINDS:
        if facts.first_infusion:
            notes.append("First infusion")
        if not facts.intake_signed:
            missing.append(Missing("No signed intake consultation", FIX_INTAKE))
        # The infusion's start check refuses each of these (the consents app's required kinds).
        for label, state in facts.consent_gaps:
            missing.append(Missing(consent_gap_text(label, state), FIX_CONSENT))
        if facts.plan_status == "":
            missing.append(Missing("No treatment plan", FIX_PLAN))
        elif facts.plan_status == "draft":
            missing.append(Missing("Treatment plan still a draft", FIX_PLAN))
        elif facts.plan_status == "on_hold":
            missing.append(Missing("Treatment plan on hold", FIX_PLAN))
        elif not facts.order_signed:
            missing.append(Missing("Standing order not signed", FIX_ORDER))
    if facts.questionnaires and facts.questionnaire_state != "completed":
        names = ", ".join(facts.questionnaires)
        if facts.questionnaire_state == "outstanding":
            text = f"Questionnaire sent, not answered yet ({names})"
        else:
            text = f"Questionnaire not sent yet ({names}): give it in clinic or send a link"
        missing.append(Missing(text, FIX_QUESTIONNAIRE, blocking=False))
    if facts.escort_required and not facts.escort_confirmed:
        missing.append(Missing("Escort home not confirmed", FIX_ESCORT))
    if facts.open_alerts:
        plural = "s" if facts.open_alerts > 1 else ""
        missing.append(Missing(f"{facts.open_alerts} unacknowledged safety alert{plural}", FIX_ALERT))
    return Readiness(missing=tuple(missing), notes=tuple(notes))
