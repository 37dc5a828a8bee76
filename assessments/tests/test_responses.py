"""Stored instrument responses: scored by instruments.score, immutable, corrected by supersession."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.utils import DatabaseError

from accounts.models import AuditEvent
from assessments import selectors, services
from assessments.forms import instrument_form
from assessments.instruments import INSTRUMENTS
from assessments.models import InstrumentResponse

pytestmark = pytest.mark.django_db

CSSRS_NO = {"q1": False, "q2": False, "q3": False, "q4": False, "q5": False, "q6": False, "q6_past_3_months": False}


def _record(patient, by, code="phq9", answers=(1, 1, 1, 1, 1, 1, 1, 1, 1), **kwargs):
    return services.response_record(
        patient=patient, code=code, answers=list(answers), context="baseline", by=by, **kwargs
    )


def test_a_response_stores_what_the_scorer_says(patient, clinician):
    response = _record(patient, clinician, answers=[3, 3, 3, 3, 3, 3, 3, 2, 1])
    assert (response.total, response.band, response.flags) == (24, "severe", ["suicidal_ideation"])
    assert response.instrument_version == INSTRUMENTS["phq9"].version
    assert response.entered_by == clinician
    assert response.source == "clinician"
    assert AuditEvent.objects.filter(action="assessments.response.recorded", patient_id=patient.pk).exists()


@pytest.mark.parametrize(
    "answers",
    [[1] * 8, [1] * 10, [1, 1, 1, 1, 1, 1, 1, 1, 4], [1, 1, 1, 1, 1, 1, 1, 1, -1], ["1"] * 9, [True] * 9],
)
def test_wrong_answers_are_refused_naming_the_item(patient, clinician, answers):
    with pytest.raises(ValidationError, match="phq9 item"):
        _record(patient, clinician, answers=answers)
    assert not InstrumentResponse.objects.exists()


def test_responses_are_immutable_at_the_database(patient, clinician):
    response = _record(patient, clinician)
    for change in (
        lambda: InstrumentResponse.objects.filter(pk=response.pk).update(total=0),
        lambda: InstrumentResponse.objects.filter(pk=response.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()


def test_a_correction_supersedes_with_a_reason_and_the_current_answer_is_the_newest(patient, clinician):
    original = _record(patient, clinician)
    with pytest.raises(ValidationError, match="why"):
        _record(patient, clinician, answers=[0] * 9, supersedes=original)
    fixed = _record(
        patient, clinician, answers=[0] * 9, supersedes=original, correction_reason="Keyed the wrong column"
    )
    assert selectors.baseline_response(patient=patient, code="phq9") == fixed
    assert selectors.correction_chain(fixed) == [fixed, original]
    with pytest.raises(ValidationError, match="already been corrected"):
        _record(patient, clinician, answers=[2] * 9, supersedes=original, correction_reason="again")


def test_a_correction_must_be_for_the_same_patient_and_instrument(patient, clinician):
    from patients.tests.factories import PatientFactory

    original = _record(patient, clinician)
    with pytest.raises(ValidationError):
        _record(PatientFactory(), clinician, supersedes=original, correction_reason="x")


def test_the_front_desk_cannot_record_responses(patient, frontdesk):
    with pytest.raises(PermissionDenied):
        _record(patient, frontdesk)


def test_the_cssrs_screener_stores_its_risk_level_as_the_band(patient, clinician):
    answers = {**CSSRS_NO, "q1": True, "q2": True, "q3": True}
    response = services.response_record(
        patient=patient, code="cssrs_screen", answers=answers, context="baseline", by=clinician
    )
    assert (response.total, response.band) == (2, "moderate")
    none = services.response_record(
        patient=patient, code="cssrs_screen", answers=CSSRS_NO, context="baseline", by=clinician
    )
    assert none.band == ""


@pytest.mark.parametrize("code", sorted(INSTRUMENTS))
def test_every_instrument_has_a_form_with_its_items_and_options(code):
    inst = INSTRUMENTS[code]
    form = instrument_form(code)
    assert len(form.fields) == inst.item_count
    first = next(iter(form.fields.values()))
    assert first.label == inst.items[0]


def test_the_form_refuses_an_answer_outside_the_options_naming_the_range():
    form = instrument_form("gad7", {f"gad7-item_{n}": "1" for n in range(1, 8)} | {"gad7-item_2": "9"})
    assert not form.is_valid()
    assert form.errors["item_2"] == ["9 is not an answer to this item: choose 0–3."]


def test_a_blank_form_means_not_administered_and_a_partial_one_is_an_error():
    blank = instrument_form("gad7", {})
    assert blank.is_valid()
    assert blank.cleaned_data["answers"] is None
    partial = instrument_form("gad7", {"gad7-item_1": "2"})
    assert not partial.is_valid()
    assert len(partial.errors) == 6


def test_the_cssrs_form_follows_the_skip_logic():
    data = {"cssrs_screen-q1": "1", "cssrs_screen-q2": "0", "cssrs_screen-q6": "0"}
    form = instrument_form("cssrs_screen", data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["answers"] == {**CSSRS_NO, "q1": True}
    asked = instrument_form("cssrs_screen", {**data, "cssrs_screen-q2": "1"})
    assert not asked.is_valid()
    assert set(asked.errors) == {"q3", "q4", "q5"}


def test_every_stored_response_goes_through_the_registered_hooks_once(patient, clinician):
    from assessments import hooks

    seen = []

    def hook(response, subject):
        seen.append((response.pk, subject))

    hooks.register_response_hook(hook)
    hooks.register_response_hook(hook)  # registering twice keeps one copy
    try:
        first = _record(patient, clinician)
        with pytest.raises(ValidationError):
            _record(patient, clinician, answers=[9] * 9)  # refused: never reaches the hooks
        second = _record(patient, clinician, subject=patient)
    finally:
        hooks.unregister_response_hook(hook)
    assert seen == [(first.pk, None), (second.pk, patient)]
    _record(patient, clinician)
    assert len(seen) == 2
