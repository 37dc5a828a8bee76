"""Pure rules for the infusion day: dosing, pre-infusion checks, the vitals flowsheet,
recovery and discharge readiness, and the session lifecycle.

No Django, no database, no clock: callers pass ``at``/``today``. Every clinical number
cites clinical-reference.md ([Sx], rule ids CI-/PD- from its section 5.3). A number the
reference does not give is labelled "clinic policy" (``rules.thresholds``: every safety
setting has a default and bounds, none is blank) — never dressed up as a clinical source.
Thresholds are arguments with these defaults so the administrator's settings flow in.

Rounding (module constants, all ROUND_HALF_UP): weight 0.1 kg, dose 0.1 mg, volume
0.01 mL, concentration 0.001 mg/mL, pump rate 0.1 mL/h, derived mg/kg(/h) 0.0001. Each
quantity is rounded once, at the step that produces it, and the step says so.

    >>> from decimal import Decimal
    >>> calc = calculate_dose(weight_kg=Decimal("80"), mg_per_kg=Decimal("0.5"),
    ...     max_mg=Decimal("100"), protocol_max_mg_per_kg=Decimal("0.75"),
    ...     vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("36"), duration_min=40,
    ...     pump_limits=PumpLimits(Decimal("1"), Decimal("999"), Decimal("1000")))
    >>> (calc.dose_mg, calc.final_mg_per_ml, calc.rate_ml_per_h)
    (Decimal('40.0'), Decimal('1.000'), Decimal('60.0'))
"""

from __future__ import annotations

from infusions.rules._common import (  # noqa: F401 - the package's public names
    CONCENTRATION_QUANTUM_MG_PER_ML,
    DOSE_QUANTUM_MG,
    MG_PER_KG_QUANTUM,
    RATE_QUANTUM_ML_PER_H,
    ROUNDING,
    VOLUME_QUANTUM_ML,
    WEIGHT_QUANTUM_KG,
    CheckInputError,
    DoseError,
    ReadingError,
    RuleInputError,
    TransitionError,
)
from infusions.rules.delivery import (  # noqa: F401 - the package's public names
    Delivery,
    DeliveryError,
    Stretch,
    bag_mg_for_ml,
    bag_minutes_left,
    delivered,
    planned_dose_delivered,
)
from infusions.rules.discharge import (  # noqa: F401 - the package's public names
    DISCHARGE_SCORE_CODES,
    DISCHARGE_THRESHOLD_DEFAULT,
    MOAAS_AWAKE,
    REQUIRED_VITALS,
    SPRAVATO_MIN_OBSERVATION_MIN,
    Criterion,
    DischargeTolerance,
    Readiness,
    discharge_readiness,
    latest_values,
)
from infusions.rules.dosing import (  # noqa: F401 - the package's public names
    ADJUSTED_WEIGHT_FACTOR,
    CM_PER_INCH,
    DEFAULT_DOSING_LIMITS,
    DEFAULT_WEIGHT_BASIS,
    DEVINE_BASE_HEIGHT_IN,
    DEVINE_BASE_KG,
    DEVINE_KG_PER_INCH_OVER_5_FT,
    DEVINE_MIN_HEIGHT_CM,
    HEIGHT_PLAUSIBLE_RANGE_CM,
    MAX_INFUSION_MINUTES_BOUNDS,
    MAX_INFUSION_MINUTES_DEFAULT,
    MAX_RATE_MG_PER_KG_PER_H_BOUNDS,
    MAX_RATE_MG_PER_KG_PER_H_DEFAULT,
    MIN_INFUSION_MINUTES_BOUNDS,
    MIN_INFUSION_MINUTES_DEFAULT,
    MIN_TOTAL_VOLUME_ML_BOUNDS,
    MIN_TOTAL_VOLUME_ML_DEFAULT,
    PAIN_BOLUS_MAX_MG_PER_KG,
    PROTOCOLS,
    UNDILUTED_IV_FORBIDDEN_MG_PER_ML,
    VIAL_CONCENTRATIONS_MG_PER_ML,
    WEIGHT_BASES,
    WEIGHT_PLAUSIBLE_RANGE_KG,
    WEIGHT_POSSIBLE_MAX_KG,
    DoseCalculation,
    DosingLimits,
    DosingProtocol,
    DosingWeight,
    PumpLimits,
    calculate_dose,
    calculate_rate_dose,
    dosing_weight_kg,
    limit_problems,
    rate_ceiling_ml_per_h,
    rate_mg_per_kg_per_h,
    verification_is_current,
    weight_change_problem,
)
from infusions.rules.flowsheet import (  # noqa: F401 - the package's public names
    ALERT_ACTION_LABELS,
    ALERT_ACTIONS,
    CRITICAL_ALERT_ACTIONS,
    PHASES,
    Alert,
    AlertThresholds,
    Cadence,
    Phase,
    is_overdue,
    next_reading_due,
    vitals_alerts,
)
from infusions.rules.lifecycle import (  # noqa: F401 - the package's public names
    DEFERRAL_REASON_CODES,
    GATES,
    READY_WHEN_DISCHARGING,
    STATUS_LABELS,
    STOP_REASON_CODES,
    TRANSITIONS,
    Gate,
    SessionStatus,
    TransitionFacts,
    can_transition,
    gate_problems,
)
from infusions.rules.prechecks import (  # noqa: F401 - the package's public names
    BLOCKING_RULE_IDS,
    CLEARED,
    CONFIRM_RANGES,
    DEFERRED,
    NEEDS_CLINICIAN_DECISION,
    NPO_SOURCE,
    PLAUSIBLE_RANGES,
    PREGNANCY_RESULTS,
    REQUIRED_PRECHECK_CODES,
    SPRAVATO_NPO_INTERVALS,
    BaselineThresholds,
    CheckResult,
    ClearanceOutcome,
    FindingLike,
    InteractionFinding,
    NpoIntervals,
    OnFail,
    VitalsReading,
    baseline_vitals_check,
    blocking_checks,
    clearance,
    escort_check,
    extreme_values,
    medication_changes_check,
    npo_check,
    pregnancy_check,
    suicide_risk_gate,
    validate_reading,
    validate_reading_time,
    weight_check,
)
from infusions.rules.thresholds import (  # noqa: F401 - the package's public names
    CLINIC_POLICY,
    SETTINGS,
    SETTINGS_BY_NAME,
    Setting,
    setting_problems,
)
