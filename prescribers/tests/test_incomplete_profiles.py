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
