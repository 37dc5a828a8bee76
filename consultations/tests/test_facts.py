"""The recorded intake maps to rules.IntakeFacts in one place; unknown stays None."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from consultations import rules, selectors, services
from consultations.choices import CLASS_FACT, IndicationChoice, InteractionClass
from consultations.models import DIRECT_FACTS, AntidepressantTrial, Consultation, Medication, ScreeningPolicy
from consultations.tests.factories import ConsultationFactory, fill_clean_intake, record_baseline

pytestmark = pytest.mark.django_db

DERIVED = {
    "date_of_birth",
    "indications",
    "prior_adequate_antidepressant_trials",
    "phq9_item9",
    "cssrs_risk",
    *CLASS_FACT.values(),
}


def test_every_screening_fact_is_either_a_column_or_derived_from_the_record():
    facts = {f.name for f in dataclasses.fields(rules.IntakeFacts)}
    assert facts == set(DIRECT_FACTS) | DERIVED
    assert not set(DIRECT_FACTS) & DERIVED
    columns = {f.name for f in Consultation._meta.get_fields()}
    assert set(DIRECT_FACTS) <= columns


def test_medication_classes_cover_every_medication_fact_and_indications_match_the_rules():
    assert set(CLASS_FACT.values()) == {name for name in rules.FACT_LABELS if name.startswith("takes_")}
    assert set(CLASS_FACT) | {InteractionClass.NONE} == set(InteractionClass)
    assert set(IndicationChoice.values) == {i.value for i in rules.Indication}


def test_nothing_recorded_means_every_fact_is_unknown():
    facts = selectors.intake_facts(ConsultationFactory())
    for f in dataclasses.fields(rules.IntakeFacts):
        if f.name not in ("date_of_birth", "indications"):
            assert getattr(facts, f.name) is None, f.name
    assert facts.indications == frozenset()


def test_a_listed_class_is_taken_and_the_rest_are_not_only_once_the_list_is_complete():
    consultation = ConsultationFactory()
    Medication.objects.create(consultation=consultation, name="Lorazepam", interaction_class="benzodiazepine")
    facts = selectors.intake_facts(consultation)
    assert facts.takes_benzodiazepine is True
    assert facts.takes_opioid is None
    Consultation.objects.filter(pk=consultation.pk).update(medications_complete=True)
    facts = selectors.intake_facts(Consultation.objects.get(pk=consultation.pk))
    assert facts.takes_benzodiazepine is True
    assert facts.takes_opioid is False


def test_adequate_trials_are_counted_and_recognise_trd_at_the_policy_threshold():
    consultation = ConsultationFactory()
    assert selectors.intake_facts(consultation).prior_adequate_antidepressant_trials is None
    for drug, adequate in (("Sertraline", True), ("Venlafaxine", True), ("Mirtazapine", None)):
        AntidepressantTrial.objects.create(consultation=consultation, drug=drug, adequate=adequate)
    facts = selectors.intake_facts(consultation)
    assert facts.prior_adequate_antidepressant_trials == 2
    assert rules.trd_recognised(facts, selectors.screening_thresholds())


def test_phq9_item9_and_the_cssrs_level_come_from_the_current_baseline_responses(clinician):
    consultation = ConsultationFactory(clinician=clinician)
    record_baseline(consultation, "phq9", [1, 1, 1, 1, 1, 1, 1, 1, 2])
    record_baseline(
        consultation,
        "cssrs_screen",
        {"q1": True, "q2": True, "q3": False, "q4": True, "q5": False, "q6": False, "q6_past_3_months": False},
    )
    facts = selectors.intake_facts(consultation)
    assert (facts.phq9_item9, facts.cssrs_risk) == (2, "high")
    assert "PD-04" in [f.rule_id for f in rules.screen(facts, today=_today()).findings]


def test_a_clean_intake_screens_eligible():
    consultation = fill_clean_intake(ConsultationFactory())
    result = rules.screen(selectors.intake_facts(consultation), selectors.screening_thresholds(), today=_today())
    assert result.outcome == rules.Outcome.ELIGIBLE, [f.rule_id for f in result.findings]


def _today():
    from django.utils import timezone

    return timezone.localdate()


def test_the_policy_mirrors_the_thresholds_with_their_defaults_sources_and_status():
    policy = selectors.screening_policy()
    for spec in dataclasses.fields(rules.ScreeningThresholds):
        field = ScreeningPolicy._meta.get_field(spec.name)
        assert field.default == spec.default == getattr(policy, spec.name)
        assert field.verbose_name == spec.metadata["label"]
        assert spec.metadata["status"] in field.help_text
        assert spec.metadata["source"] in field.help_text
    assert "UNVERIFIED" in ScreeningPolicy._meta.get_field("trd_min_adequate_trials").help_text
    assert selectors.screening_thresholds() == rules.DEFAULT_THRESHOLDS


def test_an_administrator_edit_of_the_policy_changes_the_screening(admin):
    consultation = fill_clean_intake(ConsultationFactory(), bp_systolic_mmhg=135, bp_diastolic_mmhg=85)
    before = rules.screen(selectors.intake_facts(consultation), selectors.screening_thresholds(), today=_today())
    services.screening_policy_update(
        policy=selectors.screening_policy(), by=admin, bp_relative_systolic_mmhg=130, bp_relative_diastolic_mmhg=80
    )
    after = rules.screen(selectors.intake_facts(consultation), selectors.screening_thresholds(), today=_today())
    assert before.outcome == "eligible"
    assert [f.rule_id for f in after.findings] == ["CI-05"]


def test_the_policy_refuses_a_review_limit_above_the_hard_stop(admin):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="hard stop"):
        services.screening_policy_update(policy=selectors.screening_policy(), by=admin, bp_relative_systolic_mmhg=190)


def test_bmi_is_computed_from_weight_and_height():
    consultation = ConsultationFactory(weight_kg=Decimal("80.0"), height_cm=Decimal("180.0"))
    assert consultation.bmi == Decimal("24.7")
    assert ConsultationFactory().bmi is None
