"""Factories and helpers for consultation tests. Rows are written directly for set-up;
behaviour under test goes through ``consultations.services``."""

from __future__ import annotations

from decimal import Decimal
from importlib import import_module
from typing import Any

import factory
from django.utils import timezone

from assessments.models import ResponseContext
from assessments.services import response_record
from consultations import services
from consultations.choices import Decision
from consultations.models import Consultation, Protocol, TreatmentPlan
from patients.tests.factories import PatientFactory
from prescribers.tests.factories import prescriber

# Every screening fact answered with nothing to find (conditional ones left unrecorded:
# their condition is absent). BP 120/80, weight 80 kg, height 180 cm.
CLEAN_INTAKE: dict[str, Any] = {
    "indications": ["mdd", "trd"],
    "antidepressant_trials_taken": True,
    "active_psychosis": False,
    "psychosis_history": False,
    "bipolar_or_mania": False,
    "substance_use_disorder_active": False,
    "substance_use_disorder_history": False,
    "ketamine_misuse_history": False,
    "hypersensitivity_to_ketamine": False,
    "aneurysmal_vascular_disease": False,
    "arteriovenous_malformation": False,
    "intracerebral_haemorrhage_history": False,
    "stroke_history": False,
    "other_bp_rise_hazard": False,
    "hypertension": False,
    "ischaemic_heart_disease": False,
    "heart_failure": False,
    "other_cardiovascular_disease": False,
    "raised_intracranial_pressure": False,
    "raised_intraocular_pressure": False,
    "hepatic_disease": False,
    "hyperthyroidism": False,
    "cystitis_or_urinary_symptoms": False,
    "childbearing_potential": False,
    "medications_complete": True,
    "bp_systolic_mmhg": 120,
    "bp_diastolic_mmhg": 80,
    "heart_rate_bpm": 72,
    "spo2_percent": 98,
    "weight_kg": Decimal("80.0"),
    "height_cm": Decimal("180.0"),
}
PHQ9_NO_ITEM9 = [2, 2, 1, 2, 1, 1, 1, 0, 0]  # total 10, moderate, item 9 = 0
GAD7 = [1, 1, 1, 1, 0, 0, 0]


def clinician_user(**kwargs) -> Any:
    return prescriber(**kwargs)


class ConsultationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consultation

    patient = factory.SubFactory(PatientFactory)
    clinician = factory.LazyFunction(prescriber)
    created_by = factory.SelfAttribute("clinician")
    updated_by = factory.SelfAttribute("clinician")


def signed_record(*, clinician=None, **kwargs: Any) -> Consultation:
    """A signed intake written straight to the table (no screening, a placeholder hash): for tests
    that only need one to exist."""
    clinician = clinician or prescriber()
    return ConsultationFactory(
        clinician=clinician,
        status=Consultation.Status.SIGNED,
        signed_at=timezone.now(),
        signed_by=clinician,
        decision="eligible",
        content_sha256="0" * 64,
        **kwargs,
    )


def give_treatment_consent(patient) -> None:
    """The patient's signature on the latest published treatment consent (published if none is)."""
    from consents.models import ConsentKind, ConsentSignature, ConsentVersion
    from consents.tests.factories import ConsentSignatureFactory, ConsentVersionFactory

    version = (
        ConsentVersion.objects.filter(kind=ConsentKind.TREATMENT, published_at__lte=timezone.now())
        .order_by("-published_at", "-id")
        .first()
    ) or ConsentVersionFactory()
    if not ConsentSignature.objects.filter(patient=patient, version=version).exists():
        ConsentSignatureFactory(patient=patient, version=version)


def fill_clean_intake(consultation: Consultation, *, by=None, consented: bool = True, **overrides: Any) -> Consultation:
    """Record a complete intake with no findings (plus ``overrides``) through the services; the
    patient has signed the current treatment consent unless ``consented`` is False."""
    by = by or consultation.clinician
    if consented:
        give_treatment_consent(consultation.patient)
    changes = {**CLEAN_INTAKE, **overrides}
    outcome = services.consultation_save(
        consultation=consultation,
        by=by,
        expected_version=Consultation.objects.get(pk=consultation.pk).version,
        changes=changes,
        instruments={"phq9": PHQ9_NO_ITEM9, "gad7": GAD7},
        complete=True,
    )
    return outcome.consultation


def signed_consultation(
    *, decision: str = Decision.ELIGIBLE, by=None, justifications=None, patient=None, **overrides
) -> Consultation:
    consultation = ConsultationFactory(**({"clinician": by} if by else {}), **({"patient": patient} if patient else {}))
    fill_clean_intake(consultation, **overrides)
    return services.consultation_sign(
        consultation=consultation,
        by=consultation.clinician,
        decision=decision,
        justifications=justifications or {},
        decision_note="" if decision != Decision.INELIGIBLE else "Declined after discussion.",
    )


def ensure_protocol_library() -> None:
    """The library of migration 0002 (re-created after a transactional test's flush)."""
    if not Protocol.objects.exists():
        from django.apps import apps as django_apps

        import_module("consultations.migrations.0002_protocol_library").forwards(django_apps, None)


def depression_protocol() -> Protocol:
    ensure_protocol_library()
    return Protocol.objects.get(name__startswith="Depression/TRD")


def plan_for(consultation: Consultation, *, by=None, **overrides: Any) -> TreatmentPlan:
    protocol = depression_protocol()
    fields = {
        "indication": "mdd",
        "protocol": protocol,
        "dose": Decimal("0.5"),
        "infusion_minutes": 40,
        "weight_basis": "actual",
        "max_dose_mg": Decimal("50"),
        "sessions_planned": 6,
        "sessions_per_week": 2,
        "measurement_schedule": {"pre_infusion": ["phq9"], "post_infusion": ["cadss6"], "follow_up": ["phq9"]},
        **overrides,
    }
    return services.plan_create(
        consultation=consultation, by=by or consultation.signed_by or consultation.clinician, **fields
    )


def record_baseline(consultation: Consultation, code: str, answers, *, by=None):
    return response_record(
        patient=consultation.patient,
        code=code,
        answers=answers,
        context=ResponseContext.BASELINE,
        by=by or consultation.clinician,
        subject=consultation,
    )


def object_for_route(kwarg: str, patient) -> Any:
    """The object a URL kwarg names, for the access matrix (tests/test_access_matrix.py)."""
    if kwarg == "consultation_id":
        return ConsultationFactory(patient=patient)
    if kwarg == "plan_id":
        return plan_for(signed_consultation(patient=patient))
    raise AssertionError(f"no route object for {kwarg}")
