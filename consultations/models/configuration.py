"""Administrator-managed configuration: the screening policy and the protocol library."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from consultations import rules
from consultations.choices import (
    DoseUnit,
    IndicationChoice,
    WeightBasis,
)
from consultations.models._tracking import _tracked

_THRESHOLD_SPECS = {spec.name: spec for spec in dataclasses.fields(rules.ScreeningThresholds)}


def _threshold(name: str) -> models.Field:
    """A policy column for one ``ScreeningThresholds`` field: its default, label and help text
    (status: sourced / clinic policy / UNVERIFIED, source keys, note) come from the rules."""
    spec = _THRESHOLD_SPECS[name]
    meta = spec.metadata
    note = f" Note: {meta['note']}." if meta["note"] else ""
    help_text = f"Default {spec.default!r} ({meta['status']}). Source: {meta['source']}.{note}"
    if isinstance(spec.default, bool):
        return models.BooleanField(meta["label"], default=spec.default, help_text=help_text)
    low, high = meta["bounds"] or (1, None)
    validators = [MinValueValidator(low), *([MaxValueValidator(high)] if high is not None else [])]
    if high is not None:
        help_text += f" Allowed: {low}–{high}."
    return models.PositiveSmallIntegerField(
        meta["label"], default=spec.default, help_text=help_text, validators=validators
    )


@_tracked()
class ScreeningPolicy(models.Model):
    """The clinic's screening thresholds: one row, edited by administrators in the admin.

    Fields mirror ``rules.ScreeningThresholds`` one to one; defaults, labels and help text
    (source and status: sourced / clinic policy / UNVERIFIED) come from its metadata.
    """

    bp_hard_stop_systolic_mmhg = _threshold("bp_hard_stop_systolic_mmhg")
    bp_hard_stop_diastolic_mmhg = _threshold("bp_hard_stop_diastolic_mmhg")
    bp_relative_systolic_mmhg = _threshold("bp_relative_systolic_mmhg")
    bp_relative_diastolic_mmhg = _threshold("bp_relative_diastolic_mmhg")
    trd_min_adequate_trials = _threshold("trd_min_adequate_trials")
    bp_hazard_condition_absolute = _threshold("bp_hazard_condition_absolute")
    severe_hepatic_disease_absolute = _threshold("severe_hepatic_disease_absolute")
    minor_absolute = _threshold("minor_absolute")
    age_review_above_years = _threshold("age_review_above_years")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "screening policy"
        verbose_name_plural = "screening policy"
        permissions = [("manage_screening_policy", "Can change the contraindication screening thresholds")]
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="screeningpolicy_singleton"),
            models.CheckConstraint(
                condition=Q(bp_relative_systolic_mmhg__lte=models.F("bp_hard_stop_systolic_mmhg"))
                & Q(bp_relative_diastolic_mmhg__lte=models.F("bp_hard_stop_diastolic_mmhg")),
                name="screeningpolicy_relative_not_above_hard_stop",
            ),
            models.CheckConstraint(
                condition=Q(
                    bp_hard_stop_systolic_mmhg__gte=1,
                    bp_hard_stop_diastolic_mmhg__gte=1,
                    bp_relative_systolic_mmhg__gte=1,
                    bp_relative_diastolic_mmhg__gte=1,
                    trd_min_adequate_trials__gte=1,
                ),
                name="screeningpolicy_positive",
            ),
            models.CheckConstraint(
                condition=Q(
                    age_review_above_years__gte=_THRESHOLD_SPECS["age_review_above_years"].metadata["bounds"][0],
                    age_review_above_years__lte=_THRESHOLD_SPECS["age_review_above_years"].metadata["bounds"][1],
                ),
                name="screeningpolicy_age_review_range",
            ),
        ]

    def __str__(self) -> str:
        return "Screening policy"


# Hard bounds on a protocol's usual dose range, per unit, which an administrator editing the
# library cannot pass (a dose above the range is a prescriber's override on one order, never a
# wider library range). A dose over the infusion: the reported range of IV ketamine for
# depression is about 0.1–0.75 mg/kg [S2][S3]. A rate: ASRA's infusions are 0.5–2 mg/kg/h and
# its CRPS regimen 0.35 mg/kg/h [S11] (7 mg/kg/h is ICU-only, never a clinic's range).
PROTOCOL_DOSE_BOUNDS: dict[str, tuple[Decimal, Decimal]] = {
    DoseUnit.MG_PER_KG: (Decimal("0.1"), Decimal("0.75")),  # [S2][S3]
    DoseUnit.MG_PER_KG_PER_H: (Decimal("0.35"), Decimal("2")),  # [S11]
}


# A protocol's figures that decide a dose: an administrator's edit of any of them waits for the
# medical director's sign-off, like the clinical policies (consultations.admin).
PROTOCOL_SIGN_OFF_FIELDS = (
    "dose_unit",
    "dose_min",
    "dose_max",
    "infusion_minutes",
    "sessions",
    "sessions_per_week",
    "default_weight_basis",
)


def protocol_dose_problems(*, dose_unit: str, dose_min, dose_max) -> dict[str, str]:
    """The fields of a protocol's dose range outside its unit's hard bounds, with the limit."""
    bounds = PROTOCOL_DOSE_BOUNDS.get(dose_unit)
    if bounds is None:
        return {}
    low, high = bounds
    unit = DoseUnit(dose_unit).label.split(" ")[0]
    problems = {}
    for name, value in (("dose_min", dose_min), ("dose_max", dose_max)):
        if value is not None and not low <= value <= high:
            problems[name] = (
                f"A protocol's dose is {low.normalize()}–{high.normalize()} {unit} at most; {value} is outside it."
            )
    return problems


def _within_bounds() -> Q:
    return Q(
        *[
            Q(dose_unit=unit, dose_min__gte=low, dose_max__lte=high)
            for unit, (low, high) in PROTOCOL_DOSE_BOUNDS.items()
        ],
        _connector=Q.OR,
    )


@_tracked()
class Protocol(models.Model):
    """A treatment protocol in the clinic's library, managed by administrators. Every dose
    figure must cite clinical-reference.md in ``source``."""

    name = models.CharField(max_length=120, unique=True)
    indications = ArrayField(
        models.CharField(max_length=20, choices=IndicationChoice.choices),
        help_text="Indications this protocol may be planned for.",
    )
    dose_unit = models.CharField(max_length=20, choices=DoseUnit.choices)
    dose_min = models.DecimalField(
        "Lowest dose", max_digits=6, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    dose_max = models.DecimalField(
        "Highest dose", max_digits=6, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    infusion_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
        help_text="Blank: set per plan.",
    )
    sessions = models.PositiveSmallIntegerField(
        "Infusions in the course",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Blank: set per plan.",
    )
    sessions_per_week = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(7)], help_text="Blank: set per plan."
    )
    course = models.CharField("Course as published", max_length=200)
    default_weight_basis = models.CharField(
        max_length=10,
        choices=WeightBasis.choices,
        default=WeightBasis.ACTUAL,
        help_text="No sourced default (clinical-reference 5.3: which weight to use is not standardised): "
        "actual body weight unless the clinic decides otherwise.",
    )
    source = models.CharField(max_length=300, help_text="clinical-reference.md source keys, e.g. [S1][S2].")
    # The doses a course may step through after a documented review (titration), lowest first.
    titration_ladder = ArrayField(
        models.DecimalField(max_digits=6, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]),
        default=list,
        blank=True,
        help_text="Doses a course may step through after a non-response or tolerability review, comma-separated "
        "(e.g. 0.5,0.75). Blank: this protocol is not titrated. Each rung needs its source below.",
    )
    titration_source = models.CharField(
        "Source of the titration ladder",
        max_length=300,
        blank=True,
        help_text="clinical-reference.md source keys for every rung, e.g. [S2][S3].",
    )
    notes = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        permissions = [("manage_protocols", "Can manage the treatment protocol library")]
        constraints = [
            models.CheckConstraint(condition=Q(dose_max__gte=models.F("dose_min")), name="protocol_dose_range"),
            models.CheckConstraint(condition=Q(dose_unit__in=DoseUnit.values), name="protocol_dose_unit_known"),
            models.CheckConstraint(condition=~Q(source=""), name="protocol_source_cited"),
            models.CheckConstraint(
                condition=Q(titration_ladder=[]) | ~Q(titration_source=""), name="protocol_ladder_source_cited"
            ),
            models.CheckConstraint(condition=_within_bounds(), name="protocol_dose_within_bounds"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        from django.core.exceptions import ValidationError

        problems = protocol_dose_problems(dose_unit=self.dose_unit, dose_min=self.dose_min, dose_max=self.dose_max)
        if problems:
            raise ValidationError(problems)
        for rung in self.titration_ladder or []:
            if self.dose_min is not None and rung < self.dose_min:
                raise ValidationError({"titration_ladder": f"{rung.normalize()} is below the protocol's lowest dose."})
            if found := protocol_dose_problems(dose_unit=self.dose_unit, dose_min=rung, dose_max=rung):
                raise ValidationError({"titration_ladder": " ".join(str(m) for m in found.values())})

    @property
    def dose_text(self) -> str:
        unit = DoseUnit(self.dose_unit).label.split(" ")[0]
        if self.dose_min == self.dose_max:
            return f"{self.dose_min.normalize()} {unit}"
        return f"{self.dose_min.normalize()}–{self.dose_max.normalize()} {unit}"
