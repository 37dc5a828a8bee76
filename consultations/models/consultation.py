"""The intake consultation, its autosaved drafts, its child rows and its amendments."""

from __future__ import annotations

from decimal import Decimal

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from consultations import rules
from consultations.choices import (
    AmendmentKind,
    AmendmentSection,
    Decision,
    HepaticSeverityChoice,
    IndicationChoice,
    InteractionClass,
    TrialResponse,
)
from consultations.models._tracking import _tracked
from consultations.vitals import PLAUSIBLE
from core.models import AmendmentBase
from core.triggers import append_only, signed_record_locked


def _yes_no(name: str) -> models.BooleanField:
    """A screening fact as yes / no / not recorded (NULL); the label comes from ``rules``."""
    return models.BooleanField(rules.FACT_LABELS[name], null=True, blank=True)


def _vital(name: str, *, decimal: bool = False) -> models.Field:
    allowed = PLAUSIBLE[name]
    label = rules.FACT_LABELS[name]
    help_text = f"Plausible range {allowed.text}."
    if decimal:
        return models.DecimalField(label, max_digits=5, decimal_places=1, null=True, blank=True, help_text=help_text)
    return models.PositiveSmallIntegerField(label, null=True, blank=True, help_text=help_text)


def _in_range(name: str) -> models.CheckConstraint:
    allowed = PLAUSIBLE[name]
    return models.CheckConstraint(
        condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__range": (allowed.low, allowed.high)}),
        name=f"consultation_{name}_plausible",
    )


def _locked_with_consultation(name: str) -> pgtrigger.Trigger:
    """Refuse any change to a child row whose consultation (before or after) is signed."""
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
        func="""
            IF EXISTS (
                SELECT 1 FROM consultations_consultation c
                WHERE c.signed_at IS NOT NULL AND c.id IN (
                    CASE WHEN TG_OP <> 'INSERT' THEN OLD.consultation_id END,
                    CASE WHEN TG_OP <> 'DELETE' THEN NEW.consultation_id END
                )
            ) THEN
                RAISE EXCEPTION 'signed consultation: % rows cannot change; record an amendment', TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        """,
    )


class ConsultationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


# The IntakeFacts fields stored as columns of the same name (the others are derived:
# date of birth from the patient, medication classes, trial count and instruments).
DIRECT_FACTS = (
    "bp_systolic_mmhg",
    "bp_diastolic_mmhg",
    "bp_remeasure_systolic_mmhg",
    "bp_remeasure_diastolic_mmhg",
    "heart_rate_bpm",
    "spo2_percent",
    "weight_kg",
    "height_cm",
    "active_psychosis",
    "psychosis_history",
    "bipolar_or_mania",
    "on_mood_stabiliser",
    "substance_use_disorder_active",
    "substance_use_disorder_history",
    "ketamine_misuse_history",
    "hypersensitivity_to_ketamine",
    "aneurysmal_vascular_disease",
    "arteriovenous_malformation",
    "intracerebral_haemorrhage_history",
    "stroke_history",
    "other_bp_rise_hazard",
    "hypertension",
    "hypertension_controlled",
    "ischaemic_heart_disease",
    "heart_failure",
    "other_cardiovascular_disease",
    "cardiovascular_disease_controlled",
    "raised_intracranial_pressure",
    "raised_intraocular_pressure",
    "hepatic_disease",
    "hepatic_severity",
    "hyperthyroidism",
    "hyperthyroidism_treated",
    "cystitis_or_urinary_symptoms",
    "childbearing_potential",
    "pregnant",
    "breastfeeding",
    "pre_eclampsia",
)


@_tracked()
class Consultation(models.Model):
    """One intake consultation. Columns named like ``rules.IntakeFacts`` fields hold those
    facts (NULL = not recorded); ``selectors.intake_facts`` is the one mapping to the rules."""

    Status = ConsultationStatus

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="consultations")
    # Opened from the booked consultation appointment; NULL for an intake recorded
    # without a booking (walk-in or an appointment booked elsewhere).
    appointment = models.OneToOneField(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="consultation"
    )
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consultations")
    status = models.CharField(max_length=10, choices=ConsultationStatus.choices, default=ConsultationStatus.DRAFT)

    # Referral and presenting problem
    referral_source = models.CharField("Referred by", max_length=200, blank=True)
    presenting_problem = models.TextField(blank=True)
    # Indications
    indications = ArrayField(
        models.CharField(max_length=20, choices=IndicationChoice.choices), default=list, blank=True
    )
    icd10_codes = models.CharField(
        "ICD-10 codes", max_length=100, blank=True, help_text="As billed, comma-separated, e.g. F33.2, F41.1."
    )
    indication_other = models.CharField("Other indication", max_length=200, blank=True)
    # Psychiatric history
    psychiatric_history = models.TextField(blank=True)
    antidepressant_trials_taken = models.BooleanField(
        "Antidepressant trial history taken", null=True, blank=True, help_text="Yes once every prior trial is listed."
    )
    active_psychosis = _yes_no("active_psychosis")
    psychosis_history = _yes_no("psychosis_history")
    bipolar_or_mania = _yes_no("bipolar_or_mania")
    on_mood_stabiliser = _yes_no("on_mood_stabiliser")
    # Substance use
    substance_use = models.TextField("Substance use (details)", blank=True)
    substance_use_disorder_active = _yes_no("substance_use_disorder_active")
    substance_use_disorder_history = _yes_no("substance_use_disorder_history")
    ketamine_misuse_history = _yes_no("ketamine_misuse_history")
    # Medical history
    medical_history = models.TextField("Medical history (details)", blank=True)
    aneurysmal_vascular_disease = _yes_no("aneurysmal_vascular_disease")
    arteriovenous_malformation = _yes_no("arteriovenous_malformation")
    intracerebral_haemorrhage_history = _yes_no("intracerebral_haemorrhage_history")
    stroke_history = _yes_no("stroke_history")
    other_bp_rise_hazard = _yes_no("other_bp_rise_hazard")
    hypertension = _yes_no("hypertension")
    hypertension_controlled = _yes_no("hypertension_controlled")
    ischaemic_heart_disease = _yes_no("ischaemic_heart_disease")
    heart_failure = _yes_no("heart_failure")
    other_cardiovascular_disease = _yes_no("other_cardiovascular_disease")
    cardiovascular_disease_controlled = _yes_no("cardiovascular_disease_controlled")
    raised_intracranial_pressure = _yes_no("raised_intracranial_pressure")
    raised_intraocular_pressure = _yes_no("raised_intraocular_pressure")
    hepatic_disease = _yes_no("hepatic_disease")
    hepatic_severity = models.CharField(
        rules.FACT_LABELS["hepatic_severity"], max_length=10, choices=HepaticSeverityChoice.choices, blank=True
    )
    hyperthyroidism = _yes_no("hyperthyroidism")
    hyperthyroidism_treated = _yes_no("hyperthyroidism_treated")
    cystitis_or_urinary_symptoms = _yes_no("cystitis_or_urinary_symptoms")
    childbearing_potential = _yes_no("childbearing_potential")
    pregnant = _yes_no("pregnant")
    breastfeeding = _yes_no("breastfeeding")
    pre_eclampsia = _yes_no("pre_eclampsia")
    # Medications and allergies
    medications_complete = models.BooleanField(
        "Current medication list complete",
        null=True,
        blank=True,
        help_text="Yes once every current medicine is listed.",
    )
    allergies = models.TextField(blank=True)
    hypersensitivity_to_ketamine = _yes_no("hypersensitivity_to_ketamine")
    # Vital signs
    bp_systolic_mmhg = _vital("bp_systolic_mmhg")
    bp_diastolic_mmhg = _vital("bp_diastolic_mmhg")
    bp_remeasure_systolic_mmhg = _vital("bp_remeasure_systolic_mmhg")
    bp_remeasure_diastolic_mmhg = _vital("bp_remeasure_diastolic_mmhg")
    heart_rate_bpm = _vital("heart_rate_bpm")
    spo2_percent = _vital("spo2_percent")
    weight_kg = _vital("weight_kg", decimal=True)
    height_cm = _vital("height_cm", decimal=True)
    # Informed consent to off-label use [S33][S44], as intakes recorded it before the consents app
    # became its one record (moved there by a migration); kept as signed, no longer asked.
    consent_given = models.BooleanField("Informed consent to off-label treatment given", null=True, blank=True)
    consent_document_version = models.CharField(max_length=40, blank=True)
    consent_signed_on = models.DateField("Consent signed on", null=True, blank=True)

    # Latest on-demand screening (JSON of ScreeningResult.as_dict()) and what it saw.
    screening = models.JSONField(default=dict, blank=True)
    screened_at = models.DateTimeField(null=True, blank=True)
    screened_facts_sha256 = models.CharField(max_length=64, blank=True)

    # Sign-off: the decision and a hashed snapshot of everything signed.
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True)
    decision_note = models.TextField(blank=True)
    justifications = models.JSONField(default=dict, blank=True)
    screening_outcome = models.CharField(max_length=20, blank=True)
    rule_set_version = models.CharField(max_length=20, blank=True)
    signed_content = models.JSONField(default=dict, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("sign_consultation", "Can sign an intake consultation")]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="consultation_patient"),
            models.Index(fields=["clinician", "status", "-created_at"], name="consultation_clinician_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ConsultationStatus.values), name="consultation_status_known"),
            models.CheckConstraint(
                condition=Q(decision="") | Q(decision__in=Decision.values), name="consultation_decision_known"
            ),
            # Signed means: signer, time, decision and hash all present; a draft has none of them.
            models.CheckConstraint(
                condition=(
                    Q(status="signed", signed_at__isnull=False, signed_by__isnull=False)
                    & ~Q(decision="")
                    & ~Q(content_sha256="")
                )
                | Q(status="draft", signed_at__isnull=True, signed_by__isnull=True, content_sha256=""),
                name="consultation_signed_complete",
            ),
            models.CheckConstraint(
                condition=Q(hepatic_severity="") | Q(hepatic_severity__in=HepaticSeverityChoice.values),
                name="consultation_hepatic_severity_known",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="consultation_version_positive"),
            *[_in_range(name) for name in PLAUSIBLE],
        ]
        triggers = [
            # security-reference R8 / D6: the database refuses changes to a signed record.
            signed_record_locked("consultation_signed_locked"),
        ]

    def __str__(self) -> str:
        return f"Intake consultation #{self.pk}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def bmi(self) -> Decimal | None:
        return rules.bmi_kg_m2(rules.IntakeFacts(weight_kg=self.weight_kg, height_cm=self.height_cm))

    @property
    def indication_labels(self) -> list[str]:
        return [IndicationChoice(code).label for code in self.indications if code in IndicationChoice.values]


class ConsultationDraft(models.Model):
    """One clinician's unsaved input for one consultation, exactly as typed (autosave).

    Scratch space, not the record: it holds raw, possibly invalid form data so that
    nothing typed is lost to a validation error or a session time-out. A validated
    save or the signature clears it. One per (consultation, author), so two
    clinicians never overwrite each other's unsaved input.
    """

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="drafts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    data = models.JSONField(default=dict)
    base_version = models.PositiveIntegerField()
    saved_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consultation", "author"], name="consultationdraft_one_per_author"),
        ]

    def __str__(self) -> str:
        return f"Draft of {self.consultation} by user {self.author_id}"


@_tracked()
class Medication(models.Model):
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="medications")
    name = models.CharField(max_length=120)
    dose = models.CharField("Dose and frequency", max_length=120, blank=True)
    interaction_class = models.CharField(max_length=20, choices=InteractionClass.choices)

    class Meta:
        ordering = ["consultation", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(interaction_class__in=InteractionClass.values), name="medication_class_known"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="medication_name_given"),
        ]
        triggers = [_locked_with_consultation("medication_consultation_unsigned")]

    def __str__(self) -> str:
        return self.name


@_tracked()
class AntidepressantTrial(models.Model):
    """A prior antidepressant trial; adequate trials count towards recognising TRD."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="antidepressant_trials")
    drug = models.CharField(max_length=120)
    dose = models.CharField(max_length=120, blank=True)
    duration_weeks = models.PositiveSmallIntegerField(
        "Duration (weeks)", null=True, blank=True, validators=[MaxValueValidator(520)]
    )
    adequate = models.BooleanField("Adequate dose and duration", null=True, blank=True)
    response = models.CharField(max_length=20, choices=TrialResponse.choices, default=TrialResponse.UNKNOWN)

    class Meta:
        ordering = ["consultation", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(response__in=TrialResponse.values), name="trial_response_known"),
            models.CheckConstraint(condition=~Q(drug=""), name="trial_drug_given"),
            models.CheckConstraint(
                condition=Q(duration_weeks__isnull=True) | Q(duration_weeks__lte=520), name="trial_duration_plausible"
            ),
        ]
        triggers = [_locked_with_consultation("trial_consultation_unsigned")]

    def __str__(self) -> str:
        return self.drug


@pghistory.track(pghistory.InsertEvent())
class Amendment(AmendmentBase):
    """A correction or addendum to a signed consultation, shown beside the original (ONC (d)(4))."""

    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="amendments")
    kind = models.CharField(max_length=10, choices=AmendmentKind.choices, default=AmendmentKind.AMENDS)
    section = models.CharField(max_length=20, choices=AmendmentSection.choices)

    class Meta:
        ordering = ["consultation", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="amendment_reason_given"),
            models.CheckConstraint(condition=~Q(text=""), name="amendment_text_given"),
            models.CheckConstraint(condition=Q(section__in=AmendmentSection.values), name="amendment_section_known"),
            models.CheckConstraint(condition=Q(kind__in=AmendmentKind.values), name="amendment_kind_known"),
        ]
        triggers = [
            append_only("amendment_append_only"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.consultation}"
