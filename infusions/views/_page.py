"""The session page's context: everything the template touches, from the selectors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.prescribing import prescriber_standing
from assessments.forms import instrument_form
from assessments.selectors import current_responses_for
from consents import selectors as consent_selectors
from consultations import selectors as plan_selectors
from consultations.services.orders import SIGN as ORDER_SIGN
from consultations.vitals import lb_from_kg
from core import charts
from infusions import forms, rules
from infusions.models import (
    OPEN_OUTCOMES,
    READING_FIELDS,
    READING_LABELS,
    STOP_REASON_CHOICES,
    FlowsheetReading,
    InfusionSession,
    Outcome,
)
from infusions.selectors import recovery as recovery_selectors
from infusions.selectors import sessions as session_selectors
from infusions.services.delivery import session_delivery
from infusions.services.dosing import DOSING_STATUSES, usual_range_problem, verify_refusal
from infusions.services.precheck import OVERRIDE as PRECHECK_OVERRIDE

S = rules.SessionStatus
CHART_SERIES = (("sbp_mmhg", "Systolic"), ("dbp_mmhg", "Diastolic"), ("hr_bpm", "Heart rate"), ("spo2_pct", "SpO₂"))
CONSENT_STATUSES = (S.SCHEDULED, S.PRE_CHECK, S.CLEARED)
# What the nurse may do next from each status (buttons); the service still judges each.
NEXT_ACTIONS = {
    S.CLEARED: [("infusing", "Start infusion"), ("deferred", "Not treated today")],
    S.INFUSING: [("paused", "Pause"), ("completed", "Infusion complete"), ("stopped_early", "Stop early")],
    S.PAUSED: [("infusing", "Resume"), ("completed", "Infusion complete"), ("stopped_early", "Stop early")],
    S.COMPLETED: [("recovering", "Start recovery")],
    S.STOPPED_EARLY: [("recovering", "Start recovery")],
    S.DISCHARGE_READY: [("discharged", "Discharge")],
}


def flowsheet_chart(readings) -> str:
    local = [(timezone.localtime(r.taken_at), r) for r in readings]  # the clinic's time on the axis
    series = [
        charts.Series(label, [charts.Point(at, getattr(r, name)) for at, r in local]) for name, label in CHART_SERIES
    ]
    return charts.line_chart(series=series, title="Vitals", y_label="mmHg / bpm / %", y_min=0)


def flowsheet_context(session, *, at=None, reading_form=None, policy=None) -> dict:
    at = at or timezone.now()
    policy = policy or session_selectors.policy()
    readings = session_selectors.readings(session)
    due = session_selectors.next_due(
        session,
        at=at,
        cadence=policy.cadence,
        grace=policy.overdue_grace,
        last_at=readings[-1].taken_at if readings else None,
    )
    alerts = session_selectors.alerts(session)
    # Critical first: the one that needs airway or help must be the first thing seen.
    open_alerts = sorted((a for a in alerts if not a.action), key=lambda a: not a.is_critical)
    can_record = session.status not in (S.SCHEDULED, S.DEFERRED, S.DISCHARGED, S.SIGNED)
    return {
        "session": session,
        "policy": policy,
        "readings": readings,
        "reading_fields": [(name, READING_LABELS[name]) for name in READING_FIELDS],
        "reading_rows": reading_rows(readings),
        "chart": flowsheet_chart(readings) if readings else "",
        "due": due,
        "open_alerts": open_alerts,
        "alerts": alerts,
        "reading_form": (reading_form or forms.ReadingForm()) if can_record else None,
        "alert_form": forms.AlertActionForm() if open_alerts else None,
        "can_record": can_record,
    }


# The table's rows, built once here: a 30-reading table is 360 cells, and rendering each as a
# template variable (or through format_html) was the largest part of the flowsheet's time. Only
# the phase label and the name are text; both are escaped.
def _cell(value) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int | float | Decimal) else escape(value)


def reading_rows(readings) -> SafeString:
    phases = {value: escape(label) for value, label in FlowsheetReading._meta.get_field("phase").flatchoices}
    names: dict[int, str] = {}  # the same few nurses on every row
    zone = timezone.get_current_timezone()
    rows = []
    for r in readings:
        if r.entered_by_id not in names:
            names[r.entered_by_id] = escape(r.entered_by.get_short_name() or r.entered_by)
        values = "".join(f"<td>{_cell(getattr(r, name))}</td>" for name in READING_FIELDS)
        at = formats.time_format(r.taken_at.astimezone(zone))
        rows.append(
            f"<tr><td>{at}</td><td>{phases.get(r.phase, escape(r.phase))}</td>"
            f"{values}<td>{names[r.entered_by_id]}</td></tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - numbers and escaped text only


# At the chair the adverse-event form is always open to hand; after discharge (until
# signing) it is rendered on request only, which keeps the record page light.
ADVERSE_FORM_STATUSES = (
    S.PRE_CHECK,
    S.CLEARED,
    S.INFUSING,
    S.PAUSED,
    S.COMPLETED,
    S.STOPPED_EARLY,
    S.RECOVERING,
    S.DISCHARGE_READY,
)


def _precheck_initial(check) -> dict:
    """The saved checklist as the form's initial values (yes/no selects, local date-times)."""
    if check is None:
        return {}
    initial = {name: getattr(check, name) for name in forms.PreCheckForm.base_fields if hasattr(check, name)}
    for name in ("escort_present", "childbearing_potential", "medications_changed"):
        value = getattr(check, name)
        initial[name] = "" if value is None else ("yes" if value else "no")
    for name in ("last_clear_liquid_at", "last_light_meal_at", "last_fatty_meal_at"):
        value = getattr(check, name)
        initial[name] = timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if value else ""
    return initial


def _prescriber_context(session, context: dict, *, user) -> dict:
    """Whether the user at the screen may make the prescriber's decisions this page offers,
    asked as the services will ask it: a prescriber whose profile is missing or whose licence
    or DEA registration is not current sees "Needs a prescriber" with the reason, and may
    request one, like a nurse. Asked only when the page offers the decision."""
    found: dict[str, Any] = {"precheck_standing": None, "order_standing": None, "verify_blocked": ""}
    if session.status == S.PRE_CHECK and session.clearance == rules.NEEDS_CLINICIAN_DECISION:
        found["precheck_standing"] = prescriber_standing(
            user,
            PRECHECK_OVERRIDE,
            action="Clearing this pre-check",
            location=session.appointment.location,
        )
    dose = context.get("dose")
    if dose is not None and not dose.is_verified and not session.is_signed:
        # The clinic may have a prescriber verify every dose: a nurse sees who must instead.
        found["verify_blocked"] = verify_refusal(session, user, policy=context["policy"])
    if context.get("dose_needs_prescriber"):
        found["order_standing"] = prescriber_standing(user, ORDER_SIGN, action="Signing a new standing order")
    return found


def _delivery_left(session, *, at):
    """Minutes the pump still needs for the planned dose as of ``at`` (None: not computable,
    e.g. paused, or no verified dose started; 0: delivered)."""
    try:
        delivery = session_delivery(session, ended_at=at)
    except rules.DeliveryError:
        return None
    return rules.bag_minutes_left(delivery) if delivery is not None else None


def _offered(actions: list[tuple[str, str]], delivery_left) -> list[tuple[str, str]]:
    if delivery_left is not None and delivery_left < 1:
        return actions
    return [a for a in actions if a[0] != "completed"]


def session_context(session, *, user=None, adverse_requested: bool = False, **overrides) -> dict:
    at = timezone.now()
    responses = current_responses_for(subject=session, with_staff=False)  # the page names no one per score
    by_code = {}
    for r in responses:
        by_code[r.instrument] = r  # oldest first: the last one wins
    policy = session_selectors.policy()
    check = session.pre_check if session_selectors._has_pre_check(session) else None
    dose = session_selectors.current_dose(session)
    discharge_codes = [r for r in responses if r.instrument in rules.DISCHARGE_SCORE_CODES]
    readiness = None
    if session.status in (S.COMPLETED, S.STOPPED_EARLY, S.RECOVERING, S.DISCHARGE_READY):
        readiness = recovery_selectors.readiness(session, at=at, responses=discharge_codes, policy=policy)
    status = recovery_selectors.shown_status(session, at=at, readiness_now=readiness, policy=policy)
    delivery_left = _delivery_left(session, at=at) if status in (S.INFUSING, S.PAUSED) else None
    order = session.order if session.order_id else plan_selectors.current_order(session.plan)
    context = {
        "session": session,
        "patient": session.patient,
        "plan": session.plan,
        # The order version it ran under once started; before that, the one in force.
        "order": order,
        # Before the start: an order above the protocol's usual range with no recorded override.
        "dose_needs_prescriber": usual_range_problem(order, session.plan.protocol)
        if order is not None and status in DOSING_STATUSES
        else "",
        "policy": policy,
        "check": check,
        "check_weight_lb": lb_from_kg(check.weight_kg) if check is not None and check.weight_kg else None,
        "check_results": check.results if check else [],
        "blocking": [r for r in (check.results if check else []) if r["passed"] is not True],
        "dose": dose,
        "readiness": readiness,
        "responses": by_code,
        "rate_changes": session_selectors.rate_changes(session),
        "show_adverse_form": not session.is_signed
        and (status in ADVERSE_FORM_STATUSES or adverse_requested or "adverse_form" in overrides),
        # Discharge is offered only while the criteria hold as of now, "Infusion complete" only
        # once the recorded delivery has run the planned dose (the service re-checks both).
        "next_actions": []
        if status == S.DISCHARGE_READY and not (readiness and readiness.ready)
        else _offered(NEXT_ACTIONS.get(status, []), delivery_left),
        "delivery_left_min": delivery_left,
        "deferral_codes": InfusionSession._meta.get_field("deferral_reason_code").choices,
        "stop_codes": STOP_REASON_CHOICES,
        "adverse_events": session_selectors.adverse_events(session),
        "closing_outcomes": [c for c in Outcome.choices if c[0] not in OPEN_OUTCOMES],
        "transitions": session_selectors.transitions(session),
        "amendments": list(session.amendments.select_related("author")) if session.is_signed else [],
        "discharge_scores": discharge_codes,
        "S": {s.name: s.value for s in S},
        "status_label": rules.STATUS_LABELS[status],
        # Before the start: where the patient stands on each consent the clinic requires (the start
        # is refused while one is not current).
        "consents": list(
            consent_selectors.consent_status(session.patient, kinds=consent_selectors.required_kinds()).values()
        )
        if status in CONSENT_STATUSES
        else [],
    }
    # Only the forms this status shows (the template asks for the same conditions): building
    # every form on every view was a fifth of a signed session's page time.
    if status == S.PRE_CHECK:
        context["precheck_form"] = forms.PreCheckForm(initial=_precheck_initial(check))
        context["pre_forms"] = [instrument_form(code, response=by_code.get(code)) for code in ("phq9", "cssrs_screen")]
        if check is not None:
            context["decision_form"] = forms.DecisionForm()
            context["defer_form"] = forms.DeferForm()
    if check is not None and status in (S.PRE_CHECK, S.CLEARED):
        context["dose_form"] = forms.DoseForm(initial={"vial_mg_per_ml": "10", "diluent_ml": "96"})
    if context["next_actions"]:
        context["transition_form"] = forms.TransitionForm()
    if status in (S.INFUSING, S.PAUSED):
        context["rate_form"] = forms.RateChangeForm()
    if context["show_adverse_form"]:
        context["adverse_form"] = forms.AdverseEventForm()
    if session.ended_at and status not in (S.DISCHARGED, S.SIGNED):
        context["score_form"] = instrument_form(policy.discharge_tool)
        context["discharge_form"] = forms.DischargeForm(
            initial={
                "escort_name": session.escort_name,
                "escort_phone": session.escort_phone,
                "escort_present": bool(session.escort_present_at_discharge),
                "instructions_given": session.instructions_given_at is not None,
            }
        )
    if session.is_signed:
        context["amendment_form"] = forms.AmendmentForm()
    context.update(_prescriber_context(session, context, user=user))
    context.update(flowsheet_context(session, at=at, policy=policy))
    context.update(overrides)
    return context
