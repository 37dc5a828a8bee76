"""A signed consultation is immutable at the database (security-reference R8, D6)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from assessments.models import InstrumentResponse
from consultations import selectors, services
from consultations.models import AntidepressantTrial, Consultation, Medication, PlanStatusChange, TreatmentPlan
from consultations.tests.factories import ConsultationFactory, fill_clean_intake, plan_for, signed_consultation

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed():
    consultation = ConsultationFactory()
    fill_clean_intake(consultation)
    Medication.objects.create(consultation=consultation, name="Sertraline", dose="100 mg", interaction_class="none")
    AntidepressantTrial.objects.create(consultation=consultation, drug="Escitalopram", adequate=True)
    return services.consultation_sign(
        consultation=consultation, by=consultation.clinician, decision="eligible", justifications={}
    )


def _refused(fn) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        fn()


def _sql(statement: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_raw_sql_cannot_update_or_delete_a_signed_consultation(signed):
    _refused(lambda: _sql("UPDATE consultations_consultation SET presenting_problem = 'x' WHERE id = %s", signed.pk))
    _refused(lambda: _sql("DELETE FROM consultations_consultation WHERE id = %s", signed.pk))


def test_the_orm_cannot_change_a_signed_consultation(signed):
    _refused(lambda: Consultation.objects.filter(pk=signed.pk).update(bp_systolic_mmhg=200))
    signed.decision = "ineligible"
    _refused(lambda: signed.save())
    _refused(lambda: Consultation.objects.filter(pk=signed.pk).delete())


def test_children_of_a_signed_consultation_cannot_be_added_changed_or_removed(signed):
    medication = signed.medications.get()
    trial = signed.antidepressant_trials.get()
    _refused(
        lambda: Medication.objects.create(consultation=signed, name="Lorazepam", interaction_class="benzodiazepine")
    )
    _refused(lambda: Medication.objects.filter(pk=medication.pk).update(interaction_class="opioid"))
    _refused(lambda: _sql("DELETE FROM consultations_medication WHERE id = %s", medication.pk))
    _refused(lambda: AntidepressantTrial.objects.filter(pk=trial.pk).update(adequate=False))
    _refused(lambda: AntidepressantTrial.objects.create(consultation=signed, drug="Bupropion", adequate=True))
    other = ConsultationFactory(patient=signed.patient)
    moved = Medication.objects.create(consultation=other, name="Moved", interaction_class="none")
    _refused(lambda: Medication.objects.filter(pk=moved.pk).update(consultation=signed))


def test_stored_instrument_responses_are_never_updated_or_deleted(signed):
    response = InstrumentResponse.objects.filter(subject_id=signed.pk).first()
    _refused(lambda: InstrumentResponse.objects.filter(pk=response.pk).update(total=0))
    _refused(lambda: _sql("DELETE FROM assessments_instrumentresponse WHERE id = %s", response.pk))


def test_a_draft_still_changes_freely():
    draft = ConsultationFactory()
    Consultation.objects.filter(pk=draft.pk).update(presenting_problem="fine")
    medication = Medication.objects.create(consultation=draft, name="A", interaction_class="none")
    medication.delete()
    assert Consultation.objects.get(pk=draft.pk).presenting_problem == "fine"


def test_the_signature_hash_verifies_and_detects_tampering(signed):
    assert selectors.verify_signature(signed)
    # Tamper the way only a database superuser could: switch the lock off for one statement.
    import pgtrigger

    with pgtrigger.ignore("consultations.Consultation:consultation_signed_locked"):
        Consultation.objects.filter(pk=signed.pk).update(presenting_problem="rewritten")
    assert not selectors.verify_signature(Consultation.objects.get(pk=signed.pk))


def test_an_amendment_leaves_the_signed_original_and_its_hash_untouched(signed, clinician):
    before = signed.content_sha256
    amendment = services.amendment_add(
        consultation=signed,
        by=clinician,
        kind="amends",
        section="vitals",
        reason="Transcription error",
        text="Heart rate was 76, not 72.",
    )
    signed.refresh_from_db()
    assert signed.content_sha256 == before
    assert selectors.verify_signature(signed)
    assert amendment.author == clinician
    assert amendment.reason == "Transcription error"
    _refused(lambda: type(amendment).objects.filter(pk=amendment.pk).update(text="changed"))


def test_a_plan_keeps_its_clinical_content_once_it_leaves_draft(clinician):
    plan = plan_for(signed_consultation())
    TreatmentPlan.objects.filter(pk=plan.pk).update(max_dose_mg=60)  # draft: still editable
    services.plan_transition(plan=plan, to_status="active", by=plan.created_by)
    _refused(lambda: TreatmentPlan.objects.filter(pk=plan.pk).update(max_dose_mg=90))
    _refused(lambda: TreatmentPlan.objects.filter(pk=plan.pk).delete())
    _refused(lambda: PlanStatusChange.objects.filter(plan=plan).update(reason="rewritten"))
    TreatmentPlan.objects.filter(pk=plan.pk).update(notes="status and notes may still move")
