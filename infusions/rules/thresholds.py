"""The infusion day's safety settings: every default, its source and its hard bounds.

One table feeds everything that needs these numbers: the rules' dataclass defaults, the
policy model's fields, validators and database check constraints, the deploy check that
refuses a blank setting, and the generated docs/clinical-rules.md. A default comes from
clinical-reference.md with its [Sx] key where the reference has a number; otherwise it is
labelled clinic policy. No safety setting is ever blank: a blank alert threshold used to
mean "no alert", which left apnoea, bradycardia and hypotension silent out of the box.

The bounds keep an administrator's edit inside a range where the rule still protects
(an SpO₂ alert at 50 % or a minimum observation of 0 minutes would not); they are
clinic policy, not clinical thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

CLINIC_POLICY: Final = "clinic policy (administrator setting; no sourced default)"


@dataclass(frozen=True, slots=True)
class Setting:
    """One administrator-editable safety number."""

    name: str
    label: str
    default: int | Decimal
    low: int | Decimal
    high: int | Decimal
    unit: str
    group: str
    source: str = CLINIC_POLICY
    note: str = ""

    @property
    def is_decimal(self) -> bool:
        return isinstance(self.default, Decimal)

    @property
    def sourced(self) -> bool:
        return self.source != CLINIC_POLICY

    @property
    def bounds_text(self) -> str:
        return f"{self.low}–{self.high}{self.unit and ' ' + self.unit}"

    def help_text(self) -> str:
        note = f" {self.note}" if self.note else ""
        return (
            f"Default {self.default}{self.unit and ' ' + self.unit}: {self.source}.{note} Allowed {self.bounds_text}."
        )


ALERTS = "Alerts during and after the infusion"
CRITICAL = "Critical alerts (need pause, stop, airway or help)"
BASELINE = "Baseline vitals at the pre-check"
CADENCE = "Reading cadence"
DISCHARGE = "Discharge"
FASTING = "Fasting (PD-01)"
_S28 = "[S28] (resting-BP contraindication used as an alert point by analogy; clinician to confirm)"

SETTINGS: Final[tuple[Setting, ...]] = (
    Setting(
        "npo_clear_liquids_min", "NPO: clear liquids", 120, 30, 480, "min", FASTING, "[S30]", "Spravato: 30 min [S21]."
    ),
    Setting("npo_light_meal_min", "NPO: light meal", 360, 120, 720, "min", FASTING, "[S30]", "Spravato: 2 h [S21]."),
    Setting("npo_fatty_meal_min", "NPO: fatty meal", 480, 120, 720, "min", FASTING, "[S30]", "Spravato: 2 h [S21]."),
    Setting("baseline_hr_review_above_bpm", "Baseline HR review above", 100, 80, 140, "bpm", BASELINE),
    Setting("baseline_hr_review_below_bpm", "Baseline HR review below", 50, 35, 60, "bpm", BASELINE),
    Setting(
        "baseline_spo2_review_at_or_below_pct",
        "Baseline SpO₂ review at or below",
        92,
        88,
        96,
        "%",
        BASELINE,
        "[S102]",
        "Aldrete gives full points only above 92 % on room air.",
    ),
    Setting(
        "weight_change_confirm_percent",
        "Weight change needing confirmation above",
        Decimal("10"),
        Decimal("5"),
        Decimal("20"),
        "%",
        BASELINE,
        note="From the last recorded weight (or the intake's): the nurse confirms it with a reason. "
        "A weight typed in pounds as kilograms is 2.2 times too heavy.",
    ),
    Setting("sbp_alert_above_mmhg", "Alert: systolic above", 180, 140, 220, "mmHg", ALERTS, _S28),
    Setting("dbp_alert_above_mmhg", "Alert: diastolic above", 100, 80, 130, "mmHg", ALERTS, _S28),
    Setting("sbp_alert_below_mmhg", "Alert: systolic below", 90, 70, 110, "mmHg", ALERTS),
    Setting("dbp_alert_below_mmhg", "Alert: diastolic below", 50, 30, 70, "mmHg", ALERTS),
    Setting(
        "hr_alert_above_bpm", "Alert: heart rate above", 120, 90, 160, "bpm", ALERTS, note="HR >110 is UNVERIFIED."
    ),
    Setting("hr_alert_below_bpm", "Alert: heart rate below", 50, 35, 60, "bpm", ALERTS),
    Setting("rr_alert_above_per_min", "Alert: respiratory rate above", 24, 16, 40, "/min", ALERTS),
    Setting("rr_alert_below_per_min", "Alert: respiratory rate below", 10, 6, 12, "/min", ALERTS),
    Setting(
        "spo2_alert_at_or_below_pct",
        "Alert: SpO₂ at or below",
        92,
        88,
        96,
        "%",
        ALERTS,
        "[S102]",
        "Aldrete full points only above 92 % on room air.",
    ),
    Setting(
        "temp_alert_above_c",
        "Alert: temperature above",
        Decimal("38.0"),
        Decimal("37.5"),
        Decimal("40.0"),
        "°C",
        ALERTS,
    ),
    Setting(
        "moaas_alert_at_or_below",
        "Alert: MOAA/S at or below",
        3,
        1,
        4,
        "",
        ALERTS,
        note="Scale [S106]; MOAA/S 0 (loss of consciousness [S15]) is always critical.",
    ),
    Setting(
        "cadss6_alert_above",
        "Alert: CADSS-6 above",
        12,
        1,
        23,
        "",
        ALERTS,
        note="CADSS-6 has no validated bands [S94].",
    ),
    Setting(
        "bp_change_alert_percent",
        "Alert: BP change from baseline above",
        Decimal("40"),
        Decimal("10"),
        Decimal("60"),
        "%",
        ALERTS,
        "[S104]",
        "PADSS scores vital signs more than 40 % from pre-op as 0; used as an alert point by analogy.",
    ),
    Setting(
        "spo2_critical_below_pct",
        "Critical: SpO₂ below",
        90,
        80,
        92,
        "%",
        CRITICAL,
        "[S102]",
        "Aldrete SpO₂ 0 below 90 %.",
    ),
    Setting("sbp_critical_below_mmhg", "Critical: systolic below", 80, 60, 90, "mmHg", CRITICAL),
    Setting("sbp_critical_above_mmhg", "Critical: systolic above", 220, 190, 250, "mmHg", CRITICAL),
    Setting("dbp_critical_above_mmhg", "Critical: diastolic above", 120, 105, 140, "mmHg", CRITICAL),
    Setting("hr_critical_below_bpm", "Critical: heart rate below", 40, 25, 50, "bpm", CRITICAL),
    Setting("hr_critical_above_bpm", "Critical: heart rate above", 150, 120, 200, "bpm", CRITICAL),
    Setting("rr_critical_below_per_min", "Critical: respiratory rate below", 8, 4, 10, "/min", CRITICAL),
    Setting("cadence_intra_min", "Readings every (during the infusion)", 10, 1, 30, "min", CADENCE, "[S7][S8]"),
    Setting("cadence_post_min", "Readings every (in recovery)", 15, 1, 60, "min", CADENCE, "[S8]"),
    Setting("overdue_grace_min", "Overdue after (past due)", 0, 0, 15, "min", CADENCE),
    Setting(
        "discharge_min_score",
        "Minimum Aldrete/PADSS score",
        9,
        8,
        10,
        "",
        DISCHARGE,
        "[S102][S103][S104]",
        "Some institutions use 8 with full respiration and SpO₂ points [S103].",
    ),
    Setting(
        "min_observation_min",
        "Minimum observation after the infusion",
        120,
        15,
        480,
        "min",
        DISCHARGE,
        "[S14]",
        "The Spravato REMS minimum, used for IV by analogy (the reference gives no IV number).",
    ),
    Setting(
        "discharge_bp_percent",
        "Discharge: BP within of baseline",
        Decimal("20"),
        Decimal("10"),
        Decimal("40"),
        "%",
        DISCHARGE,
        "[S102][S104]",
    ),
    Setting(
        "discharge_hr_percent",
        "Discharge: HR within of baseline",
        Decimal("20"),
        Decimal("10"),
        Decimal("40"),
        "%",
        DISCHARGE,
        "[S104]",
    ),
    Setting(
        "discharge_cadss6_at_most",
        "Discharge: CADSS-6 at or below",
        2,
        0,
        8,
        "",
        DISCHARGE,
        note="Dissociation resolved before leaving [S14][S15]; CADSS-6 has no bands [S94].",
    ),
)
SETTINGS_BY_NAME: Final[Mapping[str, Setting]] = {s.name: s for s in SETTINGS}


def default(name: str) -> Any:
    """The setting's default: an int or a Decimal by setting, so typed by the field or name it fills."""
    return SETTINGS_BY_NAME[name].default


def setting_problems(values: Mapping[str, object]) -> list[tuple[str, str]]:
    """(name, message) for every safety setting that is blank or outside its bounds."""
    problems = []
    for s in SETTINGS:
        value = values.get(s.name)
        if value is None or value == "":
            problems.append((s.name, f"{s.label} is blank: every safety setting needs a value (default {s.default})"))
        elif isinstance(value, bool) or not isinstance(value, int | Decimal):
            problems.append((s.name, f"{s.label} must be a number, got {value!r}"))
        elif not s.low <= value <= s.high:
            problems.append((s.name, f"{s.label} {value} is outside the allowed {s.bounds_text}"))
    return problems
