"""The intake page: save what validates, refuse the impossible at the field, autosave, screen, sign."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from consultations.models import Consultation, ConsultationDraft
from consultations.tests.factories import (
    GAD7,
    PHQ9_NO_ITEM9,
    ConsultationFactory,
    fill_clean_intake,
    signed_consultation,
)
from consultations.tests.helpers import page_data

pytestmark = pytest.mark.django_db


def _url(consultation, name="consultations:detail"):
    return reverse(name, args=[consultation.pk])


def _answers(prefix: str, values) -> dict[str, str]:
    return {f"{prefix}-item_{n}": str(v) for n, v in enumerate(values, start=1)}


@pytest.fixture
def draft(clinician):
    return ConsultationFactory(clinician=clinician)


@pytest.fixture
def filled(clinician):
    consultation = ConsultationFactory(clinician=clinician)
    return fill_clean_intake(consultation)


def test_the_intake_page_shows_every_section_and_the_baseline_questionnaires(client_as, clinician, draft):
    response = client_as(clinician).get(_url(draft))
    assert response.status_code == 200
    html = response.content.decode()
    for heading in (
        "Referral and presenting problem",
        "Indications",
        "Psychiatric history",
        "Substance use",
        "Medical history",
        "Current medications and allergies",
        "Vital signs",
        "Informed consent",
    ):
        assert heading in html
    assert "Patient Health Questionnaire-9 (PHQ-9)" in html
    assert "Generalized Anxiety Disorder-7 (GAD-7)" in html
    assert 'hx-post="{}"'.format(_url(draft, "consultations:draft")) in html
    assert 'hx-trigger="change delay:1s' in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bp_systolic_mmhg", "400", "between 50–300 mmHg"),
        ("bp_diastolic_mmhg", "20", "between 25–200 mmHg"),
        ("spo2_percent", "140", "between 50–100 %"),
        ("weight_kg", "3", "between 25–350 kg"),
    ],
)
def test_impossible_vitals_are_refused_at_the_field_with_the_plausible_range(
    client_as, clinician, draft, field, value, message
):
    data = page_data(draft, **{field: value, "bp_systolic_mmhg": "130", "bp_diastolic_mmhg": "80"} | {field: value})
    response = client_as(clinician).post(_url(draft), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert f'value="{value}"' in html  # the typed value is shown again, not lost
    assert getattr(Consultation.objects.get(pk=draft.pk), field) != int(value)


def test_what_validates_is_saved_and_the_rest_stays_in_the_draft(client_as, clinician, draft):
    data = page_data(draft, presenting_problem="Low mood for two years", bp_systolic_mmhg="400", bp_diastolic_mmhg="20")
    client_as(clinician).post(_url(draft), data)
    saved = Consultation.objects.get(pk=draft.pk)
    assert saved.presenting_problem == "Low mood for two years"
    assert saved.bp_systolic_mmhg is None
    kept = ConsultationDraft.objects.get(consultation=draft, author=clinician)
    assert kept.data["bp_systolic_mmhg"] == ["400"]
    # Coming back later (e.g. after a time-out) shows the kept input with its error.
    html = client_as(clinician).get(_url(draft)).content.decode()
    assert 'value="400"' in html
    assert "between 50–300 mmHg" in html


def test_autosave_keeps_raw_input_server_side_without_validating(client_as, clinician, draft):
    data = page_data(draft, presenting_problem="half a thought", heart_rate_bpm="9999")
    response = client_as(clinician).post(_url(draft, "consultations:draft"), data)
    assert response.status_code == 200
    assert "Draft saved" in response.content.decode()
    assert Consultation.objects.get(pk=draft.pk).presenting_problem == ""  # the record is untouched
    html = client_as(clinician).get(_url(draft)).content.decode()
    assert "half a thought" in html
    assert 'value="9999"' in html
    assert AuditEvent.objects.filter(action="consultations.consultation.draft_saved", object_id=str(draft.pk)).exists()


def test_a_valid_save_clears_the_draft(client_as, clinician, draft):
    client = client_as(clinician)
    client.post(_url(draft, "consultations:draft"), page_data(draft, presenting_problem="typed"))
    client.post(_url(draft), page_data(draft, presenting_problem="typed"))
    assert not ConsultationDraft.objects.filter(consultation=draft).exists()
    assert Consultation.objects.get(pk=draft.pk).presenting_problem == "typed"


def test_an_out_of_range_questionnaire_answer_is_refused_at_the_item(client_as, clinician, draft):
    answers = _answers("phq9", PHQ9_NO_ITEM9) | {"phq9-item_3": "7"}
    response = client_as(clinician).post(_url(draft), page_data(draft, **answers))
    html = response.content.decode()
    assert "7 is not an answer to this item: choose 0–3." in html
    assert not draft.patient.instrument_responses.exists()


def test_a_half_answered_questionnaire_is_an_error_at_each_blank_item(client_as, clinician, draft):
    answers = _answers("gad7", GAD7[:5])
    html = client_as(clinician).post(_url(draft), page_data(draft, **answers)).content.decode()
    assert html.count("Answer this item, or leave the whole questionnaire blank.") == 2


def test_questionnaires_are_scored_and_stored_on_save(client_as, clinician, draft):
    answers = _answers("phq9", [3, 3, 3, 3, 3, 3, 3, 3, 1]) | _answers("gad7", GAD7)
    client_as(clinician).post(_url(draft), page_data(draft, **answers))
    phq9 = draft.patient.instrument_responses.get(instrument="phq9")
    assert (phq9.total, phq9.band, phq9.flags) == (25, "severe", ["suicidal_ideation"])
    # Item 9 positive: the C-SSRS screener is now on the page.
    assert "Columbia Suicide Severity Rating Scale" in client_as(clinician).get(_url(draft)).content.decode()


def test_changing_recorded_answers_stores_a_correction_not_an_edit(client_as, clinician, filled):
    original = filled.patient.instrument_responses.get(instrument="phq9")
    answers = _answers("phq9", [0, 0, 0, 0, 0, 0, 0, 0, 0])
    client_as(clinician).post(_url(filled), page_data(filled, **answers))
    correction = filled.patient.instrument_responses.get(supersedes=original)
    assert correction.total == 0
    assert correction.correction_reason
    original.refresh_from_db()
    assert original.total == 10  # the original row is unchanged


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_hostile_text_is_shown_as_text(client_as, clinician, filled):
    client = client_as(clinician)
    client.post(_url(filled), page_data(filled, presenting_problem=HOSTILE, allergies=HOSTILE))
    for html in (client.get(_url(filled)).content.decode(),):
        assert HOSTILE not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_save_and_screen_shows_each_finding_with_its_rule_class_fact_and_source(client_as, clinician, filled):
    client = client_as(clinician)
    data = page_data(filled, bp_systolic_mmhg="185", bp_diastolic_mmhg="105", action="screen")
    response = client.post(_url(filled), data, follow=True)
    html = response.content.decode()
    assert "CI-04" in html
    assert "absolute" in html
    assert "resting BP 185/105 mmHg" in html
    assert "[S28] Swiss ketamine SmPC, contraindications" in html
    assert Consultation.objects.get(pk=filled.pk).screening["outcome"] == "ineligible"


def test_the_journey_re_measure_justify_and_sign(client_as, clinician, filled):
    client = client_as(clinician)
    client.post(_url(filled), page_data(filled, bp_systolic_mmhg="185", bp_diastolic_mmhg="105", action="screen"))
    data = page_data(filled, bp_remeasure_systolic_mmhg="150", bp_remeasure_diastolic_mmhg="92", action="screen")
    html = client.post(_url(filled), data, follow=True).content.decode()
    screening = html.split('id="screening"')[1].split('id="sign"')[0]
    assert "CI-05" in screening
    # The extreme first reading is kept as a relative finding the prescriber justifies, not erased.
    assert "CI-04" in screening
    assert "re-measured resting BP 150/92 mmHg (first reading 185/105 mmHg)" in screening
    sign = page_data(
        filled,
        action="sign",
        **{
            "sign-decision": "eligible_override",
            "sign-justify_CI_04": "First reading after a rushed arrival; calm re-measure normal.",
            "sign-justify_CI_05": "Re-measured at rest; benefit outweighs risk.",
        },
    )
    response = client.post(_url(filled), sign)
    assert response.status_code == 302
    signed = Consultation.objects.get(pk=filled.pk)
    assert signed.is_signed
    assert signed.decision == "eligible_override"
    assert signed.justifications == {
        "CI-04": "First reading after a rushed arrival; calm re-measure normal.",
        "CI-05": "Re-measured at rest; benefit outweighs risk.",
    }
    assert sorted(f["rule_id"] for f in signed.screening["findings"]) == ["CI-04", "CI-05"]
    assert len(signed.content_sha256) == 64
    assert signed.rule_set_version


def test_signing_without_a_justification_is_refused_at_the_justification(client_as, clinician, filled):
    client = client_as(clinician)
    data = page_data(
        filled, bp_systolic_mmhg="150", bp_diastolic_mmhg="92", action="sign", **{"sign-decision": "eligible_override"}
    )
    response = client.post(_url(filled), data)
    assert response.status_code == 200
    assert "Justify proceeding despite CI-05." in response.content.decode()
    assert not Consultation.objects.get(pk=filled.pk).is_signed


def test_an_absolute_finding_cannot_be_signed_as_eligible(client_as, clinician, filled):
    data = page_data(
        filled,
        bp_systolic_mmhg="185",
        bp_diastolic_mmhg="105",
        action="sign",
        **{"sign-decision": "eligible_override", "sign-justify_CI_04": "please"},
    )
    html = client_as(clinician).post(_url(filled), data).content.decode()
    assert "An absolute finding (CI-04) blocks a treatment plan" in html
    assert not Consultation.objects.get(pk=filled.pk).is_signed


def test_a_save_against_an_older_version_is_refused_and_the_input_kept(client_as, clinician, filled):
    client = client_as(clinician)
    stale = page_data(filled, presenting_problem="mine")
    Consultation.objects.filter(pk=filled.pk).update(version=filled.version + 1, presenting_problem="theirs")
    html = client.post(_url(filled), stale).content.decode()
    assert "Another clinician saved this consultation" in html
    assert "Your input differs from the saved record in: Presenting problem." in html
    assert "mine" in html
    assert Consultation.objects.get(pk=filled.pk).presenting_problem == "theirs"


def test_a_signed_consultation_is_shown_read_only_and_refuses_posts(client_as, clinician):
    signed = signed_consultation(by=clinician)
    client = client_as(clinician)
    html = client.get(_url(signed)).content.decode()
    assert "Signed by" in html
    assert "verified" in html
    assert "<textarea" not in html
    assert client.post(_url(signed), {"presenting_problem": "late edit"}).status_code == 403
    assert client.post(_url(signed, "consultations:draft"), {"presenting_problem": "x"}).status_code == 409


def test_every_read_of_the_intake_is_audited(client_as, clinician, draft):
    client_as(clinician).get(_url(draft))
    assert AuditEvent.objects.filter(
        action="consultations.consultation.viewed", verb="read", data_category="clinical", patient_id=draft.patient_id
    ).exists()


@pytest.mark.parametrize("value", ["", "abc", "-1", "1e9", "\x00", "٣", "9" * 400, "1.5", "NaN"])
def test_garbage_in_any_number_field_never_gives_a_500(client_as, clinician, draft, value):
    fields = [
        "bp_systolic_mmhg",
        "heart_rate_bpm",
        "weight_kg",
        "height_cm",
        "phq9-item_1",
        "med-0-interaction_class",
        "trial-0-duration_weeks",
        "version",
    ]
    data = page_data(draft, **{name: value for name in fields})
    assert client_as(clinician).post(_url(draft), data).status_code in (200, 302)
    assert client_as(clinician).post(_url(draft, "consultations:draft"), data).status_code in (200, 409)


def test_the_intake_page_query_count_does_not_grow_with_rows(
    client_as, clinician, filled, django_assert_max_num_queries
):
    from consultations.models import AntidepressantTrial, Medication

    Medication.objects.bulk_create(
        Medication(consultation=filled, name=f"Med {i}", interaction_class="none") for i in range(15)
    )
    AntidepressantTrial.objects.bulk_create(
        AntidepressantTrial(consultation=filled, drug=f"Drug {i}", adequate=True) for i in range(10)
    )
    client = client_as(clinician)
    client.get(_url(filled))  # warm the content-type and permission caches
    # session, user, perms (2), consultation + 4 prefetches, role, audit (one statement + pghistory
    # context), draft, responses, policy, formset rows (2), session save (3), and the signer's
    # credentials before the signature is offered (profile, licences, registrations)
    with django_assert_max_num_queries(22):
        assert client.get(_url(filled)).status_code == 200


def test_the_signed_record_query_count_is_bounded(client_as, clinician, django_assert_max_num_queries):
    signed = signed_consultation(by=clinician)
    client = client_as(clinician)
    client.get(_url(signed))
    # session, user, perms (2), consultation + 4 prefetches, role, audit (5), responses, session save (3)
    with django_assert_max_num_queries(19):
        assert client.get(_url(signed)).status_code == 200


def test_posted_sign_off_fields_and_missing_fields_change_nothing(client_as, clinician, filled):
    data = page_data(
        filled, signed_at="2026-01-01T00:00:00Z", decision="eligible", content_sha256="0" * 64, status="signed"
    )
    del data["hypertension"]  # an older page without this question must not erase the answer
    client_as(clinician).post(_url(filled), data)
    saved = Consultation.objects.get(pk=filled.pk)
    assert saved.status == "draft"
    assert saved.signed_at is None
    assert saved.decision == ""
    assert saved.hypertension is False


def test_the_page_shows_the_recorded_bmi_not_the_unsaved_draft(client_as, clinician, filled):
    client = client_as(clinician)
    client.post(_url(filled, "consultations:draft"), page_data(filled, weight_kg="120"))
    html = client.get(_url(filled)).content.decode()
    assert 'value="120"' in html  # the draft is shown in the field
    assert "BMI: <strong>24.7</strong>" in html  # the saved 80 kg, 180 cm


def _medication_rows(data, rows, prefix):
    """Post ``rows`` as new formset rows under ``prefix`` (as a browser adding rows would)."""
    for n, row in enumerate(rows):
        for name, value in row.items():
            data[f"{prefix}-{n}-{name}"] = value
    data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
    return data


def test_adding_medications_and_a_trial_saves_them_and_screening_shows_the_interactions(client_as, clinician, filled):
    data = page_data(filled, action="screen")
    _medication_rows(
        data,
        [
            {"name": "Lorazepam", "dose": "1 mg at night", "interaction_class": "benzodiazepine"},
            {"name": "Phenelzine", "dose": "15 mg tds", "interaction_class": "maoi"},
        ],
        "med",
    )
    _medication_rows(
        data, [{"drug": "Sertraline", "dose": "150 mg", "duration_weeks": "8", "adequate": "true"}], "trial"
    )
    response = client_as(clinician).post(_url(filled), data)
    assert response.status_code == 302
    filled.refresh_from_db()
    assert sorted(filled.medications.values_list("name", "interaction_class")) == [
        ("Lorazepam", "benzodiazepine"),
        ("Phenelzine", "maoi"),
    ]
    assert list(filled.antidepressant_trials.values_list("drug", "duration_weeks", "adequate")) == [
        ("Sertraline", 8, True)
    ]
    interaction = [f for f in filled.screening["findings"] if f["rule_id"] == "CI-15"]
    assert len(interaction) == 1
    html = client_as(clinician).get(_url(filled)).content.decode()
    assert "CI-15" in html
    assert "Benzodiazepine" in html


def test_a_consultation_gone_before_the_page_reloads_it_answers_404_not_500(client_as, clinician, filled, monkeypatch):
    """Between the access check and the reload that shows the refused input again, the record
    is gone (removed by another session): a plain 404, never a crash on None."""
    from consultations import selectors

    real = selectors.consultation_detail
    reads = []

    def read_once(consultation_id):
        reads.append(consultation_id)
        return real(consultation_id) if len(reads) == 1 else None

    client = client_as(clinician)
    stale = page_data(filled, presenting_problem="mine")
    monkeypatch.setattr(selectors, "consultation_detail", read_once)
    Consultation.objects.filter(pk=filled.pk).update(version=filled.version + 1)
    client.raise_request_exception = False
    response = client.post(_url(filled), stale)
    assert response.status_code == 404
    assert len(reads) == 2  # the access check, then the reload
    assert filled.patient.legal_last_name not in response.content.decode()
