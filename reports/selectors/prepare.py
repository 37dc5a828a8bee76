"""Prepare tomorrow: the next clinic day's booked visits, each with what it still lacks.

A fixed number of queries whatever the number of patients: the day's appointments in one, then
one set-based read per kind of fact (signed intakes, plans with their order and first-infusion
flag, questionnaire invitations, open safety alerts, the consents app's two reads), joined
in Python and judged by the pure ``reports.rules.visit_readiness``.

Labs are not modelled anywhere in the product (no order, result or policy requirement), so the
page cannot say whether a visit's labs are in: it says so once, rather than guessing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Exists, OuterRef
from django.urls import reverse

from assessments.instruments import INSTRUMENTS
from consents.models import ConsentKind
from consents.selectors import KindStatus, consent_statuses, required_kinds
from consultations.choices import LIVE_PLAN_STATUSES, PlanStatus
from consultations.models import Consultation, StandingOrder, TreatmentPlan
from followups.models import QuestionnaireLink, SafetyAlert
from followups.rules import SELF_REPORT_CODES
from followups.services.invitations import MOMENT_FOR_TYPE
from infusions.models import InfusionSession
from reports import rules
from scheduling.access import in_their_locations
from scheduling.models import ACTIVE_STATUSES, Appointment, Closure, OpeningHours
from scheduling.selectors import active_locations, appointments_on

LABS_FINDING = (
    "Labs are not recorded in Grace MindCare (no lab orders or results are kept), so this list "
    "cannot show whether a visit's labs are in: check the outside record where the clinic's "
    "policy asks for them."
)


@dataclass(frozen=True)
class PreparedVisit:
    appointment: Appointment
    readiness: rules.Readiness
    links: dict[str, str]

    @property
    def items(self) -> list[tuple[rules.Missing, str]]:
        return [(m, self.links.get(m.fix, "")) for m in self.readiness.missing]


def clinic_day_after(today: date) -> date:
    """The next day any active site is open (its weekly hours in effect that day, less its
    closures). Three queries."""
    locations = list(active_locations())
    ids = [loc.pk for loc in locations]
    hours: dict[int, list[rules.HoursSpan]] = defaultdict(list)
    for site, weekday, first, last in OpeningHours.objects.filter(location_id__in=ids).values_list(
        "location_id", "weekday", "effective_from", "effective_until"
    ):
        hours[site].append((weekday, first, last))
    last = today + timedelta(days=rules.LOOKAHEAD_DAYS)
    closed: dict[int, set[date]] = defaultdict(set)
    closures = Closure.objects.filter(location_id__in=ids, starts_on__lte=last, ends_on__gt=today)
    for site, first, end in closures.values_list("location_id", "starts_on", "ends_on"):
        day = max(first, today)
        while day <= min(end, last):
            closed[site].add(day)
            day += timedelta(days=1)
    return rules.first_open_day(today, hours_by_site=hours, closed_by_site=closed)


def _short(code: str) -> str:
    name = INSTRUMENTS[code].name if code in INSTRUMENTS else code
    return name[name.rfind("(") + 1 : -1] if name.endswith(")") else name


def prepare_day(*, day: date, locations_of=None) -> list[PreparedVisit]:
    """Every visit still holding its slot on ``day`` (each site in its own zone), soonest first;
    at ``locations_of``'s locations only when a user is given."""
    sites = active_locations()
    locations = list(sites if locations_of is None else in_their_locations(locations_of, sites, field="pk"))
    appointments = list(appointments_on(day=day, locations=locations).filter(status__in=ACTIVE_STATUSES))
    if not appointments:
        return []
    patient_ids = {a.patient_id for a in appointments}

    intakes = {
        row["patient_id"]: row
        for row in Consultation.objects.filter(patient_id__in=patient_ids, status=Consultation.Status.SIGNED)
        .order_by("patient_id", "-signed_at", "-id")
        .distinct("patient_id")
        .values("patient_id", "id")
    }
    # Consents as the start check reads them: the clinic's required kinds for an infusion, the
    # treatment consent for an intake's decision (one query for the versions, one for signatures).
    required = set(required_kinds())
    consents = consent_statuses(patient_ids, kinds={*required, ConsentKind.TREATMENT})
    # The live plan if there is one, else the newest draft.
    plans: dict[int, dict] = {}
    plan_rows = (
        TreatmentPlan.objects.filter(patient_id__in=patient_ids, status__in=[*LIVE_PLAN_STATUSES, PlanStatus.DRAFT])
        .annotate(
            order_signed=Exists(StandingOrder.objects.filter(plan=OuterRef("pk"), superseded_at__isnull=True)),
            infused=Exists(InfusionSession.objects.filter(plan=OuterRef("pk"), started_at__isnull=False)),
        )
        .order_by("-created_at", "-id")
        .values("id", "patient_id", "status", "measurement_schedule", "order_signed", "infused")
    )
    for row in plan_rows:
        current = plans.get(row["patient_id"])
        if current is None or (current["status"] == PlanStatus.DRAFT and row["status"] != PlanStatus.DRAFT):
            plans[row["patient_id"]] = row
    links_by_appointment: dict[int, list[dict]] = defaultdict(list)
    for link in QuestionnaireLink.objects.filter(appointment_id__in=[a.pk for a in appointments]).values(
        "appointment_id", "completed_at", "revoked_at"
    ):
        links_by_appointment[link["appointment_id"]].append(dict(link))
    alerts: dict[int, list[int]] = defaultdict(list)
    for patient_id, alert_id in SafetyAlert.objects.filter(
        patient_id__in=patient_ids, acknowledged_at__isnull=True
    ).values_list("patient_id", "id"):
        alerts[patient_id].append(alert_id)

    out = []
    for appt in appointments:
        kind = appt.appointment_type.code
        intake = intakes.get(appt.patient_id)
        plan = plans.get(appt.patient_id)
        moment = MOMENT_FOR_TYPE.get(kind)
        codes = []
        if plan is not None and plan["status"] != PlanStatus.DRAFT and moment:
            codes = [c for c in (plan["measurement_schedule"] or {}).get(moment, []) if c in SELF_REPORT_CODES]
        links = links_by_appointment.get(appt.pk, [])
        if any(link["completed_at"] is not None for link in links):
            state = "completed"
        elif any(link["revoked_at"] is None for link in links):
            state = "outstanding"
        else:
            state = "not_sent"
        facts = rules.VisitFacts(
            kind=kind,
            intake_signed=intake is not None,
            consent_gaps=_consent_gaps(consents[appt.patient_id], kind=kind, required=required),
            plan_status=plan["status"] if plan else "",
            order_signed=bool(plan and plan["order_signed"]),
            first_infusion=bool(plan and plan["status"] != PlanStatus.DRAFT and not plan["infused"]),
            questionnaires=tuple(_short(c) for c in codes),
            questionnaire_state=state,
            escort_required=appt.appointment_type.requires_escort,
            escort_confirmed=appt.escort_confirmed_at is not None,
            open_alerts=len(alerts.get(appt.patient_id, [])),
        )
        out.append(
            PreparedVisit(
                appointment=appt,
                readiness=rules.visit_readiness(facts),
                links=_fix_links(appt, plan=plan, alert_ids=alerts.get(appt.patient_id, [])),
            )
        )
    return out


def _consent_gaps(statuses: Mapping[str, KindStatus], *, kind: str, required: set[str]) -> tuple[tuple[str, str], ...]:
    if kind == "consultation":  # the intake's decision to proceed asks for it, published or not
        treatment = statuses[ConsentKind.TREATMENT]
        return () if treatment.is_current else ((treatment.label, str(treatment.state)),)
    if kind in rules.INFUSION_KINDS:  # what the start check refuses
        return tuple((s.label, str(s.state)) for k, s in statuses.items() if k in required and s.blocks)
    return ()


def _fix_links(appt: Appointment, *, plan: Mapping[str, Any] | None, alert_ids: list[int]) -> dict[str, str]:
    chart = reverse("patients:detail", args=[appt.patient_id])
    plan_url = reverse("consultations:plan-detail", args=[plan["id"]]) if plan else f"{chart}#clinical-panels"
    return {
        rules.FIX_INTAKE: f"{chart}#clinical-panels",
        # Signed on the chart's consents panel: a signing link, the tablet, or a paper scan.
        rules.FIX_CONSENT: f"{chart}#consents",
        rules.FIX_PLAN: plan_url,
        rules.FIX_ORDER: plan_url,
        rules.FIX_QUESTIONNAIRE: reverse("followups:link-send", args=[appt.patient_id]),
        rules.FIX_ESCORT: reverse("scheduling:appointment-detail", args=[appt.pk]),
        rules.FIX_ALERT: reverse("followups:alert-detail", args=[alert_ids[0]]) if alert_ids else chart,
    }
