"""The clinic's infusion-day settings: one row, edited by administrators in the admin.

Defaults are the pure rules' defaults (``infusions.rules``), each citing
clinical-reference.md; where the reference gives no number the field is blank (the
rule is off until the clinic sets it) or the default is labelled "clinic policy".
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

_CLINIC = "Clinic policy (no sourced default); blank = no alert."


def _minutes(label: str, default: int | None, help_text: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        label,
        default=default,
        null=default is None,
        blank=default is None,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text=help_text,
    )


def _limit(label: str, default: int | None, help_text: str = _CLINIC) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(label, default=default, null=True, blank=True, help_text=help_text)


class DischargeTool(models.TextChoices):
    ALDRETE = "aldrete", "Modified Aldrete score"
    PADSS = "padss", "PADSS (post-anaesthetic discharge scoring system)"


@tracked()
class InfusionPolicy(models.Model):
    """Administrator-configurable thresholds of the infusion day (one row, id 1)."""

    # NPO (PD-01): ASA fasting for procedural sedation [S30]; Ketalar label nil per os [S25].
    npo_clear_liquids_min = _minutes("NPO: clear liquids (minutes)", 120, "Default 2 h: ASA [S30] (PD-01).")
    npo_light_meal_min = _minutes("NPO: light meal (minutes)", 360, "Default 6 h: ASA [S30] (PD-01).")
    npo_fatty_meal_min = _minutes("NPO: fatty meal (minutes)", 480, "Default 8 h: ASA [S30] (PD-01).")
    pregnancy_test_required = models.BooleanField(
        "Pregnancy test required for people of childbearing potential",
        default=False,
        help_text="Clinic policy: no guideline mandates a test (clinical-reference 2.5 [S31]); CI-07 [S11][S17].",
    )
    # Baseline vitals beyond the screening policy's BP thresholds (CI-04/CI-05 live there).
    baseline_hr_review_above_bpm = _limit("Baseline HR review above (bpm)", None)
    baseline_hr_review_below_bpm = _limit("Baseline HR review below (bpm)", None)
    baseline_spo2_review_at_or_below_pct = _limit(
        "Baseline SpO₂ review at or below (%)", 92, "Default 92%: Aldrete full points only above 92% [S102]."
    )
    # Intra/post-infusion alerts (PD-05: no sourced stop/pause limit for IV ketamine).
    sbp_alert_above_mmhg = _limit("Alert: systolic above (mmHg)", 180, "Default 180: [S28] used as alert point.")
    dbp_alert_above_mmhg = _limit("Alert: diastolic above (mmHg)", 100, "Default 100: [S28] used as alert point.")
    sbp_alert_below_mmhg = _limit("Alert: systolic below (mmHg)", None)
    dbp_alert_below_mmhg = _limit("Alert: diastolic below (mmHg)", None)
    hr_alert_above_bpm = _limit("Alert: heart rate above (bpm)", None)
    hr_alert_below_bpm = _limit("Alert: heart rate below (bpm)", None)
    rr_alert_above_per_min = _limit("Alert: respiratory rate above (/min)", None)
    rr_alert_below_per_min = _limit("Alert: respiratory rate below (/min)", None)
    spo2_alert_at_or_below_pct = _limit("Alert: SpO₂ at or below (%)", 92, "Default 92%: [S102].")
    spo2_critical_below_pct = _limit("Critical: SpO₂ below (%)", 90, "Default 90%: Aldrete 0 [S102].")
    temp_alert_above_c = models.DecimalField(
        "Alert: temperature above (°C)", max_digits=4, decimal_places=1, null=True, blank=True, help_text=_CLINIC
    )
    moaas_alert_at_or_below = _limit("Alert: MOAA/S at or below", None, _CLINIC + " MOAA/S 0 always alerts [S15].")
    cadss6_alert_above = _limit("Alert: CADSS-6 above", None, _CLINIC + " CADSS-6 has no bands [S94].")
    bp_change_alert_percent = models.DecimalField(
        "Alert: BP change from baseline above (%)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_CLINIC,
    )
    # Cadence: BP every 10 min during [S7][S8], every 15 min after [S8].
    cadence_intra_min = _minutes("Readings every (minutes) during the infusion", 10, "Default 10: [S7][S8].")
    cadence_post_min = _minutes("Readings every (minutes) in recovery", 15, "Default 15: [S8].")
    overdue_grace_min = models.PositiveSmallIntegerField(
        "Overdue after (minutes past due)", default=0, help_text="Clinic policy, default 0."
    )
    # Discharge (recovering → discharge_ready, 5.2).
    discharge_tool = models.CharField(max_length=10, choices=DischargeTool.choices, default=DischargeTool.ALDRETE)
    discharge_min_score = models.PositiveSmallIntegerField(
        "Minimum discharge score",
        default=rules.DISCHARGE_THRESHOLD_DEFAULT,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Default ≥9: Aldrete [S102][S103], PADSS [S104][S105].",
    )
    min_observation_min = _minutes(
        "Minimum observation after the infusion (minutes)",
        None,
        "No sourced IV default (5.2: 'IV: configurable'; Spravato is ≥2 h [S14]). "
        "Blank: nobody is discharge-ready until the clinic sets it.",
    )
    discharge_bp_percent = models.DecimalField(
        "Discharge: BP within (%) of baseline",
        max_digits=4,
        decimal_places=1,
        default=Decimal(20),
        help_text="Default 20%: Aldrete [S102], PADSS [S104].",
    )
    discharge_hr_percent = models.DecimalField(
        "Discharge: HR within (%) of baseline",
        max_digits=4,
        decimal_places=1,
        default=Decimal(20),
        help_text="Default 20%: PADSS [S104].",
    )
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
    def discharge_tolerance(self) -> rules.DischargeTolerance:
        return rules.DischargeTolerance(bp_percent=self.discharge_bp_percent, hr_percent=self.discharge_hr_percent)
