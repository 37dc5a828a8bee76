"""A clinical policy change applies only after the medical director signs it off, audited
with every setting before and after; nobody else can sign it off."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.prescribing import PrescriberRequired
from consultations import selectors as consultation_selectors
from infusions.models import InfusionPolicy
from prescribers import policy
from prescribers.models import PolicyChange
from prescribers.tests.factories import credentialed, prescriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def director(db):
    user = prescriber(username="medical.director")
    credentialed(user, medical_director=True)
    return user


@pytest.fixture
def infusion_policy(db):
    row, _ = InfusionPolicy.objects.get_or_create(pk=1)
    return row


def _admin_edit(client, url, **changes):
    page = client.get(url)
    data = {
        name: ("" if value is None else value)
        for name, value in page.context["adminform"].form.initial.items()
        if name not in ("id", "updated_at", "updated_by")
    }
    data = {k: v for k, v in data.items() if v is not False}  # unchecked boxes are absent from a POST
    data.update(changes)
    return client.post(url, data)


def test_an_administrators_edit_waits_for_the_medical_directors_sign_off(client_as, admin, director, infusion_policy):
    before = infusion_policy.min_observation_min
    response = _admin_edit(
        client_as(admin), reverse("admin:infusions_infusionpolicy_change", args=[1]), min_observation_min=45
    )
    assert response.status_code == 302
    assert InfusionPolicy.objects.get(pk=1).min_observation_min == before  # not applied yet
    change = PolicyChange.objects.get()
    assert change.changes["min_observation_min"]["before"] == before
    assert change.changes["min_observation_min"]["after"] == 45

    policy.policy_change_decide(change=change, by=director, approve=True)
    assert InfusionPolicy.objects.get(pk=1).min_observation_min == 45
    event = AuditEvent.objects.get(action="prescribers.policy_change.signed_off")
    assert event.changes["min_observation_min"] == [before, 45]
    assert AuditEvent.objects.filter(action="infusions.infusionpolicy.updated").exists()


def test_a_screening_threshold_change_waits_too(client_as, admin, director):
    thresholds = consultation_selectors.screening_policy()
    url = reverse("admin:consultations_screeningpolicy_change", args=[thresholds.pk])
    response = _admin_edit(client_as(admin), url, bp_relative_systolic_mmhg=135)
    assert response.status_code == 302
    assert consultation_selectors.screening_thresholds().bp_relative_systolic_mmhg == 140
    policy.policy_change_decide(change=PolicyChange.objects.get(), by=director, approve=True)
    assert consultation_selectors.screening_thresholds().bp_relative_systolic_mmhg == 135


@pytest.mark.parametrize("who", ["nurse", "clinician", "admin"])
def test_only_the_medical_director_signs_off(request, who, infusion_policy):
    user = request.getfixturevalue(who)
    change = policy.policy_change_propose(policy=infusion_policy, by=user, after={"min_observation_min": 50})
    with pytest.raises(PrescriberRequired):
        policy.policy_change_decide(change=change, by=user, approve=True)
    assert InfusionPolicy.objects.get(pk=1).min_observation_min != 50


def test_a_change_proposed_against_an_older_policy_is_refused(director, admin, infusion_policy):
    first = policy.policy_change_propose(policy=infusion_policy, by=admin, after={"min_observation_min": 50})
    second = policy.policy_change_propose(policy=infusion_policy, by=admin, after={"discharge_min_score": 8})
    policy.policy_change_decide(change=second, by=director, approve=True)
    with pytest.raises(ValidationError, match="changed since this was proposed"):
        policy.policy_change_decide(change=first, by=director, approve=True)


def test_declining_needs_a_note_and_leaves_the_policy(director, admin, infusion_policy):
    change = policy.policy_change_propose(policy=infusion_policy, by=admin, after={"min_observation_min": 50})
    with pytest.raises(ValidationError) as error:
        policy.policy_change_decide(change=change, by=director, approve=False)
    assert "note" in error.value.message_dict
    declined = policy.policy_change_decide(change=change, by=director, approve=False, note="Keep 30 min for now")
    assert declined.status == PolicyChange.Status.DECLINED
    assert InfusionPolicy.objects.get(pk=1).min_observation_min != 50


def test_the_director_signs_off_on_the_page_and_sees_every_setting(client_as, director, admin, infusion_policy):
    change = policy.policy_change_propose(policy=infusion_policy, by=admin, after={"min_observation_min": 50})
    client = client_as(director)
    page = client.get(reverse("prescribers:policy-changes"))
    assert b"Sign off" in page.content
    response = client.post(reverse("prescribers:policy-change-decide", args=[change.pk]), {"decision": "sign_off"})
    assert response.status_code == 302
    assert InfusionPolicy.objects.get(pk=1).min_observation_min == 50


def test_a_decline_without_a_note_comes_back_at_the_note_field(client_as, director, admin, infusion_policy):
    change = policy.policy_change_propose(policy=infusion_policy, by=admin, after={"min_observation_min": 50})
    url = reverse("prescribers:policy-change-decide", args=[change.pk])
    response = client_as(director).post(url, {"decision": "decline", "note": ""})
    assert response.status_code == 200
    assert "Say why the change is declined" in response.content.decode()


def test_the_policy_changes_page_query_count_does_not_grow(
    client_as, director, admin, infusion_policy, django_assert_max_num_queries
):
    client = client_as(director)
    url = reverse("prescribers:policy-changes")
    policy.policy_change_propose(policy=infusion_policy, by=admin, after={"min_observation_min": 50})
    client.get(url)
    # session, user, groups, perms, profile, changes, the director's credentials before the
    # sign-off is offered (licences, registrations), …
    with django_assert_max_num_queries(13) as one:
        client.get(url)
    for minutes in (55, 60, 65):
        policy.policy_change_propose(policy=infusion_policy, by=admin, after={"min_observation_min": minutes})
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(url)


def test_the_medical_directors_home_counts_the_changes_awaiting_sign_off(
    client_as, director, clinician, admin, infusion_policy
):
    policy.policy_change_propose(policy=infusion_policy, by=admin, after={"min_observation_min": 50})
    assert "1 clinical policy change awaits your sign-off" in client_as(director).get("/").content.decode()
    assert "awaits your sign-off" not in client_as(clinician).get("/").content.decode()
