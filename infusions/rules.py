"""Pure rules for the infusion day: dosing, pre-infusion checks, the vitals flowsheet,
recovery and discharge readiness, and the session lifecycle.

No Django, no database, no clock: callers pass ``at``/``today``. Every clinical number
cites clinical-reference.md ([Sx], rule ids CI-/PD- from its section 5.3). A number the
reference does not give is either absent (``None``: the clinic must set it) or labelled
"clinic policy" or "input plausibility limit" — never dressed up as a clinical source.
Thresholds are arguments with these defaults so the administrator's settings flow in.

Rounding (module constants, all ROUND_HALF_UP): weight 0.1 kg, dose 0.1 mg, volume
0.01 mL, concentration 0.001 mg/mL, pump rate 0.1 mL/h, derived mg/kg(/h) 0.0001. Each
quantity is rounded once, at the step that produces it, and the step says so.

    >>> calc = calculate_dose(weight_kg=Decimal("80"), mg_per_kg=Decimal("0.5"),
    ...     max_mg=Decimal("100"), protocol_max_mg_per_kg=Decimal("0.75"),
    ...     vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("36"), duration_min=40,
    ...     pump_limits=PumpLimits(Decimal("1"), Decimal("999"), Decimal("1000")))
    >>> (calc.dose_mg, calc.final_mg_per_ml, calc.rate_ml_per_h)
    (Decimal('40.0'), Decimal('1.000'), Decimal('60.0'))
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import astuple, dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum
from typing import Final, Literal, Protocol

from assessments import instruments

# === Errors ==============================================================================


class RuleInputError(ValueError):
    """Refused input. ``field`` names the offending input (or derived value) so a form can
    show ``message`` at that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DoseError(RuleInputError):
    """A dose calculation the rules refuse to produce."""


class ReadingError(RuleInputError):
    """An impossible vitals reading or reading time."""


class CheckInputError(RuleInputError):
    """Pre-check input that cannot be evaluated (naive or future datetime, wrong type)."""


class TransitionError(ValueError):
    """A session status move that is not in TRANSITIONS."""


# === Rounding ============================================================================

ROUNDING: Final = ROUND_HALF_UP
WEIGHT_QUANTUM_KG: Final = Decimal("0.1")
DOSE_QUANTUM_MG: Final = Decimal("0.1")
VOLUME_QUANTUM_ML: Final = Decimal("0.01")  # finest graduation worth recording for a draw
CONCENTRATION_QUANTUM_MG_PER_ML: Final = Decimal("0.001")
RATE_QUANTUM_ML_PER_H: Final = Decimal("0.1")  # pumps are programmed in 0.1 mL/h
MG_PER_KG_QUANTUM: Final = Decimal("0.0001")
_CONTEXT: Final = Context(prec=28, rounding=ROUNDING)
_MIN_PER_H: Final = Decimal(60)


def _q(value: Decimal, quantum: Decimal, rounding: str = ROUNDING) -> Decimal:
    return value.quantize(quantum, rounding=rounding)


def _f(value: Decimal) -> str:
    return format(value, "f")


def _require_decimal(error: type[RuleInputError], field: str, value: object, unit: str) -> Decimal:
    """Why strict: a float carries binary rounding error into a dose, and an int hides
    whether the caller thought in the same unit; Decimal from a DecimalField is explicit."""
    if isinstance(value, bool) or not isinstance(value, Decimal):
        raise error(
            field,
            f"must be a Decimal in {unit}, got {type(value).__name__} {value!r} "
            "(floats and other types are refused so units and precision are explicit)",
        )
    if not value.is_finite():
        raise error(field, f"{value} is not a finite number of {unit}")
    return value


def _require_positive(error: type[RuleInputError], field: str, value: object, unit: str) -> Decimal:
    number = _require_decimal(error, field, value, unit)
    if number <= 0:
        raise error(field, f"must be greater than 0 {unit}, got {_f(number)}")
    return number


def _require_minutes(error: type[RuleInputError], field: str, value: object) -> Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if not isinstance(value, Decimal):
        raise error(field, f"must be whole minutes (int) or a Decimal, got {type(value).__name__} {value!r}")
    return _require_positive(error, field, value, "min")


# === Weight ==============================================================================

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


# === Protocols ===========================================================================

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


# === Dose calculation ====================================================================


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
) -> DoseCalculation:
    """Cap → draw → dilute → rate, shared by both protocol forms (5.3 "Dose arithmetic")."""
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
) -> DoseCalculation:
    """mg/kg protocols (depression/TRD 0.5 mg/kg over 40 min [S1]): dose = mg/kg × weight,
    capped at the plan's maximum (capped, not refused: ``capped=True``; "enforce a
    prescriber-set max mg cap", 5.3), drawn from the vial, diluted, infused at a constant
    rate over ``duration_min`` (5.3 "Dose arithmetic").

    Refuses (DoseError): non-Decimal inputs, weight outside the plausible range, mg/kg
    above the protocol maximum, a vial other than 10/50/100 mg/mL, 100 mg/mL without at
    least an equal volume of diluent [S24][S25], zero or negative volumes and durations,
    and a rate or total volume outside the pump's configured limits.
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
        )


def verification_is_current(*, verified_fingerprint: str, calculation: DoseCalculation) -> bool:
    """A second clinician's double check holds only for the exact calculation they saw
    (5.3 "second-person verification"): any change to the dose voids it."""
    return bool(verified_fingerprint) and verified_fingerprint == calculation.fingerprint


# === Pre-infusion checks =================================================================

OnFail = Literal["defer", "review"]
ClearanceOutcome = Literal["cleared", "needs_clinician_decision", "deferred"]
CLEARED: Final = "cleared"
NEEDS_CLINICIAN_DECISION: Final = "needs_clinician_decision"
DEFERRED: Final = "deferred"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One pre-infusion check. ``passed`` None = data missing (never a silent pass).
    ``on_fail`` says what a failure means: "defer" (day-of deferral, a hard stop) or
    "review" (a clinician's documented decision may proceed)."""

    code: str
    passed: bool | None
    message: str
    source: str
    on_fail: OnFail = "defer"


def _aware(field: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise CheckInputError(field, f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise CheckInputError(field, "must be timezone-aware")
    return value


def _hours(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass(frozen=True, slots=True)
class NpoIntervals:
    """Minimum time since intake. Defaults: ASA fasting for procedural sedation, clear
    liquids 2 h, light meal 6 h, fried/fatty/meat ≥ 8 h [S30]; the Ketalar label asks for
    nil per os [S25]. Clinic-specific IV intervals are an administrator setting (PD-01)."""

    clear_liquids: timedelta = timedelta(hours=2)  # [S30]
    light_meal: timedelta = timedelta(hours=6)  # [S30]
    fatty_meal: timedelta = timedelta(hours=8)  # [S30]


# Spravato: no food for 2 h and no liquids for 30 min before dosing [S21].
SPRAVATO_NPO_INTERVALS: Final = NpoIntervals(
    clear_liquids=timedelta(minutes=30), light_meal=timedelta(hours=2), fatty_meal=timedelta(hours=2)
)
NPO_SOURCE: Final = "PD-01 [S25][S30]"


def npo_check(
    *,
    at: datetime,
    last_clear_liquid_at: datetime | None,
    last_light_meal_at: datetime | None,
    last_fatty_meal_at: datetime | None,
    last_solid_at: datetime | None = None,
    intervals: NpoIntervals = NpoIntervals(),  # noqa: B008 - frozen dataclass, safe default
) -> list[CheckResult]:
    """NPO not met is a day-of deferral (PD-01) [S25][S30].

    ``last_solid_at`` is food whose kind was not recorded: it counts against both meal
    intervals (the conservative reading). A time not recorded is missing data, never "none".
    """
    at = _aware("at", at)
    checks = []
    rows = (
        ("npo_clear_liquids", "clear liquids", (last_clear_liquid_at,), intervals.clear_liquids),
        ("npo_light_meal", "light meal", (last_light_meal_at, last_solid_at), intervals.light_meal),
        ("npo_fatty_meal", "fatty meal", (last_fatty_meal_at, last_solid_at), intervals.fatty_meal),
    )
    for code, label, times, needed in rows:
        known = [_aware(code, t) for t in times if t is not None]
        for t in known:
            if t > at:
                raise CheckInputError(code, "the last intake time is after the check time")
        if not known:
            checks.append(CheckResult(code, None, f"Last {label} time not recorded", NPO_SOURCE))
            continue
        elapsed = at - max(known)
        if elapsed >= needed:
            checks.append(CheckResult(code, True, f"{label}: {_hours(elapsed)} ≥ {_hours(needed)}", NPO_SOURCE))
        else:
            checks.append(
                CheckResult(
                    code,
                    False,
                    f"NPO not met for {label}: {_hours(elapsed)} since intake, {_hours(needed)} required "
                    f"(earliest start {(max(known) + needed).isoformat(timespec='minutes')})",
                    NPO_SOURCE,
                )
            )
    return checks


def escort_check(*, escort_present: bool | None, escort_name: str, escort_phone: str) -> list[CheckResult]:
    """A responsible adult must accompany the patient home [S26]; no escort is a day-of
    deferral (PD-02). Name and phone are needed to hand over at discharge."""
    source = "PD-02 [S26]"
    if escort_present is None:
        return [CheckResult("escort", None, "Escort presence not recorded", source)]
    if not escort_present:
        return [CheckResult("escort", False, "No responsible adult escort present", source)]
    missing = [label for label, value in (("name", escort_name), ("phone", escort_phone)) if not value.strip()]
    if missing:
        return [CheckResult("escort", None, f"Escort present but {' and '.join(missing)} not recorded", source)]
    return [CheckResult("escort", True, "Escort present, name and phone recorded", source)]


PREGNANCY_RESULTS: Final = ("negative", "positive")


def pregnancy_check(
    *, childbearing_potential: bool | None, test_required_by_policy: bool, test_result: str | None
) -> list[CheckResult]:
    """Pregnancy is a relative contraindication (CI-07, ASRA B) [S11][S17]: a positive test
    goes to clinician review. No guideline mandates a test; whether one is required for
    people of childbearing potential is clinic policy (2.5) [S31]."""
    source = "CI-07 [S11][S17]; test: clinic policy"
    if test_result is not None and test_result not in PREGNANCY_RESULTS:
        raise CheckInputError("test_result", f"must be one of {', '.join(PREGNANCY_RESULTS)} or None")
    if test_result == "positive":
        return [CheckResult("pregnancy", False, "Positive pregnancy test: clinician review", source, "review")]
    if childbearing_potential is False:
        return [CheckResult("pregnancy", True, "Not of childbearing potential", source)]
    if not test_required_by_policy:
        return [CheckResult("pregnancy", True, "No test required by clinic policy", source)]
    if childbearing_potential is None:
        return [CheckResult("pregnancy", None, "Childbearing potential not recorded (clinic requires a test)", source)]
    if test_result is None:
        return [CheckResult("pregnancy", None, "Pregnancy test required by clinic policy, no result", source)]
    return [CheckResult("pregnancy", True, "Pregnancy test negative", source)]


# --- Vitals ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VitalsReading:
    """One flowsheet row; None = not taken. Integers as monitors show them; °C Decimal."""

    sbp_mmhg: int | None = None
    dbp_mmhg: int | None = None
    hr_bpm: int | None = None
    spo2_pct: int | None = None
    rr_per_min: int | None = None
    temp_c: Decimal | None = None
    moaas: int | None = None
    cadss6: int | None = None
    pain_nrs: int | None = None


# Input plausibility limits, NOT clinical thresholds: they reject impossible entries
# (typos, swapped fields) and are clinic policy. Instrument ranges come from the
# instruments themselves (MOAA/S 0–5 [S106], CADSS-6 0–24 [S94], NRS 0–10 [S98]).
PLAUSIBLE_RANGES: Final[Mapping[str, tuple[Decimal, Decimal, str]]] = {
    "sbp_mmhg": (Decimal(50), Decimal(300), "mmHg"),  # = intake (consultations/vitals.py)
    "dbp_mmhg": (Decimal(25), Decimal(200), "mmHg"),  # = intake
    "hr_bpm": (Decimal(20), Decimal(250), "bpm"),  # = intake
    "spo2_pct": (Decimal(50), Decimal(100), "%"),  # = intake
    "rr_per_min": (Decimal(4), Decimal(60), "/min"),
    "temp_c": (Decimal(30), Decimal(45), "°C"),
    "moaas": (Decimal(0), Decimal(instruments.INSTRUMENTS["moaas"].total_max), ""),
    "cadss6": (Decimal(0), Decimal(instruments.INSTRUMENTS["cadss6"].total_max), ""),
    "pain_nrs": (Decimal(0), Decimal(instruments.INSTRUMENTS["nrs_pain"].total_max), ""),
}


def validate_reading(reading: VitalsReading) -> VitalsReading:
    """Refuse impossible values with the plausible range in the message; return the reading."""
    if not isinstance(reading, VitalsReading):
        raise ReadingError("reading", f"must be a VitalsReading, got {type(reading).__name__}")
    for name, (low, high, unit) in PLAUSIBLE_RANGES.items():
        value = getattr(reading, name)
        if value is None:
            continue
        if name == "temp_c":
            _require_decimal(ReadingError, name, value, "°C")
        elif isinstance(value, bool) or not isinstance(value, int):
            raise ReadingError(name, f"must be a whole number, got {type(value).__name__} {value!r}")
        if not low <= value <= high:
            raise ReadingError(
                name,
                f"{value}{unit and ' ' + unit} is outside the plausible range {_f(low)}–{_f(high)}"
                f"{unit and ' ' + unit} (input plausibility limit, not a clinical threshold)",
            )
    if reading.sbp_mmhg is not None and reading.dbp_mmhg is not None and reading.sbp_mmhg <= reading.dbp_mmhg:
        raise ReadingError("dbp_mmhg", f"diastolic {reading.dbp_mmhg} must be below systolic {reading.sbp_mmhg}")
    return reading


def validate_reading_time(*, taken_at: datetime, at: datetime, checked_in_at: datetime | None) -> datetime:
    """A reading cannot be timestamped in the future or before the patient checked in."""
    taken_at, at = _aware("taken_at", taken_at), _aware("at", at)
    if taken_at > at:
        raise ReadingError("taken_at", "is in the future")
    if checked_in_at is not None and taken_at < _aware("checked_in_at", checked_in_at):
        raise ReadingError("taken_at", "is before the patient checked in")
    return taken_at


@dataclass(frozen=True, slots=True)
class BaselineThresholds:
    """Pre-infusion vitals limits (administrator settings). BP defaults: resting >180/100
    is a day-of deferral (CI-04, Swiss SmPC) [S28]; >140/90 needs the prescriber to weigh
    risk (CI-05) [S17][S23]. HR has no sourced number (the often-quoted HR >110 is
    UNVERIFIED): None until the clinic sets one. SpO₂: Aldrete gives full points only
    above 92% on room air [S102], used as the review point."""

    sbp_defer_above_mmhg: int = 180  # CI-04 [S28]
    dbp_defer_above_mmhg: int = 100  # CI-04 [S28]
    sbp_review_above_mmhg: int = 140  # CI-05 [S17][S23]
    dbp_review_above_mmhg: int = 90  # CI-05 [S17][S23]
    hr_review_above_bpm: int | None = None  # clinic policy: no sourced default
    hr_review_below_bpm: int | None = None  # clinic policy: no sourced default
    spo2_review_at_or_below_pct: int | None = 92  # [S102]


def baseline_vitals_check(
    *,
    reading: VitalsReading | None,
    thresholds: BaselineThresholds = BaselineThresholds(),  # noqa: B008 - frozen dataclass
) -> list[CheckResult]:
    """Baseline BP, HR and SpO₂ against the screening thresholds: hard stop (defer) and
    relative (clinician review). Each must be measured; a missing one is missing data."""
    reading = validate_reading(reading or VitalsReading())
    t = thresholds
    checks = []
    sbp, dbp = reading.sbp_mmhg, reading.dbp_mmhg
    if sbp is None or dbp is None:
        checks.append(CheckResult("baseline_bp", None, "Baseline blood pressure not recorded", "CI-04/CI-05"))
    elif sbp > t.sbp_defer_above_mmhg or dbp > t.dbp_defer_above_mmhg:
        checks.append(
            CheckResult(
                "baseline_bp",
                False,
                f"BP {sbp}/{dbp} above {t.sbp_defer_above_mmhg}/{t.dbp_defer_above_mmhg}: defer today",
                "CI-04 [S28]",
            )
        )
    elif sbp > t.sbp_review_above_mmhg or dbp > t.dbp_review_above_mmhg:
        checks.append(
            CheckResult(
                "baseline_bp",
                False,
                f"BP {sbp}/{dbp} above {t.sbp_review_above_mmhg}/{t.dbp_review_above_mmhg}: prescriber weighs risk",
                "CI-05 [S17][S23]",
                "review",
            )
        )
    else:
        checks.append(CheckResult("baseline_bp", True, f"BP {sbp}/{dbp}", "CI-04/CI-05 [S28][S17]"))

    hr = reading.hr_bpm
    hr_source = "clinic policy (no sourced default)"
    if hr is None:
        checks.append(CheckResult("baseline_hr", None, "Baseline heart rate not recorded", hr_source))
    elif (t.hr_review_above_bpm is not None and hr > t.hr_review_above_bpm) or (
        t.hr_review_below_bpm is not None and hr < t.hr_review_below_bpm
    ):
        checks.append(CheckResult("baseline_hr", False, f"HR {hr} outside clinic limits", hr_source, "review"))
    else:
        checks.append(CheckResult("baseline_hr", True, f"HR {hr}", hr_source))

    spo2 = reading.spo2_pct
    if spo2 is None:
        checks.append(CheckResult("baseline_spo2", None, "Baseline SpO₂ not recorded", "[S16]"))
    elif t.spo2_review_at_or_below_pct is not None and spo2 <= t.spo2_review_at_or_below_pct:
        checks.append(
            CheckResult(
                "baseline_spo2",
                False,
                f"SpO₂ {spo2}% not above {t.spo2_review_at_or_below_pct}%",
                "[S102]",
                "review",
            )
        )
    else:
        checks.append(CheckResult("baseline_spo2", True, f"SpO₂ {spo2}%", "[S102]"))
    return checks


def suicide_risk_gate(
    *,
    today: date,
    phq9_answers: Sequence[int] | None,
    phq9_taken_on: date | None,
    cssrs_answers: Mapping[str, bool] | None = None,
    cssrs_taken_on: date | None = None,
) -> list[CheckResult]:
    """Today's PHQ-9; item 9 > 0 requires a C-SSRS screener before the infusion (PD-03)
    [S36]; C-SSRS high (item 4/5, or 6 within 3 months) requires prescriber review
    (PD-04) [S95] — workflow design, not a guideline. A C-SSRS done today counts even
    when item 9 was 0. Scores with ``assessments.instruments``; bad answers raise there."""
    phq9_today = phq9_answers is not None and phq9_taken_on == today
    cssrs_today = cssrs_answers is not None and cssrs_taken_on == today
    positive = None
    if not phq9_today:
        phq9 = CheckResult("phq9_item9", None, "Today's PHQ-9 not completed", "PD-03 [S36]")
    else:
        result = instruments.score("phq9", phq9_answers)
        positive = instruments.FLAG_SUICIDAL_IDEATION in result.flags
        message = "Item 9 positive: C-SSRS screener required" if positive else "Item 9 negative"
        phq9 = CheckResult("phq9_item9", True, f"PHQ-9 total {result.total}; {message}", "PD-03 [S36]")

    if cssrs_today:
        level = instruments.cssrs_risk_level(cssrs_answers)
        if level == "high":
            cssrs = CheckResult("cssrs_screen", False, "C-SSRS high risk: prescriber review", "PD-04 [S95]", "review")
        else:
            cssrs = CheckResult("cssrs_screen", True, f"C-SSRS risk: {level or 'none'}", "PD-04 [S95]")
    elif positive is None:
        cssrs = CheckResult("cssrs_screen", None, "Depends on today's PHQ-9", "PD-03 [S36]")
    elif positive:
        cssrs = CheckResult("cssrs_screen", None, "C-SSRS screener required before infusion", "PD-03 [S36]")
    else:
        cssrs = CheckResult("cssrs_screen", True, "Not required (PHQ-9 item 9 negative)", "PD-03 [S36]")
    return [phq9, cssrs]


def weight_check(
    *,
    today: date,
    weight_kg: Decimal | None,
    measured_on: date | None,
    weight_range_kg: tuple[Decimal, Decimal] = WEIGHT_PLAUSIBLE_RANGE_KG,
) -> list[CheckResult]:
    """Same-day weight drives the dose (5.1 WeightMeasurement)."""
    source = "5.1 (same-day weight); range: clinic policy"
    if weight_kg is None or measured_on != today:
        return [CheckResult("weight_today", None, "Today's weight not recorded", source)]
    try:
        weight = _check_weight(CheckInputError, "weight_kg", weight_kg, weight_range_kg)
    except CheckInputError as error:
        if not isinstance(weight_kg, Decimal):
            raise
        return [CheckResult("weight_today", False, f"Re-weigh: {error.message}", source)]
    return [CheckResult("weight_today", True, f"Weight {_f(weight)} kg today", source)]


class FindingLike(Protocol):
    """The shape of ``consultations.rules.Finding`` (5.3 CI- rules); only these are read.
    ``klass`` is absolute | relative | interaction | monitor (a StrEnum compares equal)."""

    @property
    def rule_id(self) -> str: ...
    @property
    def klass(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def source(self) -> str: ...


@dataclass(frozen=True, slots=True)
class InteractionFinding:
    """A stand-in with the same fields, for callers (and tests) without the screening app."""

    rule_id: str
    klass: str
    message: str
    source: str
    missing_facts: tuple[str, ...] = ()


# Theophylline/aminophylline: do not co-administer, block until resolved (CI-14) [S25],
# whatever class the screening module files it under.
BLOCKING_RULE_IDS: Final = frozenset({"CI-14"})
_FINDING_ON_FAIL: Final[Mapping[str, OnFail]] = {"absolute": "defer", "relative": "review", "interaction": "review"}


def medication_changes_check(
    *,
    medications_changed: bool | None,
    interaction_findings: Sequence[FindingLike] | Callable[[], Sequence[FindingLike]] | None,
) -> list[CheckResult]:
    """Medication changes since the last session re-run the interaction rules (CI-14,
    CI-15) [S13][S25]. Absolute findings and CI-14 defer; relative and interaction
    findings need review; "monitor" findings pass with their message; an unknown class
    needs review. A finding with ``missing_facts`` (the screening rules file "not
    recorded" as monitor) is missing data, not a pass. ``interaction_findings`` None
    means the rules were not re-run."""
    source = "CI-14/CI-15 [S13][S25]"
    if medications_changed is None:
        return [CheckResult("medication_changes", None, "Medication changes since last session not asked", source)]
    if not medications_changed:
        return [CheckResult("medication_changes", True, "No medication changes since last session", source)]
    findings = interaction_findings() if callable(interaction_findings) else interaction_findings
    if findings is None:
        return [CheckResult("medication_changes", None, "Medications changed: interaction rules not re-run", source)]
    checks = [CheckResult("medication_changes", True, f"Medications changed: {len(findings)} finding(s)", source)]
    for finding in findings:
        code = f"interaction:{finding.rule_id}"
        klass = str(finding.klass)
        missing = tuple(getattr(finding, "missing_facts", ()) or ())
        if klass != "monitor" or not missing:  # a monitor finding with gaps is only a "not recorded" notice
            if klass == "monitor":
                checks.append(CheckResult(code, True, finding.message, finding.source))
            elif finding.rule_id in BLOCKING_RULE_IDS:
                checks.append(CheckResult(code, False, finding.message, finding.source, "defer"))
            else:
                on_fail = _FINDING_ON_FAIL.get(klass, "review")
                checks.append(CheckResult(code, False, finding.message, finding.source, on_fail))
        if missing:
            message = f"{finding.rule_id} cannot be fully checked, not recorded: {', '.join(missing)}"
            checks.append(CheckResult(f"{code}:not_recorded", None, message, finding.source))
    return checks


REQUIRED_PRECHECK_CODES: Final = frozenset(
    {
        "npo_clear_liquids",
        "npo_light_meal",
        "npo_fatty_meal",
        "escort",
        "pregnancy",
        "baseline_bp",
        "baseline_hr",
        "baseline_spo2",
        "phq9_item9",
        "cssrs_screen",
        "weight_today",
        "medication_changes",
    }
)


def blocking_checks(checks: Sequence[CheckResult]) -> list[CheckResult]:
    """The checks that stand between the patient and "cleared", for the checklist page."""
    return [check for check in checks if check.passed is not True]


def clearance(
    checks: Sequence[CheckResult], *, required_codes: frozenset[str] = REQUIRED_PRECHECK_CODES
) -> ClearanceOutcome:
    """ "deferred" if any hard stop failed; "needs_clinician_decision" if anything is
    missing (a None result or a required check not run at all) or a review check failed;
    otherwise "cleared". Nothing proceeds silently on missing data."""
    if any(check.passed is False and check.on_fail == "defer" for check in checks):
        return DEFERRED
    if not required_codes <= {check.code for check in checks} or not checks:
        return NEEDS_CLINICIAN_DECISION
    if any(check.passed is not True for check in checks):
        return NEEDS_CLINICIAN_DECISION
    return CLEARED


# === Flowsheet ===========================================================================

CLINIC_POLICY: Final = "clinic policy (administrator setting; no sourced default)"
ALERT_ACTIONS: Final = ("continue", "slow", "pause", "stop", "intervention")


@dataclass(frozen=True, slots=True)
class AlertThresholds:
    """Intra/post-infusion alert limits (administrator settings). The reference has no
    sourced stop/pause limit for IV ketamine (PD-05; the Sanacora numbers are UNVERIFIED),
    so only these defaults are set: BP >180/100, the resting-BP contraindication [S28]
    used as an alert point by analogy (clinician to confirm); SpO₂ not above 92% (Aldrete
    full points only >92% on room air) and below 90% (Aldrete 0) [S102]. MOAA/S 0 (loss of
    consciousness [S15]) always alerts. Everything else is None until the clinic sets it."""

    sbp_alert_above_mmhg: int | None = 180  # [S28] by analogy
    dbp_alert_above_mmhg: int | None = 100  # [S28] by analogy
    sbp_alert_below_mmhg: int | None = None  # clinic policy
    dbp_alert_below_mmhg: int | None = None  # clinic policy
    hr_alert_above_bpm: int | None = None  # clinic policy (HR >110 is UNVERIFIED)
    hr_alert_below_bpm: int | None = None  # clinic policy
    rr_alert_above_per_min: int | None = None  # clinic policy
    rr_alert_below_per_min: int | None = None  # clinic policy
    spo2_alert_at_or_below_pct: int | None = 92  # [S102]
    spo2_critical_below_pct: int | None = 90  # [S102]
    temp_alert_above_c: Decimal | None = None  # clinic policy
    moaas_alert_at_or_below: int | None = None  # clinic policy; 0 alerts regardless [S15]
    cadss6_alert_above: int | None = None  # clinic policy; CADSS-6 has no bands [S94]
    bp_change_alert_percent: Decimal | None = None  # clinic policy; vs baseline, when given


@dataclass(frozen=True, slots=True)
class Alert:
    code: str
    field: str
    value: int | Decimal
    limit: int | Decimal
    severity: Literal["warning", "critical"]
    message: str
    source: str


def _percent_off(value: int, base: int) -> Decimal:
    return abs(Decimal(value) - base) * 100 / base


def vitals_alerts(
    reading: VitalsReading,
    thresholds: AlertThresholds = AlertThresholds(),  # noqa: B008 - frozen dataclass
    baseline: VitalsReading | None = None,
) -> list[Alert]:
    """Out-of-range readings that need a nurse's action (ALERT_ACTIONS). Validates the
    reading first (impossible values raise ReadingError)."""
    r, t = validate_reading(reading), thresholds
    alerts: list[Alert] = []

    def limit(code, field, value, bound, above, source, severity="warning", unit=""):
        if value is None or bound is None or not (value > bound if above else value < bound):
            return False
        word = "above" if above else "below"
        alerts.append(Alert(code, field, value, bound, severity, f"{field} {value}{unit} {word} {bound}{unit}", source))
        return True

    s28 = "[S28] (resting-BP contraindication used as alert point; clinician to confirm)"
    limit("sbp_high", "sbp_mmhg", r.sbp_mmhg, t.sbp_alert_above_mmhg, True, s28, unit=" mmHg")
    limit("dbp_high", "dbp_mmhg", r.dbp_mmhg, t.dbp_alert_above_mmhg, True, s28, unit=" mmHg")
    limit("sbp_low", "sbp_mmhg", r.sbp_mmhg, t.sbp_alert_below_mmhg, False, CLINIC_POLICY, unit=" mmHg")
    limit("dbp_low", "dbp_mmhg", r.dbp_mmhg, t.dbp_alert_below_mmhg, False, CLINIC_POLICY, unit=" mmHg")
    limit("hr_high", "hr_bpm", r.hr_bpm, t.hr_alert_above_bpm, True, CLINIC_POLICY, unit=" bpm")
    limit("hr_low", "hr_bpm", r.hr_bpm, t.hr_alert_below_bpm, False, CLINIC_POLICY, unit=" bpm")
    limit("rr_high", "rr_per_min", r.rr_per_min, t.rr_alert_above_per_min, True, CLINIC_POLICY, unit="/min")
    limit("rr_low", "rr_per_min", r.rr_per_min, t.rr_alert_below_per_min, False, CLINIC_POLICY, unit="/min")
    if not limit("spo2_critical", "spo2_pct", r.spo2_pct, t.spo2_critical_below_pct, False, "[S102]", "critical", "%"):
        bound = t.spo2_alert_at_or_below_pct
        if r.spo2_pct is not None and bound is not None and r.spo2_pct <= bound:
            alerts.append(
                Alert(
                    "spo2_low",
                    "spo2_pct",
                    r.spo2_pct,
                    bound,
                    "warning",
                    f"SpO₂ {r.spo2_pct}% not above {bound}%",
                    "[S102]",
                )
            )
    limit("temp_high", "temp_c", r.temp_c, t.temp_alert_above_c, True, CLINIC_POLICY, unit=" °C")
    if r.moaas is not None and r.moaas == instruments.MOAAS_LOSS_OF_CONSCIOUSNESS:
        alerts.append(
            Alert(
                "loss_of_consciousness",
                "moaas",
                r.moaas,
                instruments.MOAAS_LOSS_OF_CONSCIOUSNESS,
                "critical",
                "MOAA/S 0: loss of consciousness",
                "[S15][S106]",
            )
        )
    elif r.moaas is not None and t.moaas_alert_at_or_below is not None and r.moaas <= t.moaas_alert_at_or_below:
        alerts.append(
            Alert(
                "sedation",
                "moaas",
                r.moaas,
                t.moaas_alert_at_or_below,
                "warning",
                f"MOAA/S {r.moaas} at or below {t.moaas_alert_at_or_below}",
                CLINIC_POLICY,
            )
        )
    limit("dissociation", "cadss6", r.cadss6, t.cadss6_alert_above, True, f"{CLINIC_POLICY} [S94]")

    pct = t.bp_change_alert_percent
    if baseline is not None and pct is not None:
        for field in ("sbp_mmhg", "dbp_mmhg"):
            value, base = getattr(r, field), getattr(baseline, field)
            if value is not None and base and _percent_off(value, base) > pct:
                alerts.append(
                    Alert(
                        f"{field[:3]}_change",
                        field,
                        value,
                        base,
                        "warning",
                        f"{field} {value} is more than {_f(pct)}% from baseline {base}",
                        CLINIC_POLICY,
                    )
                )
    return alerts


Phase = Literal["pre", "intra", "post"]
PHASES: Final = ("pre", "intra", "post")


@dataclass(frozen=True, slots=True)
class Cadence:
    """Minutes between readings per phase (administrator setting). Defaults from the
    observational data: BP every 10 min during the infusion [S7][S8] and every 15 min
    after it [S8]. "pre" is the baseline, taken once: no cadence."""

    intra_min: int | None = 10  # [S7][S8]
    post_min: int | None = 15  # [S8]
    pre_min: int | None = None


def next_reading_due(
    *,
    last_reading_at: datetime | None,
    phase: Phase,
    cadence: Cadence = Cadence(),  # noqa: B008 - frozen dataclass
    phase_started_at: datetime | None = None,
) -> datetime | None:
    """When the next reading is due, or None if the phase has no cadence. A phase's first
    reading is due when it starts (e.g. at the end of the infusion); after that, one
    interval after the latest reading."""
    if phase not in PHASES:
        raise CheckInputError("phase", f"must be one of {', '.join(PHASES)}")
    interval = getattr(cadence, f"{phase}_min")
    if interval is None:
        return None
    if isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0:
        raise CheckInputError("cadence", f"{phase} interval must be a positive number of minutes")
    started = _aware("phase_started_at", phase_started_at) if phase_started_at is not None else None
    last = _aware("last_reading_at", last_reading_at) if last_reading_at is not None else None
    if last is None or (started is not None and last < started):
        if started is None:
            raise CheckInputError("phase_started_at", "needed when the phase has no reading yet")
        return started
    return last + timedelta(minutes=interval)


def is_overdue(*, due_at: datetime | None, at: datetime, grace: timedelta = timedelta(0)) -> bool:
    """Overdue once ``at`` is past the due time plus ``grace`` (clinic policy, default 0)."""
    if due_at is None:
        return False
    return _aware("at", at) > _aware("due_at", due_at) + grace


# === Recovery and discharge ==============================================================

DISCHARGE_SCORE_CODES: Final = ("aldrete", "padss")
DISCHARGE_THRESHOLD_DEFAULT: Final = instruments.DISCHARGE_THRESHOLD_DEFAULT  # ≥9 [S102][S104]
# Spravato REMS: monitor ≥2 h [S14]. The IV minimum is a clinic setting with no sourced
# default; pass it in (this constant is the Spravato value, not an IV default).
SPRAVATO_MIN_OBSERVATION_MIN: Final = 120  # [S14]


@dataclass(frozen=True, slots=True)
class DischargeTolerance:
    """How near baseline vitals must be. BP within 20% of pre-sedation (Aldrete
    circulation ±20 mmHg or ±20% [S102]; PADSS vital signs within 20% of pre-op [S104]);
    HR within 20% (PADSS vital signs [S104]). None disables a comparison."""

    bp_percent: Decimal | None = Decimal(20)  # [S102][S104]
    hr_percent: Decimal | None = Decimal(20)  # [S104]


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reasons_not_ready: tuple[str, ...]


def discharge_readiness(
    *,
    score_code: str,
    score_total: int | None,
    minutes_since_end: int | Decimal | None,
    min_observation_min: int,
    latest_vitals: VitalsReading | None,
    baseline_vitals: VitalsReading | None,
    escort_present: bool | None,
    instructions_given: bool | None,
    threshold: int = DISCHARGE_THRESHOLD_DEFAULT,
    tolerance: DischargeTolerance = DischargeTolerance(),  # noqa: B008 - frozen dataclass
) -> Readiness:
    """Discharge-ready is computed, never ticked (5.2 recovering → discharge_ready):
    Aldrete/PADSS ≥ threshold [S102][S104], ≥ the minimum observation time, vitals back
    near baseline, a responsible adult escort [S26][S104], and instructions given (no
    driving until the next day after sleep [S16], who to call, 988)."""
    if score_code not in DISCHARGE_SCORE_CODES:
        raise CheckInputError("score_code", f"must be one of {', '.join(DISCHARGE_SCORE_CODES)}")
    if isinstance(min_observation_min, bool) or not isinstance(min_observation_min, int) or min_observation_min < 0:
        raise CheckInputError("min_observation_min", "must be whole minutes ≥ 0 (clinic setting)")
    reasons = []
    name = "Modified Aldrete" if score_code == "aldrete" else "PADSS"
    if score_total is None:
        reasons.append(f"{name} score not recorded")
    elif not instruments.discharge_threshold_met(score_code, score_total, threshold=threshold):
        reasons.append(f"{name} {score_total} is below {threshold}")

    if minutes_since_end is None:
        reasons.append("Infusion end time not recorded")
    elif minutes_since_end < min_observation_min:
        reasons.append(f"Observed {minutes_since_end} of the minimum {min_observation_min} min")

    if latest_vitals is None or baseline_vitals is None:
        reasons.append("Recovery or baseline vitals not recorded")
    else:
        latest, base = validate_reading(latest_vitals), validate_reading(baseline_vitals)
        rows = (
            ("Systolic BP", "sbp_mmhg", tolerance.bp_percent),
            ("Diastolic BP", "dbp_mmhg", tolerance.bp_percent),
            ("Heart rate", "hr_bpm", tolerance.hr_percent),
        )
        for label, field, pct in rows:
            if pct is None:
                continue
            value, ref = getattr(latest, field), getattr(base, field)
            if value is None or ref is None:
                reasons.append(f"{label} missing from recovery or baseline vitals")
            elif _percent_off(value, ref) > pct:
                reasons.append(f"{label} {value} is more than {_f(pct)}% from baseline {ref}")

    if escort_present is not True:
        reasons.append("Responsible adult escort not present")
    if instructions_given is not True:
        reasons.append("Discharge instructions not given")
    return Readiness(not reasons, tuple(reasons))


# === Session lifecycle ===================================================================


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    PRE_CHECK = "pre_check"
    CLEARED = "cleared"
    DEFERRED = "deferred"
    INFUSING = "infusing"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED_EARLY = "stopped_early"
    RECOVERING = "recovering"
    DISCHARGE_READY = "discharge_ready"
    DISCHARGED = "discharged"
    SIGNED = "signed"


_S = SessionStatus
STATUS_LABELS: Final = {
    _S.SCHEDULED: "Scheduled",
    _S.PRE_CHECK: "Pre-check",
    _S.CLEARED: "Cleared",
    _S.DEFERRED: "Deferred",
    _S.INFUSING: "Infusing",
    _S.PAUSED: "Paused",
    _S.COMPLETED: "Infusion complete",
    _S.STOPPED_EARLY: "Stopped early",
    _S.RECOVERING: "Recovering",
    _S.DISCHARGE_READY: "Discharge-ready",
    _S.DISCHARGED: "Discharged",
    _S.SIGNED: "Signed",
}

# Reference 5.2. Rate changes while infusing are events, not status moves.
# discharge_ready → recovering is added so a worsening reading can take readiness back.
TRANSITIONS: Final[Mapping[SessionStatus, frozenset[SessionStatus]]] = {
    _S.SCHEDULED: frozenset({_S.PRE_CHECK}),
    _S.PRE_CHECK: frozenset({_S.CLEARED, _S.DEFERRED}),
    _S.CLEARED: frozenset({_S.INFUSING}),
    _S.DEFERRED: frozenset(),
    _S.INFUSING: frozenset({_S.PAUSED, _S.COMPLETED, _S.STOPPED_EARLY}),
    _S.PAUSED: frozenset({_S.INFUSING, _S.COMPLETED, _S.STOPPED_EARLY}),
    _S.COMPLETED: frozenset({_S.RECOVERING}),
    _S.STOPPED_EARLY: frozenset({_S.RECOVERING}),
    _S.RECOVERING: frozenset({_S.DISCHARGE_READY}),
    _S.DISCHARGE_READY: frozenset({_S.DISCHARGED, _S.RECOVERING}),
    _S.DISCHARGED: frozenset({_S.SIGNED}),
    _S.SIGNED: frozenset(),
}

DEFERRAL_REASON_CODES: Final = (
    "npo",  # PD-01
    "escort",  # PD-02
    "blood_pressure",  # CI-04/CI-05
    "vitals_other",
    "pregnancy",  # CI-07
    "suicide_risk",  # PD-03/PD-04
    "weight",
    "medication_interaction",  # CI-14/CI-15
    "patient_declined",
    "clinician_decision",
    "other",
)
STOP_REASON_CODES: Final = ("adverse_event", "vitals_limit", "patient_request", "equipment", "other")


@dataclass(frozen=True, slots=True)
class TransitionFacts:
    """What the gates look at. Defaults are the "nothing recorded" state, which every
    gate refuses."""

    checked_in: bool = False
    clearance: str | None = None
    clinician_decision_reason: str = ""
    deferral_reason_code: str = ""
    dose_verified: bool = False
    container_selected: bool = False
    started_at: datetime | None = None
    reason: str = ""
    stop_reason_code: str = ""
    planned_dose_delivered: bool = False
    ended_at: datetime | None = None
    readiness: Readiness | None = None
    instructions_given: bool = False
    signer_present: bool = False
    waste_recorded: bool = False
    rems_required: bool = False
    rems_form_queued: bool = False


def _gate_pre_check(f: TransitionFacts) -> list[str]:
    return [] if f.checked_in else ["Patient not checked in"]


def _gate_cleared(f: TransitionFacts) -> list[str]:
    if f.clearance == CLEARED:
        return []
    if f.clearance == NEEDS_CLINICIAN_DECISION:
        return [] if f.clinician_decision_reason.strip() else ["Pre-checks need a clinician's documented decision"]
    if f.clearance == DEFERRED:
        return ["A hard-stop pre-check failed: defer (a clinician decision cannot override a day-of deferral)"]
    return ["Pre-checks not evaluated"]


def _gate_deferred(f: TransitionFacts) -> list[str]:
    return [] if f.deferral_reason_code in DEFERRAL_REASON_CODES else ["Coded deferral reason required"]


def _gate_infusing(f: TransitionFacts) -> list[str]:
    problems = []
    if not f.dose_verified:
        problems.append("Dose not verified by a second clinician")
    if not f.container_selected:
        problems.append("Lot/container not selected")
    if f.started_at is None:
        problems.append("Start time not recorded")
    return problems


def _gate_paused(f: TransitionFacts) -> list[str]:
    return [] if f.reason.strip() else ["Reason for the pause required"]


def _gate_resume(f: TransitionFacts) -> list[str]:
    return [] if f.started_at is not None else ["Resume time not recorded"]


def _gate_completed(f: TransitionFacts) -> list[str]:
    problems = [] if f.planned_dose_delivered else ["Planned dose not delivered"]
    return problems + ([] if f.ended_at is not None else ["End time not recorded"])


def _gate_stopped(f: TransitionFacts) -> list[str]:
    problems = [] if f.stop_reason_code in STOP_REASON_CODES else ["Coded stop reason required"]
    problems += [] if f.reason.strip() else ["Stop reason details required"]
    return problems + ([] if f.ended_at is not None else ["End time not recorded"])


def _gate_recovering(f: TransitionFacts) -> list[str]:
    return [] if f.ended_at is not None else ["Infusion end time not recorded"]


def _gate_discharge_ready(f: TransitionFacts) -> list[str]:
    if f.readiness is None:
        return ["Discharge readiness not computed"]
    return list(f.readiness.reasons_not_ready) if not f.readiness.ready else []


def _gate_back_to_recovering(f: TransitionFacts) -> list[str]:
    return [] if f.reason.strip() else ["Reason required (e.g. a new out-of-range reading)"]


def _gate_discharged(f: TransitionFacts) -> list[str]:
    problems = [] if f.instructions_given else ["Discharge instructions not given"]
    if f.readiness is None or not f.readiness.ready:
        problems.append("Not discharge-ready")
    return problems


def _gate_signed(f: TransitionFacts) -> list[str]:
    problems = [] if f.signer_present else ["Signer required"]
    problems += [] if f.waste_recorded else ["Waste entry not posted (record 0 mg if none)"]
    if f.rems_required and not f.rems_form_queued:
        problems.append("REMS monitoring form not queued")
    return problems


Gate = Callable[[TransitionFacts], list[str]]
GATES: Final[Mapping[tuple[SessionStatus, SessionStatus], Gate]] = {
    (_S.SCHEDULED, _S.PRE_CHECK): _gate_pre_check,
    (_S.PRE_CHECK, _S.CLEARED): _gate_cleared,
    (_S.PRE_CHECK, _S.DEFERRED): _gate_deferred,
    (_S.CLEARED, _S.INFUSING): _gate_infusing,
    (_S.INFUSING, _S.PAUSED): _gate_paused,
    (_S.PAUSED, _S.INFUSING): _gate_resume,
    (_S.INFUSING, _S.COMPLETED): _gate_completed,
    (_S.PAUSED, _S.COMPLETED): _gate_completed,
    (_S.INFUSING, _S.STOPPED_EARLY): _gate_stopped,
    (_S.PAUSED, _S.STOPPED_EARLY): _gate_stopped,
    (_S.COMPLETED, _S.RECOVERING): _gate_recovering,
    (_S.STOPPED_EARLY, _S.RECOVERING): _gate_recovering,
    (_S.RECOVERING, _S.DISCHARGE_READY): _gate_discharge_ready,
    (_S.DISCHARGE_READY, _S.RECOVERING): _gate_back_to_recovering,
    (_S.DISCHARGE_READY, _S.DISCHARGED): _gate_discharged,
    (_S.DISCHARGED, _S.SIGNED): _gate_signed,
}


def can_transition(from_status: str, to_status: str) -> bool:
    """Whether the move is in the table at all (gates aside)."""
    try:
        return SessionStatus(to_status) in TRANSITIONS[SessionStatus(from_status)]
    except ValueError:
        return False


def gate_problems(from_status: str, to_status: str, facts: TransitionFacts) -> list[str]:
    """What still stands in the way of the move; [] means it may happen. Raises
    TransitionError for a move that is not in TRANSITIONS."""
    if not can_transition(from_status, to_status):
        raise TransitionError(f"cannot move an infusion session from {from_status!r} to {to_status!r}")
    return GATES[(SessionStatus(from_status), SessionStatus(to_status))](facts)
