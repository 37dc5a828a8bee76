"""Recovery and discharge readiness, from the latest state of the session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from assessments import instruments
from infusions.rules._common import CheckInputError, _f
from infusions.rules.flowsheet import LABELS, AlertThresholds, _percent_off, vitals_alerts
from infusions.rules.prechecks import VitalsReading, _aware, validate_reading
from infusions.rules.thresholds import default

DISCHARGE_SCORE_CODES: Final = ("aldrete", "padss")
DISCHARGE_THRESHOLD_DEFAULT: Final = instruments.DISCHARGE_THRESHOLD_DEFAULT  # ≥9 [S102][S104]
SPRAVATO_MIN_OBSERVATION_MIN: Final = 120  # [S14]
# "Until resolution of sedation": responds readily to name in a normal tone [S14][S15][S106].
MOAAS_AWAKE: Final = instruments.INSTRUMENTS["moaas"].total_max
# The vitals every discharge needs in recovery (temperature is judged when it was taken).
REQUIRED_VITALS: Final = ("sbp_mmhg", "dbp_mmhg", "hr_bpm", "spo2_pct", "rr_per_min")


@dataclass(frozen=True, slots=True)
class DischargeTolerance:
    """How near baseline vitals must be. BP within 20% of pre-sedation (Aldrete
    circulation ±20 mmHg or ±20% [S102]; PADSS vital signs within 20% of pre-op [S104]);
    HR within 20% (PADSS vital signs [S104]). None disables a comparison."""

    bp_percent: Decimal | None = default("discharge_bp_percent")  # [S102][S104]
    hr_percent: Decimal | None = default("discharge_hr_percent")  # [S104]


@dataclass(frozen=True, slots=True)
class Criterion:
    """One line of the discharge screen: what is required, what was found, whether met."""

    code: str
    label: str
    met: bool
    value: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reasons_not_ready: tuple[str, ...]
    criteria: tuple[Criterion, ...] = ()


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
    score_taken_at: datetime | None = None,
    latest_reading_at: datetime | None = None,
    open_adverse_events: Sequence[str] = (),
    open_alerts: Sequence[str] = (),
    threshold: int = DISCHARGE_THRESHOLD_DEFAULT,
    tolerance: DischargeTolerance = DischargeTolerance(),  # noqa: B008 - frozen dataclass
    limits: AlertThresholds = AlertThresholds(),  # noqa: B008 - frozen dataclass
    cadss6_at_most: int = default("discharge_cadss6_at_most"),
) -> Readiness:
    """Discharge-ready is computed from the latest state, never ticked (5.2 recovering →
    discharge_ready). Every criterion must hold:

    - the minimum observation time has passed since the infusion ended;
    - the latest recovery value of each vital (BP, HR, SpO₂, RR; temperature when taken)
      raises no alert (BP under the 180/100 ceiling [S28], SpO₂ above 92 % [S102], the
      clinic's HR/RR limits) and BP and HR are back within the tolerance of baseline
      [S102][S104];
    - MOAA/S 5 and dissociation resolved (CADSS-6 at or below the clinic's limit):
      monitor "until resolution of sedation, dissociation and respiratory depression"
      [S14][S15];
    - an Aldrete/PADSS at or above the threshold [S102][S104], scored after the latest
      reading (a score cannot vouch for a reading it did not see);
    - no adverse event open and no alert without an action;
    - a responsible adult escort [S26][S104] and the instructions given (no driving
      until the next day after sleep [S16], who to call, 988).

    ``latest_vitals`` holds, per field, the latest value recorded in recovery."""
    if score_code not in DISCHARGE_SCORE_CODES:
        raise CheckInputError("score_code", f"must be one of {', '.join(DISCHARGE_SCORE_CODES)}")
    if isinstance(min_observation_min, bool) or not isinstance(min_observation_min, int) or min_observation_min < 0:
        raise CheckInputError("min_observation_min", "must be whole minutes ≥ 0 (clinic setting)")
    criteria: list[Criterion] = []

    def add(code: str, label: str, value: str, reasons: list[str]) -> None:
        criteria.append(Criterion(code, label, not reasons, value, tuple(reasons)))

    if minutes_since_end is None:
        add("observation", "Minimum observation time", "infusion end not recorded", ["Infusion end time not recorded"])
    else:
        short = minutes_since_end < min_observation_min
        observed = f"{minutes_since_end} of {min_observation_min} min"
        add(
            "observation",
            "Minimum observation time",
            observed,
            [f"Observed {minutes_since_end} of the minimum {min_observation_min} min"] if short else [],
        )

    latest = validate_reading(latest_vitals) if latest_vitals is not None else VitalsReading()
    base = validate_reading(baseline_vitals) if baseline_vitals is not None else None
    for code, label, fields in (
        ("bp", "Blood pressure", ("sbp_mmhg", "dbp_mmhg")),
        ("hr", "Heart rate", ("hr_bpm",)),
        ("spo2", "SpO₂", ("spo2_pct",)),
        ("rr", "Respiratory rate", ("rr_per_min",)),
        ("temp", "Temperature", ("temp_c",)),
    ):
        add(code, label, _shown(latest, fields), _vital_reasons(latest, base, fields, limits, tolerance))

    moaas = latest.moaas
    add(
        "sedation",
        "Sedation resolved (MOAA/S 5)",
        "not recorded" if moaas is None else f"MOAA/S {moaas}",
        ["MOAA/S not recorded in recovery"]
        if moaas is None
        else ([] if moaas == MOAAS_AWAKE else [f"MOAA/S {moaas}: sedation not resolved (5 needed)"]),
    )
    cadss = latest.cadss6
    add(
        "dissociation",
        f"Dissociation resolved (CADSS-6 ≤ {cadss6_at_most})",
        "not recorded" if cadss is None else f"CADSS-6 {cadss}",
        ["CADSS-6 not recorded in recovery"]
        if cadss is None
        else ([] if cadss <= cadss6_at_most else [f"CADSS-6 {cadss} is above {cadss6_at_most}"]),
    )

    name = "Modified Aldrete" if score_code == "aldrete" else "PADSS"
    score_reasons = []
    if score_total is None:
        score_reasons.append(f"{name} score not recorded")
    else:
        if not instruments.discharge_threshold_met(score_code, score_total, threshold=threshold):
            score_reasons.append(f"{name} {score_total} is below {threshold}")
        if latest_reading_at is not None and (
            score_taken_at is None
            or _aware("score_taken_at", score_taken_at) <= _aware("latest_reading_at", latest_reading_at)
        ):
            score_reasons.append(f"{name} was scored before the latest reading: score again")
    add(
        "score",
        f"{name} ≥ {threshold}, after the latest reading",
        "not recorded" if score_total is None else f"{name} {score_total}",
        score_reasons,
    )

    add(
        "adverse_events",
        "No adverse event open",
        ", ".join(open_adverse_events) or "none open",
        [f"Adverse event open: {event}" for event in open_adverse_events],
    )
    add(
        "alerts",
        "Every alert has an action",
        f"{len(open_alerts)} open" if open_alerts else "none open",
        [f"Alert without an action: {alert}" for alert in open_alerts],
    )
    add(
        "escort",
        "Responsible adult escort present",
        "present" if escort_present else "not present",
        [] if escort_present is True else ["Responsible adult escort not present"],
    )
    add(
        "instructions",
        "Discharge instructions given",
        "given" if instructions_given else "not given",
        [] if instructions_given is True else ["Discharge instructions not given"],
    )
    reasons = tuple(reason for c in criteria for reason in c.reasons)
    return Readiness(not reasons, reasons, tuple(criteria))


def latest_values(readings: Sequence[VitalsReading]) -> VitalsReading:
    """Per field, the latest value of the readings (oldest first): a row with only MOAA/S
    does not hide the SpO₂ taken a minute before it."""
    values = {}
    for reading in readings:
        for name in VitalsReading.__dataclass_fields__:
            value = getattr(reading, name)
            if value is not None:
                values[name] = value
    return VitalsReading(**values)


def _shown(reading: VitalsReading, fields: tuple[str, ...]) -> str:
    values = [getattr(reading, f) for f in fields]
    if all(v is None for v in values):
        return "not recorded"
    unit = LABELS[fields[0]][1]
    return "/".join("—" if v is None else str(v) for v in values) + unit


def _vital_reasons(
    latest: VitalsReading,
    base: VitalsReading | None,
    fields: tuple[str, ...],
    limits: AlertThresholds,
    tolerance: DischargeTolerance,
) -> list[str]:
    reasons = []
    for field in fields:
        if getattr(latest, field) is None and field in REQUIRED_VITALS:
            reasons.append(f"{LABELS[field][0]} not recorded in recovery")
    only = VitalsReading(**{f: getattr(latest, f) for f in fields})
    # The alert limits are the discharge's absolute limits: a value that would raise an
    # alert (warning or critical) is not a value to send someone home with.
    no_change = AlertThresholds(**{**_as_dict(limits), "bp_change_alert_percent": None})
    for alert in vitals_alerts(only, no_change):
        unit = LABELS[alert.field][1]
        reasons.append(f"{LABELS[alert.field][0]} {alert.value}{unit} is outside the alert limit {alert.limit}{unit}")
    pct = tolerance.hr_percent if fields == ("hr_bpm",) else tolerance.bp_percent
    if pct is not None and fields[0] in ("sbp_mmhg", "hr_bpm"):
        for field in fields:
            value, ref = getattr(latest, field), getattr(base, field) if base is not None else None
            if value is None:
                continue
            if ref is None:
                reasons.append(f"{LABELS[field][0]} baseline not recorded")
            elif _percent_off(value, ref) > pct:
                reasons.append(f"{LABELS[field][0]} {value} is more than {_f(pct)}% from baseline {ref}")
    return reasons


def _as_dict(limits: AlertThresholds) -> dict:
    return {name: getattr(limits, name) for name in AlertThresholds.__dataclass_fields__}
