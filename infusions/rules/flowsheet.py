"""The vitals flowsheet: alerts, cadence and overdue readings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final, Literal

from assessments import instruments
from infusions.rules._common import CheckInputError, _f
from infusions.rules.prechecks import VitalsReading, _aware, validate_reading

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
