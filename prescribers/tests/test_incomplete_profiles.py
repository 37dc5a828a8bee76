"""A user in the prescriber role acts as one only with a complete, current profile; the
administrator's home lists those who cannot yet (a former clinician who is a nurse, a
prescriber whose licence lapsed), so they are completed or moved to the nurse role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.prescribing import PrescriberRequired
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consultations.tests.factories import plan_for, signed_consultation
from prescribers.selectors import prescribers_without_complete_profile
from prescribers.tests.factories import credentialed, prescriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def migrated_nurse(db):
    """A former clinician with a nursing credential, in the prescriber role, with no profile."""
    return UserFactory(username="rn.former", role=Role.PRESCRIBER, credentials="RN", first_name="Robin")


def test_a_prescriber_role_without_a_profile_makes_no_prescribers_decision(migrated_nurse, clinician):
    consultation = signed_consultation(by=clinician)
    with pytest.raises(PrescriberRequired, match="No prescriber credentials"):
        plan_for(consultation, by=migrated_nurse)


@pytest.mark.parametrize(
    ("case", "make", "problem"),
    [
        ("no profile at all", lambda u: None, "No prescriber profile"),
        (
            "licence expired",
            lambda u: credentialed(u, licence_expires=timezone.localdate() - timedelta(days=1)),
            "licence",
        ),
        (
            "DEA registration expired",
            lambda u: credentialed(u, dea_expires=timezone.localdate() - timedelta(days=1)),
            "DEA registration",
        ),
    ],
)
def test_incomplete_prescribers_are_listed_with_what_is_missing(migrated_nurse, clinician, case, make, problem):
    make(migrated_nurse)
    listed = dict(prescribers_without_complete_profile())
    assert problem in " ".join(listed[migrated_nurse]), case
    assert clinician not in listed  # complete and current


def test_the_administrators_home_lists_them_and_a_completed_profile_drops_off(client_as, admin, migrated_nurse):
    complete = prescriber(username="dr.complete")
    html = client_as(admin).get("/").content.decode()
    assert 'id="incomplete-prescribers"' in html
    assert "Robin" in html
    assert complete.get_full_name() not in html
    credentialed(migrated_nurse, credential="NP")
    assert 'id="incomplete-prescribers"' not in client_as(admin).get("/").content.decode()


def test_the_list_reads_in_a_fixed_number_of_queries(django_assert_max_num_queries):
    for n in range(6):
        UserFactory(username=f"p{n}", role=Role.PRESCRIBER)
        credentialed(UserFactory(username=f"c{n}", role=Role.PRESCRIBER))
    with django_assert_max_num_queries(4):  # users, profiles' licences, registrations, their locations
        assert len(prescribers_without_complete_profile()) == 6


# --- The pages ask the services' question ------------------------------------------------------
# "Can this person act as a prescriber now" is one function (accounts.prescribing): the
# services refuse with it and the pages use it to choose between a decision form and "Needs a
# prescriber" with the reason, so an incomplete profile is never shown a form that refuses.


def _expired():
    return timezone.localdate() - timedelta(days=1)


INCOMPLETE = [
    ("no profile at all", lambda u: None, "No prescriber credentials"),
    ("licence expired", lambda u: credentialed(u, licence_expires=_expired()), "licence"),
    ("DEA registration expired", lambda u: credentialed(u, dea_expires=_expired()), "DEA registration"),
]


@pytest.mark.parametrize(("case", "make", "why"), INCOMPLETE)
def test_the_page_and_the_service_give_the_same_answer(migrated_nurse, case, make, why):
    from accounts.prescribing import can_act_as_prescriber, prescriber_standing, require_prescriber

    make(migrated_nurse)
    perm = "consultations.add_treatmentplan"
    standing = prescriber_standing(migrated_nurse, perm, action="Writing a treatment plan")
    assert not standing, case
    assert not can_act_as_prescriber(migrated_nurse, perm), case
    assert why in standing.blocked, case
    with pytest.raises(PrescriberRequired, match=why):
        require_prescriber(migrated_nurse, perm, action="Writing a treatment plan")


def test_a_nurse_is_refused_without_a_sentence_about_credentials(nurse, clinician):
    from accounts.prescribing import prescriber_standing

    standing = prescriber_standing(nurse, "consultations.add_treatmentplan", action="Writing a treatment plan")
    assert not standing
    assert standing.blocked == ""
    assert prescriber_standing(clinician, "consultations.add_treatmentplan", action="Writing a treatment plan")


@pytest.mark.parametrize(("case", "make", "why"), INCOMPLETE)
def test_an_incomplete_prescriber_is_not_offered_a_plan_or_an_order(
    client_as, migrated_nurse, clinician, case, make, why
):
    from django.urls import reverse

    from consultations import services

    make(migrated_nurse)
    consultation = signed_consultation(by=clinician)
    record = client_as(migrated_nurse).get(reverse("consultations:detail", args=[consultation.pk])).content.decode()
    assert "Create treatment plan" not in record, case
    assert 'id="plan-blocked"' in record, case
    assert why in record, case

    plan = plan_for(consultation, by=clinician)
    services.plan_transition(plan=plan, to_status="active", by=clinician)
    page = client_as(migrated_nurse).get(reverse("consultations:plan-detail", args=[plan.pk])).content.decode()
    assert 'id="order-form"' not in page, case
    assert 'id="order-blocked"' in page, case
    assert why in page, case
    html = client_as(clinician).get(reverse("consultations:plan-detail", args=[plan.pk])).content.decode()
    assert 'id="order-form"' in html
    assert 'id="order-blocked"' not in html


@pytest.mark.parametrize(("case", "make", "why"), INCOMPLETE)
def test_an_incomplete_prescriber_is_not_offered_the_consultation_signature(client_as, migrated_nurse, case, make, why):
    from django.urls import reverse

    from consultations import services
    from consultations.tests.factories import ConsultationFactory, fill_clean_intake

    make(migrated_nurse)
    consultation = fill_clean_intake(ConsultationFactory(clinician=migrated_nurse), by=migrated_nurse)
    services.consultation_screen(consultation=consultation, by=migrated_nurse)
    url = reverse("consultations:detail", args=[consultation.pk])
    html = client_as(migrated_nurse).get(url).content.decode()
    assert "Sign and lock" not in html, case
    assert 'id="sign-blocked"' in html, case
    assert why in html, case
    # A forged POST is refused by the service with the same words, never a bare 403.
    response = client_as(migrated_nurse).post(url, {"action": "sign", "sign-decision": "eligible"}, follow=True)
    assert response.status_code == 200, case
    assert why in response.content.decode(), case
