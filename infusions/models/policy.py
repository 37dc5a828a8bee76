"""The clinic's infusion-day settings: one row, edited by administrators in the admin.

Every safety setting comes from ``infusions.rules.thresholds.SETTINGS``: a default citing
clinical-reference.md or labelled "clinic policy", and hard bounds enforced by the form
validators and by a check constraint per column. No setting can be blank.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from infusions import rules
from infusions.models._locking import tracked


def _setting(name: str) -> models.Field:
    """A safety setting from ``rules.thresholds``: its default, its bounds as validators
    (and as a check constraint below), never blank."""
    spec = rules.SETTINGS_BY_NAME[name]
    label = f"{spec.label} ({spec.unit})" if spec.unit else spec.label
    validators = [MinValueValidator(spec.low), MaxValueValidator(spec.high)]
    if spec.is_decimal:
        return models.DecimalField(
            label,
            max_digits=4,
            decimal_places=1,
            default=spec.default,
            validators=validators,
            help_text=spec.help_text(),
        )
    return models.PositiveSmallIntegerField(
        label, default=spec.default, validators=validators, help_text=spec.help_text()
    )


def _bounds(spec: rules.Setting) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{spec.name}__gte": spec.low, f"{spec.name}__lte": spec.high}),
        name=f"infusionpolicy_{spec.name}_bounds",
    )


class DischargeTool(models.TextChoices):
    ALDRETE = "aldrete", "Modified Aldrete score"
    PADSS = "padss", "PADSS (post-anaesthetic discharge scoring system)"


def _history_field(spec: rules.Setting) -> models.Field:
    """The history keeps what was stored at the time, blanks included (before every setting
    had a default, a blank meant "no alert"): its columns stay nullable."""
    if spec.is_decimal:
        return models.DecimalField(max_digits=4, decimal_places=1, null=True)
    return models.PositiveSmallIntegerField(null=True)


@tracked(attrs={spec.name: _history_field(spec) for spec in rules.SETTINGS})
class InfusionPolicy(models.Model):
    """Administrator-configurable thresholds of the infusion day (one row, id 1)."""

    # Every safety number: default, source and bounds in ``rules.thresholds.SETTINGS``.
    npo_clear_liquids_min = _setting("npo_clear_liquids_min")
    npo_light_meal_min = _setting("npo_light_meal_min")
    npo_fatty_meal_min = _setting("npo_fatty_meal_min")
    pregnancy_test_required = models.BooleanField(
        "Pregnancy test required for people of childbearing potential",
        default=False,
        help_text="Clinic policy: no guideline mandates a test (clinical-reference 2.5 [S31]); CI-07 [S11][S17].",
    )
    baseline_hr_review_above_bpm = _setting("baseline_hr_review_above_bpm")
    baseline_hr_review_below_bpm = _setting("baseline_hr_review_below_bpm")
    baseline_spo2_review_at_or_below_pct = _setting("baseline_spo2_review_at_or_below_pct")
    weight_change_confirm_percent = _setting("weight_change_confirm_percent")
    sbp_alert_above_mmhg = _setting("sbp_alert_above_mmhg")
    dbp_alert_above_mmhg = _setting("dbp_alert_above_mmhg")
    sbp_alert_below_mmhg = _setting("sbp_alert_below_mmhg")
    dbp_alert_below_mmhg = _setting("dbp_alert_below_mmhg")
    hr_alert_above_bpm = _setting("hr_alert_above_bpm")
    hr_alert_below_bpm = _setting("hr_alert_below_bpm")
    rr_alert_above_per_min = _setting("rr_alert_above_per_min")
    rr_alert_below_per_min = _setting("rr_alert_below_per_min")
    spo2_alert_at_or_below_pct = _setting("spo2_alert_at_or_below_pct")
    temp_alert_above_c = _setting("temp_alert_above_c")
    moaas_alert_at_or_below = _setting("moaas_alert_at_or_below")
    cadss6_alert_above = _setting("cadss6_alert_above")
    bp_change_alert_percent = _setting("bp_change_alert_percent")
    spo2_critical_below_pct = _setting("spo2_critical_below_pct")
    sbp_critical_below_mmhg = _setting("sbp_critical_below_mmhg")
    sbp_critical_above_mmhg = _setting("sbp_critical_above_mmhg")
    dbp_critical_above_mmhg = _setting("dbp_critical_above_mmhg")
    hr_critical_below_bpm = _setting("hr_critical_below_bpm")
    hr_critical_above_bpm = _setting("hr_critical_above_bpm")
    rr_critical_below_per_min = _setting("rr_critical_below_per_min")
    cadence_intra_min = _setting("cadence_intra_min")
    cadence_post_min = _setting("cadence_post_min")
    overdue_grace_min = _setting("overdue_grace_min")
    # Who may be the second clinician of the dose's independent double check.
    nurse_may_verify_dose = models.BooleanField(
        "A nurse may verify another's dose calculation",
        default=True,
        help_text="Clinic policy: the independent double check needs a second clinician, not the one "
        "who calculated; untick to have a prescriber (with current credentials for the clinic) verify "
        "every dose.",
    )
    # Discharge (recovering → discharge_ready, 5.2).
    discharge_tool = models.CharField(max_length=10, choices=DischargeTool.choices, default=DischargeTool.ALDRETE)
    discharge_min_score = _setting("discharge_min_score")
    min_observation_min = _setting("min_observation_min")
    discharge_bp_percent = _setting("discharge_bp_percent")
    discharge_hr_percent = _setting("discharge_hr_percent")
    discharge_cadss6_at_most = _setting("discharge_cadss6_at_most")
    # The pump's programmable range: device configuration, not a clinical number.
    pump_min_rate_ml_per_h = models.DecimalField(
        max_digits=6, decimal_places=1, default=Decimal("0.1"), help_text="Device configuration (clinic policy)."
    )
    pump_max_rate_ml_per_h = models.DecimalField(
        max_digits=6, decimal_places=1, default=Decimal("999.9"), help_text="Device configuration (clinic policy)."
    )
    pump_max_total_ml = models.DecimalField(
        max_digits=7, decimal_places=1, default=Decimal("1000"), help_text="Device configuration (clinic policy)."
    )
    # --- The medication loop: ceilings on the dose (bounded clinic policy) ---------------
    # Bounds and sources live in infusions.rules (dosing.py); the check constraint below
    # holds the same bounds in the database.
    max_rate_mg_per_kg_per_h = models.DecimalField(
        "Maximum infusion rate (mg/kg/h)",
        max_digits=5,
        decimal_places=3,
        default=rules.MAX_RATE_MG_PER_KG_PER_H_DEFAULT,
        validators=[
            MinValueValidator(rules.MAX_RATE_MG_PER_KG_PER_H_BOUNDS[0]),
            MaxValueValidator(rules.MAX_RATE_MG_PER_KG_PER_H_BOUNDS[1]),
        ],
        help_text="Default 2: top of the ASRA infusion range 0.5–2 mg/kg/h [S11]; bounded 0.5–2. "
        "Checked when the dose is calculated and when the rate changes on the flowsheet.",
    )
    min_infusion_minutes = models.PositiveSmallIntegerField(
        "Shortest infusion (minutes)",
        default=rules.MIN_INFUSION_MINUTES_DEFAULT,
        validators=[
            MinValueValidator(rules.MIN_INFUSION_MINUTES_BOUNDS[0]),
            MaxValueValidator(rules.MIN_INFUSION_MINUTES_BOUNDS[1]),
        ],
        help_text="Default 40: 0.5 mg/kg over 40 min, the most studied dose [S1][S2]; bounded by the "
        "studied session durations 2–100 min [S2][S3].",
    )
    max_infusion_minutes = models.PositiveSmallIntegerField(
        "Longest infusion (minutes)",
        default=rules.MAX_INFUSION_MINUTES_DEFAULT,
        validators=[
            MinValueValidator(rules.MAX_INFUSION_MINUTES_BOUNDS[0]),
            MaxValueValidator(rules.MAX_INFUSION_MINUTES_BOUNDS[1]),
        ],
        help_text="Default 240: the CRPS regimen, 4 h [S11][S12]; bounded 40–480 (clinic policy).",
    )
    min_total_volume_ml = models.DecimalField(
        "Smallest infusion volume (mL)",
        max_digits=5,
        decimal_places=1,
        default=rules.MIN_TOTAL_VOLUME_ML_DEFAULT,
        validators=[
            MinValueValidator(rules.MIN_TOTAL_VOLUME_ML_BOUNDS[0]),
            MaxValueValidator(rules.MIN_TOTAL_VOLUME_ML_BOUNDS[1]),
        ],
        help_text="Clinic policy, default 20 mL, bounded 5–250: a smaller bag loses a large share of the "
        "dose to the line's dead space.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "infusion policy"
        verbose_name_plural = "infusion policy"
        permissions = [("manage_infusion_policy", "Can change the infusion-day thresholds")]
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="infusionpolicy_singleton"),
            models.CheckConstraint(
                condition=Q(pump_min_rate_ml_per_h__gt=0)
                & Q(pump_max_rate_ml_per_h__gte=models.F("pump_min_rate_ml_per_h"))
                & Q(pump_max_total_ml__gt=0),
                name="infusionpolicy_pump_range",
            ),
            models.CheckConstraint(
                condition=Q(discharge_tool__in=DischargeTool.values), name="infusionpolicy_discharge_tool_known"
            ),
            *[_bounds(spec) for spec in rules.SETTINGS],
            models.CheckConstraint(
                condition=Q(
                    max_rate_mg_per_kg_per_h__gte=rules.MAX_RATE_MG_PER_KG_PER_H_BOUNDS[0],
                    max_rate_mg_per_kg_per_h__lte=rules.MAX_RATE_MG_PER_KG_PER_H_BOUNDS[1],
                    min_infusion_minutes__gte=rules.MIN_INFUSION_MINUTES_BOUNDS[0],
                    min_infusion_minutes__lte=rules.MIN_INFUSION_MINUTES_BOUNDS[1],
                    max_infusion_minutes__gte=rules.MAX_INFUSION_MINUTES_BOUNDS[0],
                    max_infusion_minutes__lte=rules.MAX_INFUSION_MINUTES_BOUNDS[1],
                    min_total_volume_ml__gte=rules.MIN_TOTAL_VOLUME_ML_BOUNDS[0],
                    min_total_volume_ml__lte=rules.MIN_TOTAL_VOLUME_ML_BOUNDS[1],
                )
                & Q(min_infusion_minutes__lte=models.F("max_infusion_minutes")),
                name="infusionpolicy_dosing_ceilings_bounded",
            ),
        ]

    def __str__(self) -> str:
        return "Infusion policy"

    # --- The rules' value objects -------------------------------------------------------

    @property
    def npo_intervals(self) -> rules.NpoIntervals:
        return rules.NpoIntervals(
            clear_liquids=timedelta(minutes=self.npo_clear_liquids_min),
            light_meal=timedelta(minutes=self.npo_light_meal_min),
            fatty_meal=timedelta(minutes=self.npo_fatty_meal_min),
        )

    @property
    def alert_thresholds(self) -> rules.AlertThresholds:
        names = [f for f in rules.AlertThresholds.__dataclass_fields__]
        return rules.AlertThresholds(**{name: getattr(self, name) for name in names})

    @property
    def cadence(self) -> rules.Cadence:
        return rules.Cadence(intra_min=self.cadence_intra_min, post_min=self.cadence_post_min)

    @property
    def overdue_grace(self) -> timedelta:
        return timedelta(minutes=self.overdue_grace_min)

    @property
    def pump_limits(self) -> rules.PumpLimits:
        return rules.PumpLimits(self.pump_min_rate_ml_per_h, self.pump_max_rate_ml_per_h, self.pump_max_total_ml)

    @property
    def dosing_limits(self) -> rules.DosingLimits:
        return rules.DosingLimits(
            max_rate_mg_per_kg_per_h=self.max_rate_mg_per_kg_per_h,
            min_duration_min=self.min_infusion_minutes,
            max_duration_min=self.max_infusion_minutes,
            min_total_volume_ml=self.min_total_volume_ml,
        )

    @property
    def discharge_tolerance(self) -> rules.DischargeTolerance:
        return rules.DischargeTolerance(bp_percent=self.discharge_bp_percent, hr_percent=self.discharge_hr_percent)
