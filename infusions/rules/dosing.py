"""Dosing weight, protocols and the dose calculation with every step."""

from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Final, Literal

from consultations.vitals import kg_from_lb
from infusions.rules._common import (
    _CONTEXT,
    _MIN_PER_H,
    CONCENTRATION_QUANTUM_MG_PER_ML,
    DOSE_QUANTUM_MG,
    MG_PER_KG_QUANTUM,
    RATE_QUANTUM_ML_PER_H,
    VOLUME_QUANTUM_ML,
    WEIGHT_QUANTUM_KG,
    DoseError,
    RuleInputError,
    _f,
    _q,
    _require_decimal,
    _require_minutes,
    _require_positive,
)

WEIGHT_BASES: Final = ("actual", "ideal", "adjusted")
# The reference keeps the weight basis configurable per plan with no sourced default
# (5.1, 5.3 "Dose arithmetic"); actual body weight is the default because it needs no
# formula the reference does not cite.
DEFAULT_WEIGHT_BASIS: Final = "actual"
# Input plausibility limits, NOT clinical thresholds: clinic policy, administrator-editable,
# the same as the intake's (consultations/vitals.py) so a value accepted there is accepted
# here. They catch a mistyped or wrong-unit weight (lb for kg, 3 kg).
WEIGHT_PLAUSIBLE_RANGE_KG: Final = (Decimal("25"), Decimal("350"))
HEIGHT_PLAUSIBLE_RANGE_CM: Final = (Decimal("100"), Decimal("250"))
# What the database accepts at all for a recorded weight (input limit, not clinical): above
# any human weight, so a value past it is a typing error whatever the clinic's range.
WEIGHT_POSSIBLE_MAX_KG: Final = Decimal("700")
# Devine ideal body weight and the 0.4 adjusted-weight factor: standard pharmacy formulas,
# NOT in clinical-reference.md — clinic to confirm before choosing "ideal" or "adjusted".
DEVINE_BASE_KG: Final = {"male": Decimal("50"), "female": Decimal("45.5")}
DEVINE_KG_PER_INCH_OVER_5_FT: Final = Decimal("2.3")
DEVINE_BASE_HEIGHT_IN: Final = Decimal("60")
CM_PER_INCH: Final = Decimal("2.54")
DEVINE_MIN_HEIGHT_CM: Final = DEVINE_BASE_HEIGHT_IN * CM_PER_INCH  # the formula counts inches over 5 ft
ADJUSTED_WEIGHT_FACTOR: Final = Decimal("0.4")


@dataclass(frozen=True, slots=True)
class DosingWeight:
    """The weight a dose is calculated on, with every step. ``ideal_kg``/``adjusted_kg``
    are None when the basis did not need them."""

    basis: str
    actual_kg: Decimal
    ideal_kg: Decimal | None
    adjusted_kg: Decimal | None
    weight_kg: Decimal
    limited_to_actual: bool
    steps: tuple[str, ...]


def _check_weight(error: type[RuleInputError], field: str, value: object, limits: tuple[Decimal, Decimal]) -> Decimal:
    weight = _require_positive(error, field, value, "kg")
    low, high = limits
    if not low <= weight <= high:
        raise error(
            field,
            f"{_f(weight)} kg is outside the plausible range {_f(low)}–{_f(high)} kg "
            "(input plausibility limit, clinic policy; check the scale and the unit)",
        )
    return weight


def dosing_weight_kg(
    *,
    actual_kg: Decimal,
    height_cm: Decimal | None = None,
    sex: str = "",
    basis: str = DEFAULT_WEIGHT_BASIS,
    weight_range_kg: tuple[Decimal, Decimal] = WEIGHT_PLAUSIBLE_RANGE_KG,
) -> DosingWeight:
    """Weight for the plan's basis: actual, ideal (Devine) or adjusted (IBW + 0.4 × (actual
    − IBW)).

    Why: the reference leaves the basis to the plan and cites no formula (5.3 "Dose
    arithmetic"). Devine IBW (male 50 kg, female 45.5 kg, + 2.3 kg per inch over 5 ft) and
    the 0.4 adjusted-weight factor are the standard pharmacy formulas, not in
    clinical-reference.md — clinic to confirm. ``sex`` is sex at birth, "female" or "male";
    the formulas have no other branch, so anything else is refused for ideal/adjusted.
    The formula is defined from 5 ft (152.4 cm) up; shorter patients are refused for
    ideal/adjusted. A calculated weight above the actual weight is replaced by it (never
    dose a light patient on a heavier formula weight), recorded as ``limited_to_actual``.
    """
    if basis not in WEIGHT_BASES:
        raise DoseError("basis", f"unknown weight basis {basis!r} (use one of {', '.join(WEIGHT_BASES)})")
    with localcontext(_CONTEXT):
        actual = _q(_check_weight(DoseError, "actual_kg", actual_kg, weight_range_kg), WEIGHT_QUANTUM_KG)
        steps = [f"Actual weight: {_f(actual)} kg (rounded half-up to {WEIGHT_QUANTUM_KG} kg)"]
        if basis == "actual":
            steps.append(f"Weight basis: actual → {_f(actual)} kg")
            return DosingWeight(basis, actual, None, None, actual, False, tuple(steps))

        if sex not in DEVINE_BASE_KG:
            raise DoseError(
                "sex",
                f"the {basis} weight formula needs sex at birth 'female' or 'male', got {sex!r}; "
                "use actual weight or record it",
            )
        if height_cm is None:
            raise DoseError("height_cm", f"the {basis} weight formula needs today's height in cm")
        height = _require_positive(DoseError, "height_cm", height_cm, "cm")
        low, high = HEIGHT_PLAUSIBLE_RANGE_CM
        if not low <= height <= high:
            raise DoseError(
                "height_cm",
                f"{_f(height)} cm is outside the plausible range {_f(low)}–{_f(high)} cm "
                "(input plausibility limit, clinic policy)",
            )
        if height < DEVINE_MIN_HEIGHT_CM:
            raise DoseError(
                "height_cm",
                f"the Devine formula counts inches over 5 ft ({_f(DEVINE_MIN_HEIGHT_CM.normalize())} cm); "
                f"{_f(height)} cm is below it: use actual weight or a clinician-chosen weight",
            )
        inches = height / CM_PER_INCH
        ideal = _q(
            DEVINE_BASE_KG[sex] + DEVINE_KG_PER_INCH_OVER_5_FT * (inches - DEVINE_BASE_HEIGHT_IN), WEIGHT_QUANTUM_KG
        )
        steps.append(
            f"Ideal weight (Devine, {sex}): {_f(DEVINE_BASE_KG[sex])} + {_f(DEVINE_KG_PER_INCH_OVER_5_FT)} × "
            f"({_f(height)} cm ÷ {_f(CM_PER_INCH)} − {_f(DEVINE_BASE_HEIGHT_IN)} in) = {_f(ideal)} kg "
            "(standard pharmacy formula, not in the clinical reference)"
        )
        adjusted = None
        chosen = ideal
        if basis == "adjusted":
            adjusted = _q(ideal + ADJUSTED_WEIGHT_FACTOR * (actual - ideal), WEIGHT_QUANTUM_KG)
            steps.append(
                f"Adjusted weight: {_f(ideal)} + {_f(ADJUSTED_WEIGHT_FACTOR)} × ({_f(actual)} − {_f(ideal)}) "
                f"= {_f(adjusted)} kg"
            )
            chosen = adjusted
        limited = chosen > actual
        if limited:
            steps.append(f"{basis.capitalize()} weight {_f(chosen)} kg exceeds actual {_f(actual)} kg: using actual")
            chosen = actual
        steps.append(f"Weight basis: {basis} → {_f(chosen)} kg")
        return DosingWeight(basis, actual, ideal, adjusted, chosen, limited, tuple(steps))


def weight_change_problem(
    *, weight_kg: Decimal, reference_kg: Decimal | None, reference: str, threshold_percent: Decimal
) -> str:
    """Why a weight needs an explicit confirmation ("" when it does not): it differs from the
    last recorded weight (``reference`` says which: the last pre-check, the intake) by more
    than ``threshold_percent`` (bounded clinic policy, default 10 %). The commonest cause is a
    weight in pounds typed as kilograms (176 for an 80 kg patient, 1.1 mg/kg instead of 0.5)."""

    if weight_kg is None or reference_kg is None or reference_kg <= 0:
        return ""
    with localcontext(_CONTEXT):
        change = abs(weight_kg - reference_kg) / reference_kg * 100
        if change <= threshold_percent:
            return ""
        direction = "more" if weight_kg > reference_kg else "less"
        return (
            f"{_f(weight_kg)} kg is {_f(_q(change, Decimal(1)))} % {direction} than {reference} "
            f"({_f(reference_kg)} kg), above the {_f(threshold_percent.normalize())} % that needs confirming "
            f"(clinic policy): check the scale and the unit ({_f(weight_kg)} lb would be "
            f"{_f(kg_from_lb(weight_kg))} kg), then confirm the weight with a reason."
        )


VIAL_CONCENTRATIONS_MG_PER_ML: Final = frozenset({Decimal(10), Decimal(50), Decimal(100)})  # [S24]
UNDILUTED_IV_FORBIDDEN_MG_PER_ML: Final = Decimal(100)  # dilute with an equal volume [S24][S25]
PAIN_BOLUS_MAX_MG_PER_KG: Final = Decimal("0.35")  # ASRA: bolus up to 0.35 mg/kg [S11]


@dataclass(frozen=True, slots=True)
class DosingProtocol:
    """A default protocol for the plan library. ``dose`` is mg/kg over ``duration_min``
    (form "mg_per_kg") or mg/kg/h (form "mg_per_kg_per_h"); ``dose_max`` is what
    calculate_* refuse above. ``duration_min`` None: the reference gives none, the plan
    must set it."""

    code: str
    label: str
    form: Literal["mg_per_kg", "mg_per_kg_per_h"]
    dose: Decimal
    dose_min: Decimal
    dose_max: Decimal
    duration_min: int | None
    source: str


PROTOCOLS: Final = {
    # 0.5 mg/kg over 40 min is the most used and studied dose; reported range ~0.1–0.75
    # mg/kg [S1][S2][S3]. 0.75 as the protocol maximum is the top of that studied range,
    # not a guideline ceiling: clinician to confirm.
    "depression_trd": DosingProtocol(
        "depression_trd",
        "Depression/TRD: 0.5 mg/kg IV over 40 min",
        "mg_per_kg",
        Decimal("0.5"),
        Decimal("0.1"),
        Decimal("0.75"),
        40,
        "[S1][S2][S3]",
    ),
    # ASRA infusion range 0.5–2 mg/kg/h [S10][S11]; 7 mg/kg/h is ICU-only, not a clinic max.
    "chronic_pain": DosingProtocol(
        "chronic_pain",
        "Chronic pain: 0.5–2 mg/kg/h IV",
        "mg_per_kg_per_h",
        Decimal("0.5"),
        Decimal("0.5"),
        Decimal("2"),
        None,
        "[S10][S11]",
    ),
    # CRPS regimen: 0.35 mg/kg/h over 4 h daily × 10 days [S11][S12]; max = ASRA top of range.
    "crps": DosingProtocol(
        "crps",
        "CRPS: 0.35 mg/kg/h IV over 4 h",
        "mg_per_kg_per_h",
        Decimal("0.35"),
        Decimal("0.35"),
        Decimal("2"),
        240,
        "[S11][S12]",
    ),
}


# --- Ceilings of the medication loop (bounded clinic policy) ----------------------------
# Each default carries its source; each has hard bounds an administrator cannot pass.
# Infusion rate: ASRA infusions 0.5–2 mg/kg/h [S11]; 7 mg/kg/h is ICU-only, never a clinic
# ceiling. The ceiling may be set within that range, default its top.
MAX_RATE_MG_PER_KG_PER_H_DEFAULT: Final = Decimal("2")
MAX_RATE_MG_PER_KG_PER_H_BOUNDS: Final = (Decimal("0.5"), Decimal("2"))  # [S11]
# Duration: 0.5 mg/kg over 40 min is the most used and studied dose [S1][S2]; studied
# session durations range from 2 to 100 min [S2][S3] (the minimum's bounds). The maximum
# defaults to the CRPS regimen's 4 h [S11][S12]; its bounds are clinic policy.
MIN_INFUSION_MINUTES_DEFAULT: Final = 40
MIN_INFUSION_MINUTES_BOUNDS: Final = (2, 100)  # [S2][S3]
MAX_INFUSION_MINUTES_DEFAULT: Final = 240  # [S11][S12]
MAX_INFUSION_MINUTES_BOUNDS: Final = (40, 480)  # clinic policy
# Total infusion volume: clinic policy (the reference gives no number). A bag smaller than
# this loses a large share of the dose to the line's dead space.
MIN_TOTAL_VOLUME_ML_DEFAULT: Final = Decimal("20")
MIN_TOTAL_VOLUME_ML_BOUNDS: Final = (Decimal("5"), Decimal("250"))  # clinic policy


@dataclass(frozen=True, slots=True)
class DosingLimits:
    """The clinic's ceilings on a calculation (administrator-set within the bounds above)."""

    max_rate_mg_per_kg_per_h: Decimal = MAX_RATE_MG_PER_KG_PER_H_DEFAULT
    min_duration_min: int = MIN_INFUSION_MINUTES_DEFAULT
    max_duration_min: int = MAX_INFUSION_MINUTES_DEFAULT
    min_total_volume_ml: Decimal = MIN_TOTAL_VOLUME_ML_DEFAULT


DEFAULT_DOSING_LIMITS: Final = DosingLimits()
# For callers of the pure arithmetic alone (its own tests, the demo's probes): nothing refused.
NO_CEILINGS: Final = DosingLimits(Decimal("Infinity"), 0, 10**6, Decimal(0))


def limit_problems(
    *,
    duration_min: Decimal,
    mg_per_kg_per_h: Decimal,
    limits: DosingLimits,
    total_volume_ml: Decimal | None = None,
) -> dict[str, str]:
    """Why a duration, an infusion rate or a bag volume breaks the clinic's ceilings, by field
    ({} if none); each message names the limit. The one rule behind writing a plan, signing an
    order, calculating the dose and changing the rate on the flowsheet (``total_volume_ml``
    None: not known yet — a plan or an order has no bag; the calculation passes it)."""
    problems = {}
    if not limits.min_duration_min <= duration_min <= limits.max_duration_min:
        problems["duration_min"] = (
            f"{_f(duration_min)} min is outside the clinic's infusion duration "
            f"{limits.min_duration_min}–{limits.max_duration_min} min"
        )
    if mg_per_kg_per_h > limits.max_rate_mg_per_kg_per_h:
        problems["mg_per_kg_per_h"] = (
            f"{_f(mg_per_kg_per_h)} mg/kg/h is above the clinic's ceiling "
            f"{_f(limits.max_rate_mg_per_kg_per_h)} mg/kg/h (ASRA infusions 0.5–2 mg/kg/h [S11])"
        )
    if total_volume_ml is not None and total_volume_ml < limits.min_total_volume_ml:
        problems["total_volume_ml"] = (
            f"{_f(total_volume_ml)} mL in total is below the clinic's minimum infusion volume "
            f"{_f(limits.min_total_volume_ml)} mL (clinic policy)"
        )
    return problems


def rate_mg_per_kg_per_h(*, rate_ml_per_h: Decimal, mg_per_ml: Decimal, weight_kg: Decimal) -> Decimal:
    """What a pump rate delivers: mL/h × mg/mL ÷ kg, to 0.0001 mg/kg/h."""
    with localcontext(_CONTEXT):
        return _q(rate_ml_per_h * mg_per_ml / weight_kg, MG_PER_KG_QUANTUM)


@dataclass(frozen=True, slots=True)
class PumpLimits:
    """The configured pump's programmable range (device configuration, not clinical)."""

    min_rate_ml_per_h: Decimal
    max_rate_ml_per_h: Decimal
    max_total_ml: Decimal


@dataclass(frozen=True, slots=True)
class DoseCalculation:
    """Every step of one calculation, for the record and the second-person check.

    ``ordered_dose_mg`` is the prescribed dose after the cap; ``dose_mg`` is what the
    drawn volume holds (``drug_volume_ml`` × vial), the dose actually given. They differ
    by at most half a volume step × vial concentration (0.5 mg at 100 mg/mL) and
    ``dose_mg`` never exceeds ``max_mg``. ``mg_per_kg`` is the prescription (for the rate
    form, mg/kg/h × hours); ``mg_per_kg_per_h`` is what ``dose_mg`` delivers.
    """

    form: str
    weight_kg: Decimal
    mg_per_kg: Decimal
    prescribed_mg_per_kg_per_h: Decimal | None
    duration_min: Decimal
    uncapped_dose_mg: Decimal
    max_mg: Decimal
    capped: bool
    ordered_dose_mg: Decimal
    vial_mg_per_ml: Decimal
    drug_volume_ml: Decimal
    dose_mg: Decimal
    diluent_ml: Decimal
    total_volume_ml: Decimal
    final_mg_per_ml: Decimal
    rate_ml_per_h: Decimal
    mg_per_kg_per_h: Decimal
    steps: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        """Stable hash of the whole calculation: a verification records it, and any change
        to the dose afterwards no longer matches (the verification is void)."""
        canonical = "|".join("" if v is None else (_f(v) if isinstance(v, Decimal) else str(v)) for v in astuple(self))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _check_pump(pump_limits: object) -> PumpLimits:
    if not isinstance(pump_limits, PumpLimits):
        raise DoseError("pump_limits", f"must be PumpLimits, got {type(pump_limits).__name__}")
    low = _require_positive(DoseError, "pump_limits", pump_limits.min_rate_ml_per_h, "mL/h")
    high = _require_positive(DoseError, "pump_limits", pump_limits.max_rate_ml_per_h, "mL/h")
    _require_positive(DoseError, "pump_limits", pump_limits.max_total_ml, "mL")
    if low > high:
        raise DoseError("pump_limits", f"minimum rate {_f(low)} mL/h is above maximum {_f(high)} mL/h")
    return pump_limits


def _dose_arithmetic(
    *,
    form: str,
    weight: Decimal,
    mg_per_kg: Decimal,
    prescribed_rate: Decimal | None,
    uncapped: Decimal,
    dose_step: str,
    max_mg: Decimal,
    vial: Decimal,
    diluent: Decimal,
    duration: Decimal,
    pump: PumpLimits,
    limits: DosingLimits | None,
) -> DoseCalculation:
    """Cap → draw → dilute → rate, shared by both protocol forms (5.3 "Dose arithmetic").
    ``limits`` None: the clinic's ceilings are not applied (the services always pass them)."""
    ceilings_given = limits is not None
    limits = limits or NO_CEILINGS
    if problem := limit_problems(duration_min=duration, mg_per_kg_per_h=Decimal(0), limits=limits):
        raise DoseError("duration_min", problem["duration_min"])
    hours = duration / _MIN_PER_H
    steps = [f"Weight used: {_f(weight)} kg (rounded half-up to {WEIGHT_QUANTUM_KG} kg)", dose_step]
    capped = uncapped > max_mg
    ordered = max_mg if capped else uncapped
    if capped:
        steps.append(f"Cap: {_f(uncapped)} mg is above the plan maximum {_f(max_mg)} mg → capped at {_f(max_mg)} mg")
    else:
        steps.append(f"Cap: {_f(uncapped)} mg ≤ plan maximum {_f(max_mg)} mg → not capped")

    drug_volume = _q(ordered / vial, VOLUME_QUANTUM_ML)
    rounding_note = f"rounded half-up to {VOLUME_QUANTUM_ML} mL"
    if drug_volume * vial > max_mg:
        # Half-up would put the drawn dose over the cap; the cap wins.
        drug_volume = _q(ordered / vial, VOLUME_QUANTUM_ML, ROUND_DOWN)
        rounding_note = f"rounded down to {VOLUME_QUANTUM_ML} mL so the drawn dose stays within the cap"
    if drug_volume <= 0:
        raise DoseError(
            "drug_volume_ml",
            f"{_f(ordered)} mg at {_f(vial)} mg/mL is less than {VOLUME_QUANTUM_ML} mL: use a lower vial concentration",
        )
    dose = _q(drug_volume * vial, DOSE_QUANTUM_MG)  # exact: 0.01 mL × 10/50/100 mg/mL
    steps.append(
        f"Drug volume: {_f(ordered)} mg ÷ {_f(vial)} mg/mL = {_f(drug_volume)} mL ({rounding_note}) "
        f"→ {_f(dose)} mg drawn"
    )

    if vial == UNDILUTED_IV_FORBIDDEN_MG_PER_ML and diluent < drug_volume:
        if diluent == 0:
            message = "the 100 mg/mL concentration must not be given IV without dilution [S24][S25]"
        else:
            message = (
                f"dilute 100 mg/mL with at least an equal volume ({_f(drug_volume)} mL); "
                f"{_f(diluent)} mL is not enough [S24][S25]"
            )
        raise DoseError("diluent_ml", message)
    total = drug_volume + diluent
    steps.append(f"Total volume: {_f(drug_volume)} mL drug + {_f(diluent)} mL diluent = {_f(total)} mL")
    if problem := limit_problems(
        duration_min=duration, mg_per_kg_per_h=Decimal(0), limits=limits, total_volume_ml=total
    ):
        raise DoseError("diluent_ml", f"{problem['total_volume_ml']}: add diluent")
    final = _q(dose / total, CONCENTRATION_QUANTUM_MG_PER_ML)
    if final <= 0:
        raise DoseError(
            "final_mg_per_ml",
            f"{_f(dose)} mg in {_f(total)} mL is below {CONCENTRATION_QUANTUM_MG_PER_ML} mg/mL: use less diluent",
        )
    steps.append(
        f"Final concentration: {_f(dose)} mg ÷ {_f(total)} mL = {_f(final)} mg/mL "
        f"(rounded half-up to {CONCENTRATION_QUANTUM_MG_PER_ML} mg/mL)"
    )
    rate = _q(total / hours, RATE_QUANTUM_ML_PER_H)
    steps.append(
        f"Rate: {_f(total)} mL ÷ ({_f(duration)} min ÷ 60) = {_f(rate)} mL/h "
        f"(rounded half-up to {RATE_QUANTUM_ML_PER_H} mL/h)"
    )
    if rate <= 0:
        raise DoseError("rate_ml_per_h", f"{_f(total)} mL over {_f(duration)} min rounds to a zero rate")
    delivered = _q(dose / weight / hours, MG_PER_KG_QUANTUM)
    steps.append(f"Delivered: {_f(dose)} mg ÷ {_f(weight)} kg ÷ ({_f(duration)} min ÷ 60) = {_f(delivered)} mg/kg/h")
    at_pump = rate_mg_per_kg_per_h(rate_ml_per_h=rate, mg_per_ml=final, weight_kg=weight)
    if problem := limit_problems(duration_min=duration, mg_per_kg_per_h=max(delivered, at_pump), limits=limits):
        raise DoseError("mg_per_kg_per_h", problem["mg_per_kg_per_h"])
    if ceilings_given:
        steps.append(
            f"Ceilings: {_f(max(delivered, at_pump))} mg/kg/h ≤ {_f(limits.max_rate_mg_per_kg_per_h)} mg/kg/h; "
            f"{_f(duration)} min within {limits.min_duration_min}–{limits.max_duration_min} min; "
            f"{_f(total)} mL ≥ {_f(limits.min_total_volume_ml)} mL (clinic ceilings)"
        )

    if not pump.min_rate_ml_per_h <= rate <= pump.max_rate_ml_per_h:
        raise DoseError(
            "rate_ml_per_h",
            f"{_f(rate)} mL/h is outside the pump's configured range "
            f"{_f(pump.min_rate_ml_per_h)}–{_f(pump.max_rate_ml_per_h)} mL/h: change the diluent volume",
        )
    if total > pump.max_total_ml:
        raise DoseError(
            "total_volume_ml",
            f"{_f(total)} mL is above the pump's configured maximum {_f(pump.max_total_ml)} mL",
        )
    steps.append(
        f"Pump: {_f(rate)} mL/h within {_f(pump.min_rate_ml_per_h)}–{_f(pump.max_rate_ml_per_h)} mL/h; "
        f"{_f(total)} mL ≤ {_f(pump.max_total_ml)} mL"
    )
    return DoseCalculation(
        form=form,
        weight_kg=weight,
        mg_per_kg=mg_per_kg,
        prescribed_mg_per_kg_per_h=prescribed_rate,
        duration_min=duration,
        uncapped_dose_mg=uncapped,
        max_mg=max_mg,
        capped=capped,
        ordered_dose_mg=ordered,
        vial_mg_per_ml=vial,
        drug_volume_ml=drug_volume,
        dose_mg=dose,
        diluent_ml=diluent,
        total_volume_ml=total,
        final_mg_per_ml=final,
        rate_ml_per_h=rate,
        mg_per_kg_per_h=delivered,
        steps=tuple(steps),
    )


def _common_inputs(
    *,
    weight_kg: object,
    max_mg: object,
    vial_mg_per_ml: object,
    diluent_ml: object,
    duration_min: object,
    weight_range_kg: tuple[Decimal, Decimal],
) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
    weight = _q(_check_weight(DoseError, "weight_kg", weight_kg, weight_range_kg), WEIGHT_QUANTUM_KG)
    max_dose = _require_positive(DoseError, "max_mg", max_mg, "mg")
    vial = _require_decimal(DoseError, "vial_mg_per_ml", vial_mg_per_ml, "mg/mL")
    if vial not in VIAL_CONCENTRATIONS_MG_PER_ML:
        raise DoseError(
            "vial_mg_per_ml",
            f"{_f(vial)} mg/mL is not a ketamine vial concentration (10, 50 or 100 mg/mL) [S24]",
        )
    diluent = _require_decimal(DoseError, "diluent_ml", diluent_ml, "mL")
    if diluent < 0:
        raise DoseError("diluent_ml", f"must not be negative, got {_f(diluent)} mL")
    duration = _require_minutes(DoseError, "duration_min", duration_min)
    return weight, max_dose, vial, diluent, duration


def calculate_dose(
    *,
    weight_kg: Decimal,
    mg_per_kg: Decimal,
    max_mg: Decimal,
    protocol_max_mg_per_kg: Decimal,
    vial_mg_per_ml: Decimal,
    diluent_ml: Decimal,
    duration_min: int | Decimal,
    pump_limits: PumpLimits,
    weight_range_kg: tuple[Decimal, Decimal] = WEIGHT_PLAUSIBLE_RANGE_KG,
    limits: DosingLimits | None = None,
) -> DoseCalculation:
    """mg/kg protocols (depression/TRD 0.5 mg/kg over 40 min [S1]): dose = mg/kg × weight,
    capped at the plan's maximum (capped, not refused: ``capped=True``; "enforce a
    prescriber-set max mg cap", 5.3), drawn from the vial, diluted, infused at a constant
    rate over ``duration_min`` (5.3 "Dose arithmetic").

    Refuses (DoseError): non-Decimal inputs, weight outside the plausible range, mg/kg
    above the protocol maximum, a vial other than 10/50/100 mg/mL, 100 mg/mL without at
    least an equal volume of diluent [S24][S25], zero or negative volumes and durations,
    and a rate or total volume outside the pump's configured limits; and the clinic's
    ceilings (``limits``): a duration outside its range, a rate above its mg/kg/h ceiling
    (ASRA [S11]) and a total volume below its minimum.
    """
    with localcontext(_CONTEXT):
        weight, max_dose, vial, diluent, duration = _common_inputs(
            weight_kg=weight_kg,
            max_mg=max_mg,
            vial_mg_per_ml=vial_mg_per_ml,
            diluent_ml=diluent_ml,
            duration_min=duration_min,
            weight_range_kg=weight_range_kg,
        )
        protocol_max = _require_positive(DoseError, "protocol_max_mg_per_kg", protocol_max_mg_per_kg, "mg/kg")
        dose_per_kg = _require_positive(DoseError, "mg_per_kg", mg_per_kg, "mg/kg")
        if dose_per_kg > protocol_max:
            raise DoseError(
                "mg_per_kg", f"{_f(dose_per_kg)} mg/kg is above the protocol maximum {_f(protocol_max)} mg/kg"
            )
        pump = _check_pump(pump_limits)
        uncapped = _q(dose_per_kg * weight, DOSE_QUANTUM_MG)
        step = (
            f"Dose: {_f(dose_per_kg)} mg/kg × {_f(weight)} kg = {_f(uncapped)} mg "
            f"(rounded half-up to {DOSE_QUANTUM_MG} mg)"
        )
        return _dose_arithmetic(
            form="mg_per_kg",
            weight=weight,
            mg_per_kg=dose_per_kg,
            prescribed_rate=None,
            uncapped=uncapped,
            dose_step=step,
            max_mg=max_dose,
            vial=vial,
            diluent=diluent,
            duration=duration,
            pump=pump,
            limits=limits,
        )


def calculate_rate_dose(
    *,
    weight_kg: Decimal,
    mg_per_kg_per_h: Decimal,
    duration_min: int | Decimal,
    max_mg: Decimal,
    protocol_max_mg_per_kg_per_h: Decimal,
    vial_mg_per_ml: Decimal,
    diluent_ml: Decimal,
    pump_limits: PumpLimits,
    weight_range_kg: tuple[Decimal, Decimal] = WEIGHT_PLAUSIBLE_RANGE_KG,
    limits: DosingLimits | None = None,
) -> DoseCalculation:
    """mg/kg/h protocols (chronic pain 0.5–2 mg/kg/h [S11]; CRPS 0.35 mg/kg/h over 4 h
    [S11][S12]): dose = mg/kg/h × weight × hours, then the same cap, draw, dilution and
    pump checks as calculate_dose. Same refusals, with the maximum in mg/kg/h.
    """
    with localcontext(_CONTEXT):
        weight, max_dose, vial, diluent, duration = _common_inputs(
            weight_kg=weight_kg,
            max_mg=max_mg,
            vial_mg_per_ml=vial_mg_per_ml,
            diluent_ml=diluent_ml,
            duration_min=duration_min,
            weight_range_kg=weight_range_kg,
        )
        protocol_max = _require_positive(
            DoseError, "protocol_max_mg_per_kg_per_h", protocol_max_mg_per_kg_per_h, "mg/kg/h"
        )
        rate_per_kg = _require_positive(DoseError, "mg_per_kg_per_h", mg_per_kg_per_h, "mg/kg/h")
        if rate_per_kg > protocol_max:
            raise DoseError(
                "mg_per_kg_per_h",
                f"{_f(rate_per_kg)} mg/kg/h is above the protocol maximum {_f(protocol_max)} mg/kg/h",
            )
        pump = _check_pump(pump_limits)
        # Multiply before dividing by 60 so the exact product is rounded once.
        uncapped = _q(rate_per_kg * weight * duration / _MIN_PER_H, DOSE_QUANTUM_MG)
        equivalent = _q(rate_per_kg * duration / _MIN_PER_H, MG_PER_KG_QUANTUM)
        step = (
            f"Dose: {_f(rate_per_kg)} mg/kg/h × {_f(weight)} kg × {_f(duration)} min ÷ 60 = {_f(uncapped)} mg "
            f"(rounded half-up to {DOSE_QUANTUM_MG} mg; = {_f(equivalent)} mg/kg)"
        )
        return _dose_arithmetic(
            form="mg_per_kg_per_h",
            weight=weight,
            mg_per_kg=equivalent,
            prescribed_rate=rate_per_kg,
            uncapped=uncapped,
            dose_step=step,
            max_mg=max_dose,
            vial=vial,
            diluent=diluent,
            duration=duration,
            pump=pump,
            limits=limits,
        )


def verification_is_current(*, verified_fingerprint: str, calculation: DoseCalculation) -> bool:
    """A second clinician's double check holds only for the exact calculation they saw
    (5.3 "second-person verification"): any change to the dose voids it."""
    return bool(verified_fingerprint) and verified_fingerprint == calculation.fingerprint


def rate_ceiling_ml_per_h(
    *, max_rate_mg_per_kg_per_h: Decimal, weight_kg: Decimal, final_mg_per_ml: Decimal
) -> Decimal:
    """The pump rate (mL/h) the standing order's rate ceiling allows for this patient's bag:
    mg/kg/h x dosing weight / concentration, rounded down to the pump's 0.1 mL/h so rounding
    never lets the ceiling be passed. A faster rate needs a prescriber."""
    rate = _require_positive(DoseError, "max_rate_mg_per_kg_per_h", max_rate_mg_per_kg_per_h, "mg/kg/h")
    weight = _require_positive(DoseError, "weight_kg", weight_kg, "kg")
    concentration = _require_positive(DoseError, "final_mg_per_ml", final_mg_per_ml, "mg/mL")
    with localcontext(_CONTEXT):
        return _q(rate * weight / concentration, RATE_QUANTUM_ML_PER_H, ROUND_DOWN)
