"""Administrators edit the screening policy and the protocol library in the admin; both audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from consultations import selectors
from consultations.models import Protocol

pytestmark = pytest.mark.django_db


def test_the_policy_page_shows_each_threshold_with_its_source_and_status(client_as, admin):
    selectors.screening_policy()
    html = client_as(admin).get(reverse("admin:consultations_screeningpolicy_change", args=[1])).content.decode()
    assert "Resting BP hard stop: systolic above (mmHg)" in html
    assert "[S28] Swiss ketamine SmPC, contraindications" in html
    assert "clinic policy; UNVERIFIED" in html


def test_changing_a_threshold_in_the_admin_applies_after_the_medical_directors_sign_off(client_as, admin):
    from prescribers.models import PolicyChange
    from prescribers.policy import policy_change_decide
    from prescribers.tests.factories import credentialed, prescriber

    director = prescriber(username="director")
    credentialed(director, medical_director=True)
    policy = selectors.screening_policy()
    url = reverse("admin:consultations_screeningpolicy_change", args=[policy.pk])
    data = {
        "bp_hard_stop_systolic_mmhg": 180,
        "bp_hard_stop_diastolic_mmhg": 100,
        "bp_relative_systolic_mmhg": 135,
        "bp_relative_diastolic_mmhg": 90,
        "trd_min_adequate_trials": 2,
        "bp_hazard_condition_absolute": "on",
        "severe_hepatic_disease_absolute": "on",
    }
    assert client_as(admin).post(url, data).status_code == 302
    assert selectors.screening_thresholds().bp_relative_systolic_mmhg == 140  # proposed, not applied
    policy_change_decide(change=PolicyChange.objects.get(), by=director, approve=True)
    assert selectors.screening_thresholds().bp_relative_systolic_mmhg == 135
    event = AuditEvent.objects.get(action="consultations.screeningpolicy.updated")
    assert event.data_category == "configuration"
    assert event.changes == {"bp_relative_systolic_mmhg": [140, 135]}


def test_a_review_limit_above_the_hard_stop_is_refused_on_the_form(client_as, admin):
    policy = selectors.screening_policy()
    url = reverse("admin:consultations_screeningpolicy_change", args=[policy.pk])
    data = {
        "bp_hard_stop_systolic_mmhg": 180,
        "bp_hard_stop_diastolic_mmhg": 100,
        "bp_relative_systolic_mmhg": 190,
        "bp_relative_diastolic_mmhg": 90,
        "trd_min_adequate_trials": 2,
    }
    response = client_as(admin).post(url, data)
    assert response.status_code == 200
    assert "must not be above the systolic hard stop" in response.content.decode()


def test_the_protocol_library_lists_the_cited_seed_protocols(client_as, admin):
    html = client_as(admin).get(reverse("admin:consultations_protocol_changelist")).content.decode()
    assert "Depression/TRD: 0.5 mg/kg IV over 40 min, 6 infusions over 2–3 weeks" in html
    assert "CRPS: 0.35 mg/kg/h IV over 4 h daily for 10 days" in html
    assert all(p.source for p in Protocol.objects.all())


def test_clinical_records_are_read_only_in_the_admin(client_as, admin):
    from consultations.tests.factories import signed_consultation

    signed = signed_consultation()
    response = client_as(admin).get(reverse("admin:consultations_consultation_change", args=[signed.pk]))
    assert response.status_code == 200
    assert 'name="presenting_problem"' not in response.content.decode()
