"""Intake consultations, baseline questionnaires and treatment plans (synthetic).

Every completed consultation appointment gets a signed intake; today's visits in
progress get drafts (some already screened, awaiting a decision). Screening runs the
real, pure rules on each synthetic intake, so the stored findings, outcome and hash
are exactly what the app would have produced. Rows go in complete, with ``bulk_create``
only. Plans follow what the calendar shows: a patient with an
induction series has an active or completed plan, one with boosters a maintenance plan.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from importlib import import_module
from typing import Any

import pgtrigger
from django.apps import apps as django_apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from assessments import instruments
from assessments.models import InstrumentResponse
from consultations import decisions, rules, selectors
from consultations.choices import Decision, InteractionClass, PlanStatus, TrialResponse
from consultations.forms import default_schedule
from consultations.lifecycle import first_order_content
from consultations.models import (
    AntidepressantTrial,
    Consultation,
    Medication,
    PlanStatusChange,
    Protocol,
    StandingOrder,
    TreatmentPlan,
)
from core import hashing
from demo.context import SeedContext
from patients.models import Patient
from prescribers.selectors import signature_text
from scheduling.models import Appointment, AppointmentStatus

BATCH = 2000
# Bulk import of history, not user changes: skip the row-history insert/update triggers
# (as the scheduling seeder does); history starts with the first real change.
HISTORY_TRIGGERS = (
    "consultations.Consultation:insert_insert",
    "consultations.Consultation:update_update",
    "consultations.Medication:insert_insert",
    "consultations.AntidepressantTrial:insert_insert",
    "consultations.TreatmentPlan:insert_insert",
    "assessments.InstrumentResponse:insert_insert",
)
CLEAN: dict[str, Any] = {
    "active_psychosis": False,
    "psychosis_history": False,
    "bipolar_or_mania": False,
    "substance_use_disorder_active": False,
    "substance_use_disorder_history": False,
    "ketamine_misuse_history": False,
    "hypersensitivity_to_ketamine": False,
    "aneurysmal_vascular_disease": False,
    "arteriovenous_malformation": False,
    "intracerebral_haemorrhage_history": False,
    "stroke_history": False,
    "other_bp_rise_hazard": False,
    "hypertension": False,
    "ischaemic_heart_disease": False,
    "heart_failure": False,
    "other_cardiovascular_disease": False,
    "raised_intracranial_pressure": False,
    "raised_intraocular_pressure": False,
    "hepatic_disease": False,
    "hyperthyroidism": False,
    "cystitis_or_urinary_symptoms": False,
    "medications_complete": True,
    "antidepressant_trials_taken": True,
}
ANTIDEPRESSANTS = ["Sertraline", "Escitalopram", "Fluoxetine", "Venlafaxine", "Duloxetine", "Bupropion", "Mirtazapine"]
BACKGROUND_MEDS = [("Levothyroxine", "50 mcg daily"), ("Atorvastatin", "20 mg daily"), ("Omeprazole", "20 mg daily")]
PRESENTING = [
    "Low mood and anhedonia for over two years despite treatment.",
    "Recurrent depressive episodes; current episode eight months.",
    "Persistent depression after several medication trials; referred for ketamine.",
    "Nightmares, hypervigilance and low mood since an assault.",
    "Burning pain in the right hand and forearm since a wrist fracture.",
]
REFERRERS = ["Self-referred", "Primary care physician", "Outpatient psychiatrist", "Pain clinic"]
JUSTIFICATIONS = {
    "CI-05": "Re-measured at rest; BP monitored every 10 minutes and benefit outweighs a short rise.",
    "CI-12": "In sustained remission for over two years; serial infusions agreed with monitoring.",
    "CI-15": "Benzodiazepine held the night before and morning of each infusion; SpO2 monitored.",
    "CI-06": "Cardiology review on file; baseline ECG normal.",
}
# Scenario weights for completed consultations (the first few are fixed so that even a
# tiny demo shows every state).
SCENARIOS = [("eligible", 0.55), ("override", 0.25), ("ineligible", 0.12), ("declined", 0.08)]
FIXED_FIRST = ["eligible", "override", "ineligible", "override", "declined"]


def _pick(ctx: SeedContext, index: int) -> str:
    if index < len(FIXED_FIRST):
        return FIXED_FIRST[index]
    roll, total = ctx.rng.random(), 0.0
    for name, weight in SCENARIOS:
        total += weight
        if roll < total:
            return name
    return SCENARIOS[0][0]


def _score(code: str, answers) -> tuple[int, str, list[str]]:
    result = instruments.score(code, answers)
    return result.total, result.severity, sorted(result.flags)


def _intake(ctx: SeedContext, scenario: str, sex: str) -> tuple[dict, list[tuple], list[tuple], dict]:
    """(consultation fields, medications, trials, baseline answers) for one scenario."""
    rng = ctx.rng
    fields: dict[str, Any] = dict(CLEAN)
    fields["childbearing_potential"] = sex == "female" and rng.random() < 0.6
    if fields["childbearing_potential"]:
        fields.update(pregnant=False, breastfeeding=False)
    fields["bp_systolic_mmhg"] = rng.randint(108, 138)
    fields["bp_diastolic_mmhg"] = rng.randint(66, 88)
    fields["heart_rate_bpm"] = rng.randint(58, 96)
    fields["spo2_percent"] = rng.randint(95, 100)
    height = Decimal(rng.randint(152, 193)).quantize(Decimal("0.1"))
    fields["height_cm"] = height
    bmi = Decimal(str(round(rng.uniform(19.5, 34.0), 1)))
    fields["weight_kg"] = (bmi * (height / 100) ** 2).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    roll = rng.random()
    indications = ["mdd"]
    if roll < 0.1:
        indications = ["ptsd", "mdd"]
    elif roll < 0.18:
        indications = ["crps"]
    elif roll < 0.3:
        indications = ["mdd", "gad"]
    trials: list[tuple] = []
    if "mdd" in indications:
        adequate = rng.choice([1, 2, 2, 3, 3, 4])
        for drug in rng.sample(ANTIDEPRESSANTS, adequate):
            trials.append(
                (
                    drug,
                    "therapeutic dose",
                    rng.randint(6, 16),
                    True,
                    rng.choice([TrialResponse.NONE, TrialResponse.PARTIAL]),
                )
            )
        if adequate >= 2:
            indications.append("trd")
    fields["indications"] = indications
    fields["icd10_codes"] = ", ".join(
        {"mdd": "F33.2", "ptsd": "F43.10", "crps": "G90.511", "gad": "F41.1"}[c] for c in indications if c != "trd"
    )
    fields["presenting_problem"] = PRESENTING[4] if "crps" in indications else rng.choice(PRESENTING[:4])
    fields["referral_source"] = rng.choice(REFERRERS)
    meds: list[tuple] = [(*rng.choice(BACKGROUND_MEDS), InteractionClass.NONE)] if rng.random() < 0.4 else []
    if trials:
        meds.append((trials[-1][0], "current dose", InteractionClass.NONE))
    if scenario == "override":
        kind = rng.choice(["bp", "bp", "benzo", "sud", "bp_benzo"])
        if kind.startswith("bp"):
            fields["bp_systolic_mmhg"], fields["bp_diastolic_mmhg"] = rng.randint(150, 178), rng.randint(92, 99)
            if rng.random() < 0.5:  # first reading high, re-measured lower but still above 140/90
                fields["bp_remeasure_systolic_mmhg"] = fields["bp_systolic_mmhg"] - rng.randint(4, 8)
                fields["bp_remeasure_diastolic_mmhg"] = fields["bp_diastolic_mmhg"] - rng.randint(1, 2)
                fields["bp_systolic_mmhg"] += 12
        if kind.endswith("benzo"):
            meds.append(("Clonazepam", "0.5 mg at night", InteractionClass.BENZODIAZEPINE))
        if kind == "sud":
            fields["substance_use_disorder_history"] = True
            fields["substance_use"] = "Alcohol use disorder, in sustained remission."
    elif scenario == "ineligible":
        kind = rng.choice(["bp", "aneurysm", "theophylline", "thyroid"])
        if kind == "bp":
            fields["bp_systolic_mmhg"], fields["bp_diastolic_mmhg"] = rng.randint(182, 196), rng.randint(101, 112)
        elif kind == "aneurysm":
            fields["aneurysmal_vascular_disease"] = True
            fields["medical_history"] = "Abdominal aortic aneurysm under surveillance."
        elif kind == "theophylline":
            meds.append(("Theophylline", "300 mg twice daily", InteractionClass.THEOPHYLLINE))
        else:
            fields.update(hyperthyroidism=True, hyperthyroidism_treated=False)
    item9 = 1 if rng.random() < 0.08 else 0
    phq9 = [rng.randint(1, 3) for _ in range(8)] + [item9]
    answers: dict[str, Any] = {"phq9": phq9, "gad7": [rng.randint(0, 3) for _ in range(7)]}
    if item9:
        answers["cssrs_screen"] = {
            "q1": True,
            "q2": False,
            "q3": False,
            "q4": False,
            "q5": False,
            "q6": False,
            "q6_past_3_months": False,
        }
    if "ptsd" in indications:
        answers["pcl5"] = [rng.randint(1, 4) for _ in range(20)]
    if "crps" in indications:
        answers["nrs_pain"] = [rng.randint(5, 9)]
    return fields, meds, trials, answers


def _consultation_appointments(ctx: SeedContext) -> list[dict]:
    ids = (getattr(ctx, "appointments", None) or {}).get("consultation", [])
    if not ids:
        return []
    return [
        dict(row)
        for row in Appointment.objects.filter(pk__in=ids)
        .values("id", "patient_id", "clinician_id", "start", "end", "status")
        .order_by("start", "id")
    ]


def _infusion_history(ctx: SeedContext) -> dict[int, dict[str, Any]]:
    """Per patient: number of infusions, last infusion start, any boosters, any in the future."""
    ids = [pk for code in ("infusion", "booster") for pk in (getattr(ctx, "appointments", None) or {}).get(code, [])]
    out: dict[int, dict[str, Any]] = defaultdict(lambda: {"infusions": 0, "boosters": 0, "future": False})
    now = timezone.now()
    for row in Appointment.objects.filter(pk__in=ids).values("patient_id", "appointment_type__code", "start", "status"):
        if row["status"] in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
            continue
        info = out[row["patient_id"]]
        info["boosters" if row["appointment_type__code"] == "booster" else "infusions"] += 1
        info["future"] = info["future"] or row["start"] > now
    return out


def seed(ctx: SeedContext) -> None:
    appointments = _consultation_appointments(ctx)
    patients = {
        p.pk: p
        for p in Patient.objects.filter(pk__in={a["patient_id"] for a in appointments}).only(
            "id", "mrn", "date_of_birth", "sex_at_birth"
        )
    }
    fallback = ctx.staff.get("dr.chen") or ctx.staff.get("clinician")
    if fallback is None or not patients:
        ctx.counts["consultations"] = 0
        return
    staff_by_id = {u.pk: u for u in ctx.staff.values()}
    now = timezone.now()
    history = _infusion_history(ctx)
    policy = selectors.screening_thresholds()
    if not Protocol.objects.exists():  # the library of migration 0002 (gone after a test flush)
        import_module("consultations.migrations.0002_protocol_library").forwards(django_apps, None)
    protocols = {p.name.split(":")[0]: p for p in Protocol.objects.all()}
    consult_type = ContentType.objects.get_for_model(Consultation)

    rows: list[dict[str, Any]] = []
    completed_index = 0
    for appt in appointments:
        status = appt["status"]
        if status == AppointmentStatus.COMPLETED:
            scenario = _pick(ctx, completed_index)
            completed_index += 1
        elif status in (AppointmentStatus.IN_PROGRESS, AppointmentStatus.CHECKED_IN):
            scenario = "draft"
        else:
            continue  # not yet seen, cancelled or a no-show: no intake
        patient = patients[appt["patient_id"]]
        fields, meds, prior_trials, answers = _intake(
            ctx, "eligible" if scenario in ("draft", "declined") else scenario, patient.sex_at_birth
        )
        clinician = staff_by_id.get(appt["clinician_id"], fallback)
        rows.append(
            {
                "appt": appt,
                "scenario": scenario,
                "patient": patient,
                "clinician": clinician,
                "fields": fields,
                "meds": meds,
                "trials": prior_trials,
                "answers": answers,
            }
        )

    # Ids are allocated up front so that every row is complete when inserted: children and
    # questionnaires first, then the consultations already signed (the foreign keys are
    # checked at commit; the lock trigger only refuses children of a consultation that is
    # already signed). No bulk UPDATE, which would cost more than all the inserts.
    ids = _allocate(Consultation, len(rows))
    consultations: list[Consultation] = []
    medications: list[Medication] = []
    trials: list[AntidepressantTrial] = []
    responses: list[InstrumentResponse] = []
    signed: list[tuple[dict, Consultation]] = []
    children: dict[int, tuple[list, list, dict]] = {}  # a signed consultation's (medications, trials, responses)
    for row, pk in zip(rows, ids, strict=True):
        c, m, t, r = _build(ctx, row, pk, consult_type)
        day = timezone.localtime(row["appt"]["start"]).date()
        facts = selectors.intake_facts(c, medications=m, trials=t, responses=r)
        result = rules.screen(facts, policy, today=day)
        if row["scenario"] == "draft":
            if ctx.rng.random() < 0.5:  # screened, awaiting the clinician's decision
                c.screening, c.screened_at, c.screened_facts_sha256 = (
                    result.as_dict(),
                    now,
                    selectors.facts_sha256(facts),
                )
        else:
            _sign(c, row, m, t, r, result, facts)
            children[pk] = (m, t, r)
            signed.append((row, c))
        consultations.append(c)
        medications += m
        trials += t
        responses += r.values()
    for model, objs in ((Medication, medications), (AntidepressantTrial, trials), (InstrumentResponse, responses)):
        for obj, pk in zip(objs, _allocate(model, len(objs)), strict=True):
            obj.pk = pk
    for c in consultations:
        if c.status == Consultation.Status.SIGNED:
            m, t, r = children[c.pk]
            content = {**selectors.record_content(c, medications=m, trials=t, responses=r), **c.signed_content}
            c.signed_content = hashing.normalised(content)
            c.content_sha256 = hashing.content_sha256(c.signed_content)
    plans, changes = _plans(ctx, signed, history, protocols, now)
    with pgtrigger.ignore(*HISTORY_TRIGGERS):
        Medication.objects.bulk_create(medications, batch_size=BATCH)
        AntidepressantTrial.objects.bulk_create(trials, batch_size=BATCH)
        InstrumentResponse.objects.bulk_create(responses, batch_size=BATCH)
        Consultation.objects.bulk_create(consultations, batch_size=BATCH)
        TreatmentPlan.objects.bulk_create(plans, batch_size=BATCH)
    PlanStatusChange.objects.bulk_create(
        [
            PlanStatusChange(plan=p, from_status=a, to_status=b, by=p.created_by, at=at, reason=reason)
            for p, moves in zip(plans, changes, strict=True)
            for a, b, at, reason in moves
        ],
        batch_size=BATCH,
    )
    _first_orders(plans, changes)
    _walk_in_drafts(ctx)
    ctx.counts["consultations"] = len(consultations) + ctx.counts.get("walk-in drafts", 0)
    ctx.counts["signed consultations"] = len(signed)
    ctx.counts["baseline questionnaires"] = len(responses)
    ctx.counts["treatment plans"] = len(plans)


def _first_orders(plans, changes) -> None:
    """Version 1 of each activated plan's standing order, signed when the plan was activated
    (as ``services.plan_transition`` does)."""

    signatures: dict[int, str] = {}
    orders = []
    for plan, moves in zip(plans, changes, strict=True):
        activated = next((at for _, to, at, _ in moves if to == PlanStatus.ACTIVE), None)
        if activated is None:
            continue
        if plan.created_by_id not in signatures:
            signatures[plan.created_by_id] = signature_text(plan.created_by)
        orders.append(
            StandingOrder(
                plan=plan,
                number=1,
                dose_unit=plan.dose_unit,
                **first_order_content(plan),
                signed_by_id=plan.created_by_id,
                signed_at=activated,
                signed_credential=signatures[plan.created_by_id],
            )
        )
    StandingOrder.objects.bulk_create(orders, batch_size=BATCH)


def _allocate(model, count: int) -> list[int]:
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [value for (value,) in cursor.fetchall()]


def _build(ctx: SeedContext, row: dict, pk: int, consult_type) -> tuple[Consultation, list, list, dict]:
    """The consultation (unsaved, with its id) and its children, ready to insert."""
    at = row["appt"]["start"]
    draft = row["scenario"] == "draft"
    fields = dict(row["fields"])
    if draft and ctx.rng.random() < 0.5:  # a draft still missing its vitals and some history
        fields = {k: v for k, v in fields.items() if not k.startswith(("bp_", "hyper", "hepatic"))}
    c = Consultation(
        pk=pk,
        patient_id=row["patient"].pk,
        appointment_id=row["appt"]["id"],
        clinician=row["clinician"],
        created_by=row["clinician"],
        updated_by=row["clinician"],
        **fields,
    )
    c.patient = row["patient"]
    m = [Medication(consultation=c, name=n, dose=d, interaction_class=k) for n, d, k in row["meds"]]
    t = [
        AntidepressantTrial(consultation=c, drug=n, dose=d, duration_weeks=w, adequate=a, response=r)
        for n, d, w, a, r in row["trials"]
    ]
    administered = at + timedelta(minutes=15)
    responses = {}
    for code, answers in row["answers"].items():
        if draft and code != "phq9":
            continue
        total, band, flags = _score(code, answers)
        responses[code] = InstrumentResponse(
            patient_id=c.patient_id,
            instrument=code,
            instrument_version=instruments.INSTRUMENTS[code].version,
            answers=answers,
            total=total,
            band=band,
            flags=flags,
            context="baseline",
            source="clinician",
            entered_by=row["clinician"],
            administered_at=administered,
            recorded_at=administered,
            subject_type=consult_type,
            subject_id=pk,
        )
    return c, m, t, responses


def _sign(c: Consultation, row: dict, m: list, t: list, r: dict, result, facts) -> None:
    """Fill the sign-off exactly as ``services.consultation_sign`` would have."""
    decision, note, kept = _decide(row["scenario"], result)
    signed_at = row["appt"]["end"]
    c.screening, c.screened_at, c.screened_facts_sha256 = result.as_dict(), signed_at, selectors.facts_sha256(facts)
    c.decision, c.decision_note, c.justifications = decision, note, kept
    c.screening_outcome, c.rule_set_version = str(result.outcome), result.rule_set_version
    c.signed_at, c.signed_by, c.status, c.version = signed_at, row["clinician"], Consultation.Status.SIGNED, 2
    c.signed_content = {  # ids of the children are filled in once allocated (see seed)
        "decision": decision,
        "decision_note": note,
        "justifications": kept,
        "screening": result.as_dict(),
        "signed_by": {"id": row["clinician"].pk, "name": str(row["clinician"])},
        "signed_at": signed_at.isoformat(),
    }


def _decide(scenario: str, result: rules.ScreeningResult) -> tuple[str, str, dict[str, str]]:
    if result.outcome == rules.Outcome.INELIGIBLE:
        return Decision.INELIGIBLE, "Absolute contraindication on screening; discussed with the patient.", {}
    if scenario == "declined":
        return Decision.INELIGIBLE, "Patient chose to continue psychotherapy before considering ketamine.", {}
    if result.outcome == rules.Outcome.ELIGIBLE:
        return Decision.ELIGIBLE, "", {}
    kept = {
        f.rule_id: JUSTIFICATIONS.get(f.rule_id, "Reviewed with the patient; monitoring planned.")
        for f in decisions.findings_to_justify(result.findings)
    }
    return Decision.ELIGIBLE_OVERRIDE, "", kept


def _plans(ctx, signed, history, protocols, now):
    plans, changes, planned_patients = [], [], set()
    latest = {}
    for row, c in signed:  # a patient's latest proceeding consultation carries the plan
        if c.decision in (Decision.ELIGIBLE, Decision.ELIGIBLE_OVERRIDE):
            latest[c.patient_id] = (row, c)
    for row, c in latest.values():
        if c.patient_id in planned_patients:
            continue
        planned_patients.add(c.patient_id)
        info = history.get(c.patient_id, {"infusions": 0, "boosters": 0, "future": False})
        crps = "crps" in c.indications
        protocol = protocols["CRPS" if crps else "Depression/TRD"]
        indication = "crps" if crps else "mdd"
        weight = c.weight_kg
        dose = protocol.dose_min
        per_infusion = dose * weight * (Decimal(protocol.infusion_minutes) / 60 if crps else 1)
        created = row["appt"]["end"] + timedelta(minutes=10)
        activated = created + timedelta(hours=2)
        moves = [("", PlanStatus.DRAFT, created, ""), (PlanStatus.DRAFT, PlanStatus.ACTIVE, activated, "")]
        status = PlanStatus.ACTIVE
        if info["infusions"] and not info["future"]:
            status = PlanStatus.COMPLETED
            moves.append((PlanStatus.ACTIVE, PlanStatus.COMPLETED, activated + timedelta(days=21), ""))
            if info["boosters"]:
                status = PlanStatus.MAINTENANCE
                moves.append((PlanStatus.COMPLETED, PlanStatus.MAINTENANCE, activated + timedelta(days=35), ""))
        elif not info["infusions"] and row["appt"]["end"] < now - timedelta(days=60):
            status = PlanStatus.DISCONTINUED
            moves.append(
                (
                    PlanStatus.ACTIVE,
                    PlanStatus.DISCONTINUED,
                    activated + timedelta(days=30),
                    "Patient did not book the series.",
                )
            )
        elif not info["infusions"] and ctx.rng.random() < 0.15:
            status = PlanStatus.ON_HOLD
            moves.append(
                (PlanStatus.ACTIVE, PlanStatus.ON_HOLD, activated + timedelta(days=1), "Awaiting insurance decision.")
            )
        plans.append(
            TreatmentPlan(
                consultation=c,
                patient_id=c.patient_id,
                indication=indication,
                protocol=protocol,
                dose=dose,
                dose_unit=protocol.dose_unit,
                infusion_minutes=protocol.infusion_minutes,
                weight_basis=protocol.default_weight_basis,
                max_dose_mg=per_infusion.quantize(Decimal("1"), rounding=ROUND_HALF_UP),
                sessions_planned=protocol.sessions,
                sessions_per_week=ctx.rng.choice([2, 3]) if not crps else 7,
                measurement_schedule=default_schedule(indication),
                status=status,
                status_changed_at=moves[-1][2],
                version=len(moves),
                created_by=c.signed_by,
            )
        )
        changes.append(moves)
    return plans, changes


def _walk_in_drafts(ctx: SeedContext) -> None:
    """Two drafts for the demo clinician (one screened), so the home page shows its lists."""
    clinician = ctx.staff.get("clinician")
    if clinician is None:
        return
    taken = set(Consultation.objects.values_list("patient_id", flat=True))
    free = [pk for pk in ctx.patient_ids if pk not in taken][:2]
    for n, patient_id in enumerate(free):
        c = Consultation.objects.create(
            patient_id=patient_id,
            clinician=clinician,
            created_by=clinician,
            updated_by=clinician,
            presenting_problem="Walk-in assessment, intake in progress.",
            indications=["mdd"],
        )
        if n == 0:
            facts = selectors.intake_facts(c, medications=[], trials=[], responses={})
            result = rules.screen(facts, selectors.screening_thresholds(), today=ctx.today)
            Consultation.objects.filter(pk=c.pk).update(
                screening=result.as_dict(),
                screened_at=timezone.now(),
                screened_facts_sha256=selectors.facts_sha256(facts),
            )
    ctx.counts["walk-in drafts"] = len(free)
