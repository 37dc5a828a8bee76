"""The pre-infusion checks that gate "cleared" (baseline vitals included)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final, Literal, Protocol

from assessments import instruments
from infusions.rules._common import CheckInputError, ReadingError, _f, _require_decimal
from infusions.rules.dosing import WEIGHT_PLAUSIBLE_RANGE_KG, _check_weight
from infusions.rules.thresholds import default

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

    clear_liquids: timedelta = timedelta(minutes=default("npo_clear_liquids_min"))  # [S30]
    light_meal: timedelta = timedelta(minutes=default("npo_light_meal_min"))  # [S30]
    fatty_meal: timedelta = timedelta(minutes=default("npo_fatty_meal_min"))  # [S30]


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
    people of childbearing potential is clinic policy (2.5) [S31]. The policy only decides
    whether a test is required: unknown childbearing potential, or childbearing potential
    with no negative test, is never a silent pass. It needs an answer (recorded here) or
    the clinician's documented decision, whatever the policy."""
    source = "CI-07 [S11][S17]; test: clinic policy"
    if test_result is not None and test_result not in PREGNANCY_RESULTS:
        raise CheckInputError("test_result", f"must be one of {', '.join(PREGNANCY_RESULTS)} or None")
    if test_result == "positive":
        return [CheckResult("pregnancy", False, "Positive pregnancy test: clinician review", source, "review")]
    if childbearing_potential is False:
        return [CheckResult("pregnancy", True, "Not of childbearing potential", source)]
    if childbearing_potential is None:
        return [CheckResult("pregnancy", None, "Childbearing potential not recorded", source)]
    if test_result is None and test_required_by_policy:
        return [CheckResult("pregnancy", None, "Pregnancy test required by clinic policy, no result", source)]
    if test_result is None:
        message = "Childbearing potential, pregnancy status unknown (no test: clinic policy): record or decide"
        return [CheckResult("pregnancy", None, message, source)]
    return [CheckResult("pregnancy", True, "Pregnancy test negative", source)]


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


# What a monitor can show on a living (or dying) patient: a value outside is a typing
# error and is refused. Everything inside is stored, however alarming: RR 0 (apnoea),
# SpO₂ 40 %, BP 50/30 or HR 15 must be charted at the moment they happen, and the alerts
# then ask for an action. Limits of the measurement, not clinical thresholds; instrument
# ranges come from the instruments (MOAA/S 0–5 [S106], CADSS-6 0–24 [S94], NRS 0–10 [S98]).
PLAUSIBLE_RANGES: Final[Mapping[str, tuple[Decimal, Decimal, str]]] = {
    "sbp_mmhg": (Decimal(0), Decimal(350), "mmHg"),
    "dbp_mmhg": (Decimal(0), Decimal(250), "mmHg"),
    "hr_bpm": (Decimal(0), Decimal(350), "bpm"),
    "spo2_pct": (Decimal(0), Decimal(100), "%"),
    "rr_per_min": (Decimal(0), Decimal(100), "/min"),
    "temp_c": (Decimal(20), Decimal(46), "°C"),
    "moaas": (Decimal(0), Decimal(instruments.INSTRUMENTS["moaas"].total_max), ""),
    "cadss6": (Decimal(0), Decimal(instruments.INSTRUMENTS["cadss6"].total_max), ""),
    "pain_nrs": (Decimal(0), Decimal(instruments.INSTRUMENTS["nrs_pain"].total_max), ""),
}
# Outside these a value is rare enough at the chair that the nurse confirms it once before
# it is stored (a slipped digit looks like a crisis): the intake's data-entry ranges, with
# RR and temperature added. Clinic policy, not clinical thresholds.
CONFIRM_RANGES: Final[Mapping[str, tuple[Decimal, Decimal]]] = {
    "sbp_mmhg": (Decimal(50), Decimal(300)),
    "dbp_mmhg": (Decimal(25), Decimal(200)),
    "hr_bpm": (Decimal(20), Decimal(250)),
    "spo2_pct": (Decimal(50), Decimal(100)),
    "rr_per_min": (Decimal(4), Decimal(60)),
    "temp_c": (Decimal(30), Decimal(45)),
}


def validate_reading(reading: VitalsReading) -> VitalsReading:
    """Refuse physically impossible values (negative, SpO₂ over 100 %, beyond what a
    monitor shows) with the possible range in the message; return the reading."""
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
                f"{value}{unit and ' ' + unit} is outside the possible range {_f(low)}–{_f(high)}"
                f"{unit and ' ' + unit} (physically impossible: a typing error?)",
            )
    if reading.sbp_mmhg is not None and reading.dbp_mmhg is not None and reading.sbp_mmhg <= reading.dbp_mmhg:
        raise ReadingError("dbp_mmhg", f"diastolic {reading.dbp_mmhg} must be below systolic {reading.sbp_mmhg}")
    return reading


def extreme_values(reading: VitalsReading) -> dict[str, str]:
    """The possible but extreme values of a (valid) reading, each with the message asking
    the nurse to confirm it: field → message."""
    found = {}
    for name, (low, high) in CONFIRM_RANGES.items():
        value = getattr(reading, name)
        if value is not None and not low <= value <= high:
            unit = PLAUSIBLE_RANGES[name][2]
            found[name] = (
                f"{value}{unit and ' ' + unit} is extreme (usual entries {_f(low)}–{_f(high)}): "
                "check it and confirm this reading to store it"
            )
    return found


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
    UNVERIFIED): the defaults are clinic policy. SpO₂: Aldrete gives full points only
    above 92% on room air [S102], used as the review point."""

    sbp_defer_above_mmhg: int = 180  # CI-04 [S28]
    dbp_defer_above_mmhg: int = 100  # CI-04 [S28]
    sbp_review_above_mmhg: int = 140  # CI-05 [S17][S23]
    dbp_review_above_mmhg: int = 90  # CI-05 [S17][S23]
    hr_review_above_bpm: int | None = default("baseline_hr_review_above_bpm")  # clinic policy
    hr_review_below_bpm: int | None = default("baseline_hr_review_below_bpm")  # clinic policy
    spo2_review_at_or_below_pct: int | None = default("baseline_spo2_review_at_or_below_pct")  # [S102]


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
    [S36]; C-SSRS moderate (item 3, or 6 lifetime only) or high (item 4/5, or 6 within 3
    months) requires a documented prescriber decision (PD-04) [S95], as intake screening
    does — the triage levels are the C-SSRS's, the gate is clinic workflow, not a guideline.
    A C-SSRS done today counts even when item 9 was 0. Scores with
    ``assessments.instruments``; bad answers raise there."""
    phq9_today = phq9_answers is not None and phq9_taken_on == today
    cssrs_today = cssrs_answers is not None and cssrs_taken_on == today
    positive = None
    if not phq9_today or phq9_answers is None:
        phq9 = CheckResult("phq9_item9", None, "Today's PHQ-9 not completed", "PD-03 [S36]")
    else:
        result = instruments.score("phq9", phq9_answers)
        positive = instruments.FLAG_SUICIDAL_IDEATION in result.flags
        message = "Item 9 positive: C-SSRS screener required" if positive else "Item 9 negative"
        phq9 = CheckResult("phq9_item9", True, f"PHQ-9 total {result.total}; {message}", "PD-03 [S36]")

    if cssrs_today and cssrs_answers is not None:
        level = instruments.cssrs_risk_level(cssrs_answers)
        if level in ("moderate", "high"):
            cssrs = CheckResult(
                "cssrs_screen",
                False,
                f"C-SSRS {level} risk: prescriber review and a documented decision (clinic workflow)",
                "PD-04 [S95]",
                "review",
            )
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
