"""Coded vocabularies of the intake and the plan, with their labels.

Kept apart from models.py so that forms, seeders and the pure modules share one list.
"""

from __future__ import annotations

from typing import Final

from django.db import models

from consultations.rules import Indication


class IndicationChoice(models.TextChoices):
    """Indications the intake codes (values = ``rules.Indication``). ICD-10 codes are the
    category the indication belongs to; the exact billed code goes in the consultation's
    "ICD-10 codes" field."""

    MDD = "mdd", "Major depressive disorder (ICD-10 F32.x single episode, F33.x recurrent)"
    TRD = "trd", "Treatment-resistant depression (coded as the depressive episode, F32.x/F33.x)"
    GAD = "gad", "Generalised anxiety disorder (ICD-10 F41.1)"
    PTSD = "ptsd", "Post-traumatic stress disorder (ICD-10 F43.1x)"
    FIBROMYALGIA = "fibromyalgia", "Fibromyalgia (ICD-10 M79.7; check the ICD-10-CM subcode in use)"
    CRPS = "crps", "Complex regional pain syndrome type I (ICD-10 G90.5x)"
    OTHER = "other", "Other (describe, and give the ICD-10 code)"


# Short labels for lists and the plan.
INDICATION_SHORT: Final = {
    Indication.MDD: "MDD",
    Indication.TRD: "TRD",
    Indication.GAD: "GAD",
    Indication.PTSD: "PTSD",
    Indication.FIBROMYALGIA: "Fibromyalgia",
    Indication.CRPS: "CRPS",
    Indication.OTHER: "Other",
}
PAIN_INDICATIONS: Final = frozenset({Indication.FIBROMYALGIA, Indication.CRPS})
DEPRESSION_INDICATIONS: Final = frozenset({Indication.MDD, Indication.TRD})


class InteractionClass(models.TextChoices):
    """Medication classes the screening reads (CI-14, CI-15; lamotrigine recorded only)."""

    NONE = "none", "None of the classes below"
    BENZODIAZEPINE = "benzodiazepine", "Benzodiazepine"
    OPIOID = "opioid", "Opioid"
    OTHER_SEDATIVE = "other_sedative", "Other sedative-hypnotic or CNS depressant"
    PSYCHOSTIMULANT = "psychostimulant", "Psychostimulant or other sympathomimetic"
    MAOI = "maoi", "Monoamine oxidase inhibitor (MAOI)"
    THEOPHYLLINE = "theophylline", "Theophylline or aminophylline"
    LAMOTRIGINE = "lamotrigine", "Lamotrigine (recorded, not screened)"


# The IntakeFacts field each class sets to True.
CLASS_FACT: Final[dict[str, str]] = {
    InteractionClass.BENZODIAZEPINE: "takes_benzodiazepine",
    InteractionClass.OPIOID: "takes_opioid",
    InteractionClass.OTHER_SEDATIVE: "takes_other_sedative",
    InteractionClass.PSYCHOSTIMULANT: "takes_psychostimulant",
    InteractionClass.MAOI: "takes_maoi",
    InteractionClass.THEOPHYLLINE: "takes_theophylline_or_aminophylline",
    InteractionClass.LAMOTRIGINE: "takes_lamotrigine",
}


class TrialResponse(models.TextChoices):
    NONE = "none", "No response"
    PARTIAL = "partial", "Partial response"
    RESPONSE = "response", "Response"
    REMISSION = "remission", "Remission"
    NOT_TOLERATED = "not_tolerated", "Stopped: not tolerated"
    UNKNOWN = "unknown", "Unknown"


class HepaticSeverityChoice(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class Decision(models.TextChoices):
    ELIGIBLE = "eligible", "Eligible: proceed to a treatment plan"
    ELIGIBLE_OVERRIDE = "eligible_override", "Proceed despite findings, with documented justification"
    INELIGIBLE = "ineligible", "Not eligible: do not plan treatment"


PROCEED_DECISIONS: Final = frozenset({Decision.ELIGIBLE, Decision.ELIGIBLE_OVERRIDE})


class AmendmentSection(models.TextChoices):
    REFERRAL = "referral", "Referral and presenting problem"
    INDICATIONS = "indications", "Indications"
    PSYCHIATRIC = "psychiatric", "Psychiatric history and antidepressant trials"
    SUBSTANCE = "substance", "Substance use"
    MEDICAL = "medical", "Medical history"
    MEDICATIONS = "medications", "Current medications and allergies"
    VITALS = "vitals", "Vital signs"
    INSTRUMENTS = "instruments", "Baseline instruments"
    CONSENT = "consent", "Informed consent"
    DECISION = "decision", "Screening and decision"
    OTHER = "other", "Other"


class AmendmentKind(models.TextChoices):
    """FHIR ReportRelationshipType vocabulary (security-reference R8)."""

    AMENDS = "amends", "Correction (amends the original)"
    APPENDS = "appends", "Addendum (adds to the original)"


class WeightBasis(models.TextChoices):
    """Which weight the mg/kg dose uses. clinical-reference 5.3: not standardised in the
    retrieved sources; keep it configurable per plan. No sourced default exists: actual
    body weight is the default here because it needs no formula, not because a source says so."""

    ACTUAL = "actual", "Actual body weight"
    IDEAL = "ideal", "Ideal body weight"
    ADJUSTED = "adjusted", "Adjusted body weight"


class DoseUnit(models.TextChoices):
    MG_PER_KG = "mg_per_kg", "mg/kg over the infusion"
    MG_PER_KG_PER_H = "mg_per_kg_per_h", "mg/kg/h (rate)"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ON_HOLD = "on_hold", "On hold"
    COMPLETED = "completed", "Induction completed"
    MAINTENANCE = "maintenance", "Maintenance"
    DISCONTINUED = "discontinued", "Discontinued"


# Plans that hold the patient's one "live" course (a database constraint allows one).
LIVE_PLAN_STATUSES: Final = (PlanStatus.ACTIVE, PlanStatus.ON_HOLD, PlanStatus.MAINTENANCE)


class ScheduleMoment(models.TextChoices):
    PRE_INFUSION = "pre_infusion", "Before each infusion"
    POST_INFUSION = "post_infusion", "After each infusion"
    FOLLOW_UP = "follow_up", "At follow-up"
