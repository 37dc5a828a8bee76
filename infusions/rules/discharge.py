"""Recovery and discharge readiness."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from assessments import instruments
from infusions.rules._common import CheckInputError, _f
from infusions.rules.flowsheet import _percent_off
from infusions.rules.prechecks import VitalsReading, validate_reading

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
