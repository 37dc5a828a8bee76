"""Infusion sessions for the booked infusions (synthetic): completed series with full
flowsheets, one deferred session, one stopped early with an adverse event, and today's
chairs in pre-check, infusing and recovering.

Rows are bulk-written (like the other seeders) from the pure rules' numbers: the dose is
``infusions.rules.calculate_*``'s, readings follow the policy's cadence (10 min during,
15 min after [S7][S8]). Past sessions are left discharged, not signed: signing is the
clinician's act and the controlled-substance ledger (seeded next) must first account for
the drug. The demo policy sets a 60-minute minimum observation, labelled clinic policy.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from assessments import instruments
from assessments.models import InstrumentResponse
from consultations.models import StandingOrder, TreatmentPlan
from demo.context import SeedContext
from infusions import rules
from infusions.models import (
    AdverseEvent,
    DoseCalculation,
    DrugGiven,
    FlowsheetReading,
    InfusionPolicy,
    InfusionSession,
    PreCheck,
    RescueDrug,
    SessionAlert,
    SessionTransition,
)
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    AppointmentType,
    Location,
)

S = rules.SessionStatus
MAX_PAST_SESSIONS = 1500  # bounded: the bench data set books tens of thousands of infusions
BATCH = 1000
DEMO_MIN_OBSERVATION_MIN = 60  # the demo clinic's policy (the shipped default is 120 [S14])


def _dose(plan: TreatmentPlan, weight: Decimal, policy: InfusionPolicy) -> rules.DoseCalculation | None:
    total = Decimal(250) if plan.dose_unit == "mg_per_kg_per_h" else Decimal(100)
    try:
        if plan.dose_unit == "mg_per_kg_per_h":
            probe = rules.calculate_rate_dose(
                weight_kg=weight,
                mg_per_kg_per_h=plan.dose,
                duration_min=plan.infusion_minutes,
                max_mg=plan.max_dose_mg,
                protocol_max_mg_per_kg_per_h=plan.protocol.dose_max,
                vial_mg_per_ml=Decimal(10),
                diluent_ml=Decimal(0),
                pump_limits=policy.pump_limits,
            )
        else:
            probe = rules.calculate_dose(
                weight_kg=weight,
                mg_per_kg=plan.dose,
                max_mg=plan.max_dose_mg,
                protocol_max_mg_per_kg=plan.protocol.dose_max,
                vial_mg_per_ml=Decimal(10),
                diluent_ml=Decimal(0),
                duration_min=plan.infusion_minutes,
                pump_limits=policy.pump_limits,
            )
        diluent = max(Decimal(0), total - probe.drug_volume_ml)
        if plan.dose_unit == "mg_per_kg_per_h":
            return rules.calculate_rate_dose(
                weight_kg=weight,
                mg_per_kg_per_h=plan.dose,
                duration_min=plan.infusion_minutes,
                max_mg=plan.max_dose_mg,
                protocol_max_mg_per_kg_per_h=plan.protocol.dose_max,
                vial_mg_per_ml=Decimal(10),
                diluent_ml=diluent,
                pump_limits=policy.pump_limits,
            )
        return rules.calculate_dose(
            weight_kg=weight,
            mg_per_kg=plan.dose,
            max_mg=plan.max_dose_mg,
            protocol_max_mg_per_kg=plan.protocol.dose_max,
            vial_mg_per_ml=Decimal(10),
            diluent_ml=diluent,
            duration_min=plan.infusion_minutes,
            pump_limits=policy.pump_limits,
        )
    except rules.RuleInputError:
        return None


class _Rows:
    def __init__(self) -> None:
        self.rows: dict[str, list] = defaultdict(list)


def seed(ctx: SeedContext) -> None:
    policy, created = InfusionPolicy.objects.get_or_create(pk=1)
    if created:  # the demo clinic's own choice; a clinic's existing setting is left alone
        policy.min_observation_min = DEMO_MIN_OBSERVATION_MIN
        policy.save(update_fields=["min_observation_min"])
    staff = ctx.staff
    nurse = staff.get("nurse.okafor") or staff.get("clinician")
    verifier = staff.get("dr.chen") or staff.get("nurse.lindqvist")
    if nurse is None or verifier is None:
        return
    now = timezone.now()
    ids = (getattr(ctx, "appointments", None) or {}).get("infusion", [])
    appointments = list(
        Appointment.objects.filter(pk__in=ids, start__lt=now, start__gte=now - timedelta(days=400))
        .exclude(status__in=("cancelled", "no_show", "entered_in_error"))
        .select_related("appointment_type")
        .order_by("-start")[:MAX_PAST_SESSIONS]
    )
    plans: dict[int, TreatmentPlan] = {}
    for found in (
        TreatmentPlan.objects.filter(patient_id__in={a.patient_id for a in appointments})
        .exclude(status="draft")
        .select_related("protocol", "consultation")
        .order_by("created_at")
    ):
        plans[found.patient_id] = found
    # Every session runs under a signed version of its plan's standing order (the version in
    # force, as the start service records it); a plan without one gets no sessions.
    orders = {
        o.plan_id: o
        for o in StandingOrder.objects.filter(
            plan_id__in=[p.pk for p in plans.values()], superseded_at__isnull=True
        ).only("id", "plan_id")
    }
    appointments.reverse()
    response_type = ContentType.objects.get_for_model(InfusionSession)
    past_index = 0
    out = _Rows()
    today: list[tuple[Appointment, TreatmentPlan, rules.DoseCalculation]] = []
    for appt in appointments:
        plan = plans.get(appt.patient_id)
        if plan is None or plan.pk not in orders:
            continue
        weight = plan.consultation.weight_kg or Decimal("75.0")
        calc = _dose(plan, weight, policy)
        if calc is None:
            continue
        checked_in = appt.start - timedelta(minutes=5)
        started = appt.start + timedelta(minutes=15)
        ended = started + timedelta(minutes=plan.infusion_minutes)
        if ended + timedelta(minutes=75) >= now:
            today.append((appt, plan, calc))
            continue
        past_index += 1
        scenario = {3: "deferred", 7: "stopped"}.get(past_index, "completed")
        _session(
            ctx,
            out,
            appt,
            plan,
            calc,
            scenario,
            nurse,
            verifier,
            checked_in,
            started,
            ended,
            now,
            response_type,
            order_id=orders[plan.pk].pk,
        )
    if not today:
        walk_in = _book_now(ctx, now, plans, orders, nurse)
        if walk_in is not None:
            plan = plans[walk_in.patient_id]
            calc = _dose(plan, plan.consultation.weight_kg or Decimal("75.0"), policy)
            if calc is not None:
                today.append((walk_in, plan, calc))
    for appt, plan, calc, scenario, checked_in, started, ended in _today(today, now):
        _session(
            ctx,
            out,
            appt,
            plan,
            calc,
            scenario,
            nurse,
            verifier,
            checked_in,
            started,
            ended,
            now,
            response_type,
            order_id=orders[plan.pk].pk,
        )
    _write(out)
    ctx.counts["infusion sessions"] = len(out.rows["sessions"])
    ctx.counts["flowsheet readings"] = len(out.rows["readings"])


def _book_now(ctx: SeedContext, now: datetime, plans: dict, orders: dict, nurse) -> Appointment | None:
    """When the clinic is open now and the booking grid left no chair in use (a small data set, a
    quiet hour), one patient with a signed order was booked into a free chair twenty minutes ago,
    so the board shows an infusion running. None when every site is closed now."""
    kind = AppointmentType.objects.filter(code="infusion").first()
    if kind is None:
        return None
    start = now - timedelta(minutes=20)
    end = start + kind.duration
    active = [s.value for s in ACTIVE_STATUSES]
    for site in Location.objects.filter(active=True).order_by("name"):
        local = now.astimezone(site.zone)
        opening = site.opening_hours.filter(weekday=local.weekday(), opens__lte=local.time(), closes__gt=local.time())
        if (
            not opening.exists()
            or site.closures.filter(starts_on__lte=local.date(), ends_on__gte=local.date()).exists()
        ):
            continue
        busy = Appointment.objects.filter(status__in=active, start__lt=end, end__gt=start)
        chair = (
            site.resources.filter(kind="chair", active=True)
            .exclude(pk__in=busy.exclude(resource=None).values("resource_id"))
            .order_by("sort_order")
            .first()
        )
        free = [p for p in plans.values() if p.pk in orders and p.status == "active"]
        taken = set(busy.values_list("patient_id", flat=True))
        patient_id = next((p.patient_id for p in free if p.patient_id not in taken), None)
        if chair is None or patient_id is None:
            continue
        appointment = Appointment.objects.create(
            patient_id=patient_id,
            appointment_type=kind,
            location=site,
            resource=chair,
            clinician=nurse,
            start=start,
            end=end,
            status=AppointmentStatus.IN_PROGRESS,
            clinician_exclusive=kind.clinician_exclusive,
            note="Booked for today's demo chair.",
            created_by=nurse,
        )
        AppointmentStatusChange.objects.bulk_create(
            [
                AppointmentStatusChange(
                    appointment=appointment, from_status="", to_status="booked", by=nurse, at=start - timedelta(days=7)
                ),
                AppointmentStatusChange(
                    appointment=appointment, from_status="booked", to_status="checked_in", by=nurse, at=start
                ),
                AppointmentStatusChange(
                    appointment=appointment,
                    from_status="checked_in",
                    to_status="in_progress",
                    by=nurse,
                    at=start + timedelta(minutes=15),
                ),
            ]
        )
        return appointment
    return None


def _today(candidates: list, now: datetime) -> list[tuple]:
    """Today's chairs as they stand at ``now``: each session in pre-check, infusing or recovering
    as its times say, and one infusing whenever an infusion was booked in the last hours, however
    the clock falls against the booking grid (the demo starts at any time of day; when the clinic
    has been closed for hours there is none, and the board says the clinic is closed)."""
    out = []
    for appt, plan, calc in candidates:
        minutes = timedelta(minutes=plan.infusion_minutes)
        checked_in = appt.start - timedelta(minutes=5)
        started = appt.start + timedelta(minutes=15)
        scenario = "pre_check" if now < started else "infusing" if now < started + minutes else "recovering"
        out.append([appt, plan, calc, scenario, checked_in, started, started + minutes])
    if out and not any(row[3] == "infusing" for row in out):
        # The latest arrival is on the pump: started a few minutes ago, well before its end.
        row = max(out, key=lambda r: r[0].start)
        elapsed = max(2, int((now - row[0].start).total_seconds() // 60))
        started = now - timedelta(minutes=min(row[1].infusion_minutes // 2, elapsed))
        row[3:7] = [
            "infusing",
            min(row[4], started - timedelta(minutes=15)),
            started,
            started + timedelta(minutes=row[1].infusion_minutes),
        ]
    return [tuple(row) for row in out]


def _vitals(ctx: SeedContext, base: dict[str, int], phase: str) -> dict[str, Any]:
    r = ctx.rng
    values = {
        "sbp_mmhg": base["sbp_mmhg"] + (r.randint(5, 22) if phase == "intra" else r.randint(-4, 8)),
        "dbp_mmhg": base["dbp_mmhg"] + (r.randint(2, 10) if phase == "intra" else r.randint(-3, 5)),
        "hr_bpm": base["hr_bpm"] + (r.randint(3, 14) if phase == "intra" else r.randint(-3, 6)),
        "spo2_pct": r.randint(95, 99),
        "rr_per_min": r.randint(12, 18),
    }
    if phase == "intra":
        values.update(moaas=r.choice([4, 5, 5]), cadss6=r.randint(2, 12), pain_nrs=r.randint(0, 3))
    else:
        values.update(moaas=5, cadss6=0)  # recovered: sedation and dissociation resolved
    return values


def _session(
    ctx, out, appt, plan, calc, scenario, nurse, verifier, checked_in, started, ended, now, response_type, *, order_id
):
    r = ctx.rng
    base = {
        "sbp_mmhg": r.randint(110, 134),
        "dbp_mmhg": r.randint(68, 84),
        "hr_bpm": r.randint(60, 82),
        "spo2_pct": r.randint(96, 99),
    }
    escort = ctx.fake.name()
    status = {
        "completed": S.DISCHARGED,
        "stopped": S.DISCHARGED,
        "deferred": S.DEFERRED,
        "infusing": S.INFUSING,
        "recovering": S.RECOVERING,
        "pre_check": S.PRE_CHECK,
    }[scenario]
    session = InfusionSession(
        appointment=appt,
        patient_id=appt.patient_id,
        plan=plan,
        order_id=order_id,
        status=status,
        checked_in_at=checked_in,
        clearance=rules.DEFERRED if scenario == "deferred" else rules.CLEARED,
        escort_name=escort,
        escort_phone=ctx.fake.numerify("555-01##"),
        created_by=nurse,
    )
    moves = [(S.SCHEDULED, S.PRE_CHECK, checked_in, "", "")]
    if scenario == "deferred":
        base["sbp_mmhg"], base["dbp_mmhg"] = 188, 104
        session.deferral_reason_code = "blood_pressure"
        session.deferral_reason = "BP 188/104 on two readings: hard stop (CI-04)."
        session.clearance = rules.DEFERRED
        moves.append(
            (S.PRE_CHECK, S.DEFERRED, checked_in + timedelta(minutes=20), "blood_pressure", session.deferral_reason)
        )
    out.rows["sessions"].append(session)
    out.rows["checks"].append(
        (
            session,
            dict(
                last_clear_liquid_at=checked_in - timedelta(hours=3),
                last_light_meal_at=checked_in - timedelta(hours=10),
                last_fatty_meal_at=checked_in - timedelta(hours=14),
                escort_present=True,
                escort_name=escort,
                escort_phone=session.escort_phone,
                childbearing_potential=False,
                medications_changed=False,
                weight_kg=calc.weight_kg,
                outcome=session.clearance,
                evaluated_at=checked_in + timedelta(minutes=10),
                recorded_by=nurse,
                recorded_at=checked_in + timedelta(minutes=10),
                results=[],
                **base,
            ),
        )
    )
    out.rows["responses"].append(
        (session, "phq9", [r.randint(0, 2) for _ in range(8)] + [0], "pre_infusion", checked_in + timedelta(minutes=2))
    )
    if scenario in ("deferred", "pre_check"):
        out.rows["moves"].append((session, moves))
        return
    out.rows["doses"].append((session, calc, nurse, verifier, checked_in + timedelta(minutes=12)))
    moves.append((S.PRE_CHECK, S.CLEARED, started - timedelta(minutes=3), "", ""))
    moves.append((S.CLEARED, S.INFUSING, started, "", ""))
    session.started_at = started
    session.container_lot = f"KET-{appt.start:%y%m}-{r.randint(10, 99)}"
    stop_at: datetime | None = None
    if scenario == "stopped":
        stop_at = started + timedelta(minutes=20)
        ended = stop_at
    intra_end = min(ended, now) if scenario == "infusing" else ended
    t = started
    while t <= intra_end:
        out.rows["readings"].append((session, t, "intra", _vitals(ctx, base, "intra"), nurse))
        t += timedelta(minutes=10)
    if stop_at is not None:  # the "stopped" scenario
        out.rows["readings"].append(
            (
                session,
                stop_at - timedelta(minutes=1),
                "intra",
                {**_vitals(ctx, base, "intra"), "sbp_mmhg": 186, "dbp_mmhg": 102},
                nurse,
            )
        )
        out.rows["events"].append((session, stop_at - timedelta(minutes=2), nurse))
        session.stop_reason_code, session.stop_reason = (
            "adverse_event",
            "Emergence reaction with agitation; BP 186/102.",
        )
        moves.append((S.INFUSING, S.STOPPED_EARLY, stop_at, "adverse_event", session.stop_reason))
        moves.append((S.STOPPED_EARLY, S.RECOVERING, stop_at + timedelta(minutes=1), "", ""))
    if scenario == "infusing":
        out.rows["moves"].append((session, moves))
        return
    session.ended_at = ended
    if scenario != "stopped":
        moves.append((S.INFUSING, S.COMPLETED, ended, "", ""))
        moves.append((S.COMPLETED, S.RECOVERING, ended + timedelta(minutes=1), "", ""))
    post_end = min(now, ended + timedelta(minutes=DEMO_MIN_OBSERVATION_MIN))
    t = ended + timedelta(minutes=15)
    while t <= post_end:
        out.rows["readings"].append((session, t, "post", _vitals(ctx, base, "post"), nurse))
        t += timedelta(minutes=15)
    if scenario == "recovering":
        out.rows["responses"].append(
            (session, "aldrete", [2, 2, 2, 1, 2], "post_infusion", ended + timedelta(minutes=15))
        )
        out.rows["moves"].append((session, moves))
        return
    ready_at = ended + timedelta(minutes=DEMO_MIN_OBSERVATION_MIN)
    out.rows["responses"].append(
        (session, "aldrete", [2, 2, 2, 2, 2], "post_infusion", ready_at - timedelta(minutes=2))
    )
    session.escort_present_at_discharge = True
    session.instructions_given_at = ready_at - timedelta(minutes=1)
    session.instructions_given_by = nurse
    session.readiness = {"ready": True, "reasons": [], "at": ready_at.isoformat()}
    session.discharged_at = ready_at + timedelta(minutes=5)
    moves.append((S.RECOVERING, S.DISCHARGE_READY, ready_at, "", ""))
    moves.append((S.DISCHARGE_READY, S.DISCHARGED, session.discharged_at, "", ""))
    out.rows["moves"].append((session, moves))


def _write(out: _Rows) -> None:
    sessions = out.rows["sessions"]
    for s in sessions:
        s.status_changed_at = None
    InfusionSession.objects.bulk_create(sessions, batch_size=BATCH)
    PreCheck.objects.bulk_create([PreCheck(session=s, **fields) for s, fields in out.rows["checks"]], batch_size=BATCH)
    transitions = []
    for s, moves in out.rows["moves"]:
        for frm, to, at, code, reason in moves:
            transitions.append(
                SessionTransition(
                    session=s, from_status=frm, to_status=to, by=s.created_by, at=at, reason_code=code, reason=reason
                )
            )
    SessionTransition.objects.bulk_create(transitions, batch_size=BATCH)
    doses = []
    for s, calc, by, verifier, at in out.rows["doses"]:
        values = {name: getattr(calc, name) for name in rules.DoseCalculation.__dataclass_fields__}
        values["steps"] = list(calc.steps)
        doses.append(
            DoseCalculation(
                session=s,
                order_id=s.order_id,
                fingerprint=calc.fingerprint,
                calculated_by=by,
                calculated_at=at,
                verified_by=verifier,
                verified_at=at + timedelta(minutes=2),
                verified_fingerprint=calc.fingerprint,
                **values,
            )
        )
    DoseCalculation.objects.bulk_create(doses, batch_size=BATCH)
    policy = InfusionPolicy.objects.get(pk=1)
    readings, alert_specs = [], []
    for s, t, phase, values, by in out.rows["readings"]:
        row = FlowsheetReading(
            session=s, taken_at=t, phase=phase, entered_by=by, entered_at=t + timedelta(seconds=40), **values
        )
        readings.append(row)
        for a in rules.vitals_alerts(row.as_rule_reading(), policy.alert_thresholds):
            alert_specs.append((row, a))
    FlowsheetReading.objects.bulk_create(readings, batch_size=BATCH)
    SessionAlert.objects.bulk_create(
        [
            SessionAlert(
                session=row.session,
                reading=row,
                code=a.code,
                field=a.field,
                severity=a.severity,
                message=a.message[:300],
                source=a.source[:200],
                raised_at=row.entered_at,
                action="" if row.session.status in (S.INFUSING, S.RECOVERING) else "pause",
                action_note="" if row.session.status in (S.INFUSING, S.RECOVERING) else "Paused; infusion stopped.",
                actioned_by=None if row.session.status in (S.INFUSING, S.RECOVERING) else row.entered_by,
                actioned_at=None
                if row.session.status in (S.INFUSING, S.RECOVERING)
                else row.entered_at + timedelta(minutes=1),
            )
            for row, a in alert_specs
        ],
        batch_size=BATCH,
    )
    events = [
        AdverseEvent(
            session=s,
            kind="emergence",
            severity="moderate",
            onset_at=at,
            action_taken="Infusion stopped, quiet room, reassurance; midazolam given.",
            outcome="resolved",
            recorded_by=by,
            recorded_at=at + timedelta(minutes=5),
        )
        for s, at, by in out.rows["events"]
    ]
    AdverseEvent.objects.bulk_create(events)
    midazolam = RescueDrug.objects.filter(name="Midazolam").first()
    DrugGiven.objects.bulk_create(
        [
            DrugGiven(
                adverse_event=e,
                session=e.session,
                formulary=midazolam,
                name="Midazolam",
                dose=Decimal("1"),
                dose_unit="mg",
                route="iv",
                given_at=e.onset_at + timedelta(minutes=3),
                given_by=e.recorded_by,
                controlled=True,
                dea_schedule="CIV",
            )
            for e in events
        ]
    )
    responses = []
    ct = ContentType.objects.get_for_model(InfusionSession)
    for s, code, answers, context, at in out.rows["responses"]:
        result = instruments.score(code, answers)
        responses.append(
            InstrumentResponse(
                patient_id=s.patient_id,
                instrument=code,
                instrument_version=instruments.INSTRUMENTS[code].version,
                answers=answers,
                total=result.total,
                band=result.severity,
                flags=sorted(result.flags),
                context=context,
                entered_by=s.created_by,
                administered_at=at,
                recorded_at=at,
                subject_type=ct,
                subject_id=s.pk,
            )
        )
    InstrumentResponse.objects.bulk_create(responses, batch_size=BATCH)
