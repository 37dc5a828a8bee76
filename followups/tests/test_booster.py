"""The maintenance rule in the database: suggestion, clinician decision, front-desk list."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from assessments.models import ResponseContext
from followups import services
from followups.models import BoosterSuggestion
from followups.tests.factories import clinician_user, phq9_for_total, record, suggestion_for

pytestmark = pytest.mark.django_db


def _course(patient, *totals, baseline=20):
    by = clinician_user()
    record(patient=patient, code="phq9", answers=phq9_for_total(baseline), context=ResponseContext.BASELINE, by=by)
    last = None
    for total in totals:
        last = record(patient=patient, code="phq9", answers=phq9_for_total(total), by=by)
    return last


def test_relapse_after_response_opens_one_suggestion(patient):
    last = _course(patient, 8, 14)
    suggestion = services.booster_evaluate(response=last)
    assert suggestion.status == "open"
    assert (suggestion.baseline_total, suggestion.current_total) == (20, 14)
    again = record(patient=patient, code="phq9", answers=phq9_for_total(16), by=clinician_user())
    assert services.booster_evaluate(response=again) is None  # one open suggestion at a time
    assert BoosterSuggestion.objects.filter(patient=patient).count() == 1


def test_non_responder_gets_no_booster_suggestion(patient):
    assert services.booster_evaluate(response=_course(patient, 16, 18)) is None


def test_threshold_follows_the_administrators_policy(patient):
    policy = services.policy_current()
    policy.booster_fraction_percent = 75
    policy.save()
    assert services.booster_evaluate(response=_course(patient, 8, 14)) is None  # 14 ≤ 15


def test_disabled_rule_never_suggests(patient):
    policy = services.policy_current()
    policy.booster_enabled = False
    policy.save()
    assert services.booster_evaluate(response=_course(patient, 8, 14)) is None


def test_dismissal_needs_a_reason(clinician, patient):
    suggestion = suggestion_for(patient=patient)
    with pytest.raises(ValidationError):
        services.booster_decide(suggestion=suggestion, by=clinician, accept=False)
    decided = services.booster_decide(suggestion=suggestion, by=clinician, accept=False, reason="Life event; watch")
    assert decided.status == "dismissed"
    with pytest.raises(ValidationError, match="already"):
        services.booster_decide(suggestion=suggestion, by=clinician, accept=True)


def test_accepting_puts_the_patient_on_the_front_desk_list_until_a_booster_is_booked(
    client, clinician, frontdesk, patient
):
    suggestion = suggestion_for(patient=patient)
    client.force_login(clinician)
    client.post(reverse("followups:suggestion-decide", args=[suggestion.pk]), {"decision": "accept"})
    client.force_login(frontdesk)
    page = client.get(reverse("followups:ready-to-book")).content.decode()
    assert patient.display_name in page
    assert "PHQ" not in page
    assert "14" not in page.split(patient.display_name)[1][:40]
    from followups.tests.factories import follow_up_appointment

    follow_up_appointment(patient=patient, code="booster")
    assert patient.display_name not in client.get(reverse("followups:ready-to-book")).content.decode()


def test_front_desk_cannot_decide(client, frontdesk, patient):
    suggestion = suggestion_for(patient=patient)
    client.force_login(frontdesk)
    assert (
        client.post(reverse("followups:suggestion-decide", args=[suggestion.pk]), {"decision": "accept"}).status_code
        == 403
    )


def test_a_booster_decided_at_the_visit_goes_straight_to_the_front_desk(client, clinician, frontdesk, patient):
    from followups.tests.factories import during_visit, visit_for
    from patients.tests.factories import PatientFactory

    suggestion = suggestion_for(patient=patient)  # the rule's open suggestion is accepted by the signature
    visit = visit_for(patient=patient, clinician=clinician)
    other, second = clinician_user(), PatientFactory()
    second_visit = visit_for(patient=second, clinician=other)
    with during_visit(visit, second_visit):
        services.visit_sign(visit=visit, by=clinician, plan_decision="booster")
        suggestion.refresh_from_db()
        assert (suggestion.status, suggestion.visit, suggestion.decided_by) == ("accepted", visit, clinician)
        services.visit_sign(visit=second_visit, by=other, plan_decision="booster")
        client.force_login(frontdesk)
        page = client.get(reverse("followups:ready-to-book")).content.decode()
    assert patient.display_name in page
    assert second.display_name in page


def test_only_a_prescriber_who_can_decide_is_offered_the_booster_decision(client_as, patient, nurse, clinician):
    """The worklist asks the service's question: a nurse (or a prescriber without current
    credentials) sees "Needs a prescriber" instead of a form; a forged POST from the prescriber
    is refused with the reason, not a bare 403; nothing is decided."""
    from accounts.roles import Role
    from accounts.tests.factories import UserFactory

    suggestion = suggestion_for(patient=patient)
    blocked = UserFactory(username="dr.noprofile", role=Role.PRESCRIBER, credentials="MD")
    for user, why in ((nurse, "Only a prescriber decides"), (blocked, "No prescriber credentials")):
        page = client_as(user).get(reverse("followups:worklist")).content.decode()
        assert 'id="booster-needs-prescriber"' in page
        assert why in page
        assert reverse("followups:suggestion-decide", args=[suggestion.pk]) not in page
        response = client_as(user).post(
            reverse("followups:suggestion-decide", args=[suggestion.pk]), {"decision": "accept"}, follow=True
        )
        # The nurse's role has no decision (the access table's 403); the prescriber's role has,
        # and the service's refusal comes back as a message.
        assert response.status_code == (403 if user == nurse else 200)
        if user == blocked:
            assert why in response.content.decode()
        suggestion.refresh_from_db()
        assert suggestion.status == "open"
    page = client_as(clinician).get(reverse("followups:worklist")).content.decode()
    assert reverse("followups:suggestion-decide", args=[suggestion.pk]) in page


def test_the_worklist_links_each_suggestion_to_its_decision_page_where_the_booster_is_decided(
    client_as, clinician, patient, django_assert_max_num_queries
):
    """The worklist lists suggestions as links (no form per row); the decision page decides,
    and a dismissal without a reason comes back with the error at the field and what was typed."""
    suggestion = suggestion_for(patient=patient)
    client = client_as(clinician)
    decide = reverse("followups:suggestion-decide", args=[suggestion.pk])
    client.get(reverse("followups:worklist"))
    # Warm: session, user, policy, the five lists (one statement), the prescriber's credentials (one
    # statement), the audit entry.
    with django_assert_max_num_queries(6):
        page = client.get(reverse("followups:worklist")).content.decode()
    assert f'href="{decide}"' in page
    assert 'name="decision"' not in page
    form_page = client.get(decide).content.decode()
    assert patient.display_name in form_page
    assert 'name="decision"' in form_page
    refused = client.post(decide, {"decision": "dismiss", "reason": "   "})
    assert refused.status_code == 200
    assert "Say why the booster is not needed." in refused.content.decode()
    suggestion.refresh_from_db()
    assert suggestion.status == "open"
    done = client.post(decide, {"decision": "dismiss", "reason": "Life event; watch"}, follow=True)
    assert "Booster suggestion decided." in done.content.decode()
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.decision_reason) == ("dismissed", "Life event; watch")
    assert 'id="booster-decided"' in client.get(decide).content.decode()


def test_a_desk_scoped_to_another_location_is_not_asked_to_book_the_booster(client, frontdesk, patient, scope_to):
    from patients.tests.factories import PatientFactory
    from scheduling.tests.factories import AppointmentFactory, LocationFactory

    here, there = LocationFactory(), LocationFactory()
    AppointmentFactory(patient=patient, location=there)
    ours = PatientFactory()
    AppointmentFactory(patient=ours, location=here)
    for suggestion in (suggestion_for(patient=patient), suggestion_for(patient=ours)):
        services.booster_decide(suggestion=suggestion, by=clinician_user(), accept=True)
    client.force_login(scope_to(frontdesk, here))
    page = client.get(reverse("followups:ready-to-book")).content.decode()
    assert ours.display_name in page
    assert patient.display_name not in page
