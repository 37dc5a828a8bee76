"""Follow-up demo data: PHQ-9 trajectories for responders, non-responders and relapses
(one score before each completed infusion), signed follow-up notes for completed follow-up
visits, booster suggestions for relapses, a few unacknowledged safety alerts and
questionnaire links still outstanding. Bulk inserts; deterministic for a given seed."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import pgtrigger
from django.utils import timezone

from accounts.models import User
from assessments import instruments
from assessments.models import InstrumentResponse
from consultations.models import TreatmentPlan
from core import tokens
from core.hashing import content_sha256
from demo.context import SeedContext
from followups import services
from followups.models import BoosterSuggestion, FollowUpVisit, PlanDecision, QuestionnaireLink, SafetyAlert
from scheduling.models import Appointment, AppointmentStatus

BATCH = 2000
HISTORY_TRIGGERS = (
    "assessments.InstrumentResponse:insert_insert",
    "followups.FollowUpVisit:insert_insert",
    "followups.BoosterSuggestion:insert_insert",
    "followups.SafetyAlert:insert_insert",
    "followups.QuestionnaireLink:insert_insert",
)
SCENARIOS = (("responder", 0.55), ("non_responder", 0.25), ("relapse", 0.20))
ALERTS_WANTED = 4
LINKS_WANTED = 6


def _phq9(total: int, *, item9: int = 0) -> list[int]:
    rest, items = max(0, min(27, total)) - item9, []
    for _ in range(8):
        value = max(0, min(3, rest))
        items.append(value)
        rest -= value
    return [*items, item9]


def _scenario(ctx: SeedContext) -> str:
    roll, total = ctx.rng.random(), 0.0
    for name, share in SCENARIOS:
        total += share
        if roll < total:
            return name
    return SCENARIOS[-1][0]


def _target(scenario: str, baseline: int, k: int, n: int) -> float:
    """The PHQ-9 expected after k of n infusions (k = n..n+2 are follow-ups)."""
    if scenario == "non_responder":
        return baseline * (1 - 0.2 * min(k, n) / max(n, 1))
    low = baseline * 0.25
    if scenario == "relapse" and k > n:
        return low + (baseline * 0.7 - low) * (k - n) / 2
    return baseline - (baseline - low) * min(k, n) / max(n, 1)


def _response(patient_id, answers, context, at, source="patient", by: User | None = None) -> InstrumentResponse:
    result = instruments.score("phq9", answers)
    return InstrumentResponse(
        patient_id=patient_id,
        instrument="phq9",
        instrument_version=instruments.INSTRUMENTS["phq9"].version,
        answers=answers,
        total=result.total,
        band=result.severity,
        flags=sorted(result.flags),
        context=context,
        source=source,
        entered_by=by,
        administered_at=at,
        recorded_at=at,
    )


def seed(ctx: SeedContext) -> None:
    clinician = ctx.staff.get("clinician") or ctx.staff.get("dr.chen")
    appointments = getattr(ctx, "appointments", None) or {}
    plans = {
        p["patient_id"]: p
        for p in TreatmentPlan.objects.filter(status__in=["active", "completed", "maintenance"]).values(
            "patient_id", "created_at", "created_by_id"
        )
    }
    baselines = {
        r["patient_id"]: r["total"]
        for r in InstrumentResponse.objects.filter(
            patient_id__in=list(plans), instrument="phq9", context="baseline"
        ).values("patient_id", "total")
    }
    if clinician is None or not baselines:
        ctx.counts["follow-up scores"] = 0
        return
    infusions: dict[int, list[Any]] = defaultdict(list)
    follow_ups: dict[int, list[dict]] = defaultdict(list)
    ids = [*appointments.get("infusion", []), *appointments.get("follow_up", []), *appointments.get("booster", [])]
    for row in (
        Appointment.objects.filter(pk__in=ids, patient_id__in=list(baselines), status=AppointmentStatus.COMPLETED)
        .values("id", "patient_id", "start", "clinician_id", "appointment_type__code")
        .order_by("start")
    ):
        if row["appointment_type__code"] == "follow_up":
            follow_ups[row["patient_id"]].append(dict(row))
        else:
            infusions[row["patient_id"]].append(row["start"])

    responses, visits, relapsed = [], [], []
    now = timezone.now()
    for patient_id in sorted(baselines):
        baseline = max(10, baselines[patient_id])
        scenario = _scenario(ctx)
        days = infusions.get(patient_id, [])
        n = len(days)
        for k, start in enumerate(days):
            total = round(_target(scenario, baseline, k, n) + ctx.rng.uniform(-1.5, 1.5))
            responses.append(_response(patient_id, _phq9(total), "pre_infusion", start - timedelta(hours=1)))
        for j, visit in enumerate(follow_ups.get(patient_id, [])[:3]):
            total = round(_target(scenario, baseline, n + j + 1, n) + ctx.rng.uniform(-1, 1))
            responses.append(_response(patient_id, _phq9(total), "follow_up", visit["start"] - timedelta(hours=20)))
            decision = PlanDecision.BOOSTER if scenario == "relapse" and total > baseline / 2 else PlanDecision.CONTINUE
            content = {"appointment": visit["id"], "plan_decision": decision, "seeded": True}
            visits.append(
                FollowUpVisit(
                    patient_id=patient_id,
                    appointment_id=visit["id"],
                    clinician_id=visit["clinician_id"] or clinician.pk,
                    status="signed",
                    current_symptoms="Reviewed mood, sleep and function since the last visit.",
                    side_effects="None reported." if ctx.rng.random() < 0.7 else "Mild nausea on infusion days.",
                    medication_changes="No changes.",
                    plan_decision=decision,
                    content_sha256=content_sha256(content),
                    signed_at=visit["start"] + timedelta(minutes=40),
                    signed_by_id=visit["clinician_id"] or clinician.pk,
                )
            )
        if scenario == "relapse" and n:
            # Without follow-up visits, the relapse shows in the patient's own questionnaires.
            seen = len(follow_ups.get(patient_id, [])[:3])
            for j in range(seen, 2):
                at = days[-1] + timedelta(days=14 * (j + 1))
                if at < now:
                    total = round(_target(scenario, baseline, n + j + 1, n))
                    responses.append(_response(patient_id, _phq9(total), "follow_up", at))
            relapsed.append((patient_id, baseline))

    with pgtrigger.ignore(*HISTORY_TRIGGERS):
        created = InstrumentResponse.objects.bulk_create(responses, batch_size=BATCH)
        FollowUpVisit.objects.bulk_create(visits, batch_size=BATCH)
    latest = {r.patient_id: r for r in created}
    policy = services.policy_current()
    suggestions = []
    for i, (patient_id, baseline) in enumerate(relapsed):
        response = latest.get(patient_id)
        if response is None or response.total * 100 <= baseline * policy.booster_fraction_percent:
            continue
        accepted = i % 3 == 0
        suggestions.append(
            BoosterSuggestion(
                patient_id=patient_id,
                response=response,
                baseline_total=baseline,
                current_total=response.total,
                fraction_percent=policy.booster_fraction_percent,
                reason=f"PHQ-9 {response.total} is above {policy.booster_fraction_percent}% of baseline {baseline}.",
                status="accepted" if accepted else "open",
                decided_by=clinician if accepted else None,
                decided_at=now - timedelta(days=1) if accepted else None,
            )
        )
    # A few patients answered item 9 positively on a questionnaire in the last days: alerts to acknowledge.
    alert_patients = [pid for pid, *_ in relapsed][:ALERTS_WANTED] or sorted(baselines)[:ALERTS_WANTED]
    alert_responses = [
        _response(pid, _phq9(16, item9=1), "follow_up", now - timedelta(hours=3 + 5 * i))
        for i, pid in enumerate(alert_patients)
    ]
    link_patients = sorted(baselines)[-LINKS_WANTED:]
    links = [
        QuestionnaireLink(
            patient_id=pid,
            instruments=["phq9", "gad7"],
            context="follow_up",
            clinician=clinician,
            token_sha256=tokens.issue()[1],
            created_by=clinician,
            created_at=now - timedelta(hours=6 + 20 * i),
            expires_at=now - timedelta(hours=6 + 20 * i) + timedelta(hours=policy.link_expiry_hours),
            sent_channels="sms",
        )
        for i, pid in enumerate(link_patients)
    ]
    with pgtrigger.ignore(*HISTORY_TRIGGERS):
        BoosterSuggestion.objects.bulk_create(suggestions, batch_size=BATCH)
        alert_rows = InstrumentResponse.objects.bulk_create(alert_responses)
        SafetyAlert.objects.bulk_create(
            [
                SafetyAlert(
                    patient_id=r.patient_id,
                    response=r,
                    clinician=clinician,
                    reason="phq9_item9",
                    created_at=r.administered_at,
                )
                for r in alert_rows
            ]
        )
        QuestionnaireLink.objects.bulk_create(links)
    ctx.counts["follow-up scores"] = len(responses) + len(alert_rows)
    ctx.counts["follow-up notes"] = len(visits)
    ctx.counts["booster suggestions"] = len(suggestions)
    ctx.counts["safety alerts"] = len(alert_rows)
