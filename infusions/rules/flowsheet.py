"""The vitals flowsheet: alerts, cadence and overdue readings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final, Literal

from assessments import instruments
from infusions.rules._common import CheckInputError, _f
from infusions.rules.prechecks import VitalsReading, _aware, validate_reading
from infusions.rules.thresholds import SETTINGS_BY_NAME, default

ALERT_ACTIONS: Final = ("continue", "slow", "pause", "stop", "intervention", "airway", "call_for_help")
# A critical value is never answered with "continue": the nurse pauses or stops the
# infusion, manages the airway, calls for help or records another intervention.
CRITICAL_ALERT_ACTIONS: Final = ("pause", "stop", "airway", "call_for_help", "intervention")
ALERT_ACTION_LABELS: Final = {
    "continue": "Continue",
    "slow": "Slow the rate",
    "pause": "Pause the infusion",
    "stop": "Stop the infusion",
    "intervention": "Intervention",
    "airway": "Airway manoeuvre / oxygen",
    "call_for_help": "Call for help",
}


@dataclass(frozen=True, slots=True)
class AlertThresholds:
    """Intra/post-infusion alert limits (administrator settings), defaults and sources from
    ``thresholds.SETTINGS``: BP >180/100 [S28] by analogy, SpO₂ not above 92 % and below
    90 % [S102], BP change beyond 40 % of baseline [S104] by analogy; the rest clinic
    policy (PD-05: no sourced stop/pause limit for IV ketamine). MOAA/S 0 (loss of
    consciousness [S15]) is always critical. None switches a limit off (tests only: the
    policy never stores a blank)."""

    sbp_alert_above_mmhg: int | None = default("sbp_alert_above_mmhg")
    dbp_alert_above_mmhg: int | None = default("dbp_alert_above_mmhg")
    sbp_alert_below_mmhg: int | None = default("sbp_alert_below_mmhg")
    dbp_alert_below_mmhg: int | None = default("dbp_alert_below_mmhg")
    hr_alert_above_bpm: int | None = default("hr_alert_above_bpm")
    hr_alert_below_bpm: int | None = default("hr_alert_below_bpm")
    rr_alert_above_per_min: int | None = default("rr_alert_above_per_min")
    rr_alert_below_per_min: int | None = default("rr_alert_below_per_min")
    spo2_alert_at_or_below_pct: int | None = default("spo2_alert_at_or_below_pct")
    spo2_critical_below_pct: int | None = default("spo2_critical_below_pct")
    temp_alert_above_c: Decimal | None = default("temp_alert_above_c")
    moaas_alert_at_or_below: int | None = default("moaas_alert_at_or_below")
    cadss6_alert_above: int | None = default("cadss6_alert_above")
    bp_change_alert_percent: Decimal | None = default("bp_change_alert_percent")
    sbp_critical_below_mmhg: int | None = default("sbp_critical_below_mmhg")
    sbp_critical_above_mmhg: int | None = default("sbp_critical_above_mmhg")
    dbp_critical_above_mmhg: int | None = default("dbp_critical_above_mmhg")
    hr_critical_below_bpm: int | None = default("hr_critical_below_bpm")
    hr_critical_above_bpm: int | None = default("hr_critical_above_bpm")
    rr_critical_below_per_min: int | None = default("rr_critical_below_per_min")


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


LABELS: Final = {
    "sbp_mmhg": ("Systolic BP", " mmHg"),
    "dbp_mmhg": ("Diastolic BP", " mmHg"),
    "hr_bpm": ("Heart rate", " bpm"),
    "spo2_pct": ("SpO₂", "%"),
    "rr_per_min": ("Respiratory rate", "/min"),
    "temp_c": ("Temperature", " °C"),
    "moaas": ("MOAA/S", ""),
    "cadss6": ("CADSS-6", ""),
}
# (code, field, warning setting, critical setting, direction). "at_or_below" alerts on the
# limit itself (SpO₂ 92 % is not "above 92 %" [S102]); "above"/"below" are strict.
_LIMITS: Final = (
    ("sbp_high", "sbp_mmhg", "sbp_alert_above_mmhg", "sbp_critical_above_mmhg", "above"),
    ("dbp_high", "dbp_mmhg", "dbp_alert_above_mmhg", "dbp_critical_above_mmhg", "above"),
    ("sbp_low", "sbp_mmhg", "sbp_alert_below_mmhg", "sbp_critical_below_mmhg", "below"),
    ("dbp_low", "dbp_mmhg", "dbp_alert_below_mmhg", None, "below"),
    ("hr_high", "hr_bpm", "hr_alert_above_bpm", "hr_critical_above_bpm", "above"),
    ("hr_low", "hr_bpm", "hr_alert_below_bpm", "hr_critical_below_bpm", "below"),
    ("rr_high", "rr_per_min", "rr_alert_above_per_min", None, "above"),
    ("rr_low", "rr_per_min", "rr_alert_below_per_min", "rr_critical_below_per_min", "below"),
    ("spo2_low", "spo2_pct", "spo2_alert_at_or_below_pct", "spo2_critical_below_pct", "at_or_below"),
    ("temp_high", "temp_c", "temp_alert_above_c", None, "above"),
    ("sedation", "moaas", "moaas_alert_at_or_below", None, "at_or_below"),
    ("dissociation", "cadss6", "cadss6_alert_above", None, "above"),
)
_WORDS: Final = {"above": "above", "below": "below", "at_or_below": "at or below"}
CRITICAL_ASK: Final = "pause or stop, airway, call for help"


def _breaks(value, bound, direction: str) -> bool:
    if value is None or bound is None:
        return False
    if direction == "above":
        return value > bound
    if direction == "below":
        return value < bound
    return value <= bound


def vitals_alerts(
    reading: VitalsReading,
    thresholds: AlertThresholds = AlertThresholds(),  # noqa: B008 - frozen dataclass
    baseline: VitalsReading | None = None,
) -> list[Alert]:
    """Out-of-range readings that need a nurse's action. One alert per limit row, the
    worse of warning and critical; a critical one asks for an action from
    CRITICAL_ALERT_ACTIONS. Validates the reading first (impossible values raise
    ReadingError)."""
    r, t = validate_reading(reading), thresholds
    alerts: list[Alert] = []
    for code, field, warning, critical, direction in _LIMITS:
        value = getattr(r, field)
        label, unit = LABELS[field]
        critical_bound = getattr(t, critical) if critical else None
        # The critical limits are strict ("SpO₂ below 90 %" [S102]) whatever the warning's form.
        strict = "below" if direction == "at_or_below" else direction
        if critical and critical_bound is not None and _breaks(value, critical_bound, strict):
            alerts.append(
                Alert(
                    "spo2_critical" if code == "spo2_low" else f"{code}_critical",
                    field,
                    value,
                    critical_bound,
                    "critical",
                    f"CRITICAL: {label} {value}{unit} {_WORDS[strict]} {critical_bound}{unit}: {CRITICAL_ASK}",
                    SETTINGS_BY_NAME[critical].source,
                )
            )
            continue
        bound = getattr(t, warning)
        if _breaks(value, bound, direction):
            alerts.append(
                Alert(
                    code,
                    field,
                    value,
                    bound,
                    "warning",
                    f"{label} {value}{unit} {_WORDS[direction]} {bound}{unit}",
                    SETTINGS_BY_NAME[warning].source,
                )
            )
    if r.moaas is not None and r.moaas == instruments.MOAAS_LOSS_OF_CONSCIOUSNESS:
        alerts = [a for a in alerts if a.field != "moaas"]
        alerts.append(
            Alert(
                "loss_of_consciousness",
                "moaas",
                r.moaas,
                instruments.MOAAS_LOSS_OF_CONSCIOUSNESS,
                "critical",
                f"CRITICAL: MOAA/S 0, loss of consciousness: {CRITICAL_ASK}",
                "[S15][S106]",
            )
        )

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
                        f"{LABELS[field][0]} {value} is more than {_f(pct)}% from baseline {base}",
                        SETTINGS_BY_NAME["bp_change_alert_percent"].source,
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

    intra_min: int | None = default("cadence_intra_min")  # [S7][S8]
    post_min: int | None = default("cadence_post_min")  # [S8]
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
    interval after the latest reading.

    A reading's time is typed to the minute while a phase starts at the second the button
    was pressed: a reading in the same minute as the start (or the end, which starts
    recovery) belongs to the phase, else the reading just taken would leave the phase's
    first reading "overdue"."""
    if phase not in PHASES:
        raise CheckInputError("phase", f"must be one of {', '.join(PHASES)}")
    interval = getattr(cadence, f"{phase}_min")
    if interval is None:
        return None
    if isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0:
        raise CheckInputError("cadence", f"{phase} interval must be a positive number of minutes")
    started = _aware("phase_started_at", phase_started_at) if phase_started_at is not None else None
    last = _aware("last_reading_at", last_reading_at) if last_reading_at is not None else None
    if last is None or (started is not None and last < started.replace(second=0, microsecond=0)):
        if started is None:
            raise CheckInputError("phase_started_at", "needed when the phase has no reading yet")
        return started
    return last + timedelta(minutes=interval)


def is_overdue(*, due_at: datetime | None, at: datetime, grace: timedelta = timedelta(0)) -> bool:
    """Overdue once ``at`` is past the due time plus ``grace`` (clinic policy, default 0)."""
    if due_at is None:
        return False
    return _aware("at", at) > _aware("due_at", due_at) + grace
