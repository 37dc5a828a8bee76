"""A monitoring clinician watches several chairs, up to the site's capacity (clinic policy)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.tests.conftest import at, book, local_day
from scheduling.tests.factories import ResourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def four_chairs(clinic):
    clinic.chairs.append(ResourceFactory(location=clinic.site, kind="chair", name="Chair 4"))
    clinic.chairs.append(ResourceFactory(location=clinic.site, kind="chair", name="Chair 5"))
    return clinic


def test_a_monitoring_clinician_cannot_exceed_the_sites_capacity(four_chairs, frontdesk):
    clinic = four_chairs
    start = at(local_day(2), 9)
    for _ in range(4):  # capacity 4 by default
        book(clinic, PatientFactory(), frontdesk, start=start, kind="infusion")
    with pytest.raises(services.SlotTaken, match="more than 4 chairs") as caught:
        book(clinic, PatientFactory(), frontdesk, start=start + timedelta(minutes=30), kind="infusion")
    assert "clinician" in caught.value.message_dict
    # Once the first group has gone home, the nurse can take new chairs.
    book(clinic, PatientFactory(), frontdesk, start=start + timedelta(minutes=100), kind="infusion")


def test_capacity_is_the_sites_policy_and_can_be_changed(four_chairs, frontdesk):
    clinic = four_chairs
    clinic.site.monitoring_capacity = 1
    clinic.site.save(update_fields=["monitoring_capacity"])
    start = at(local_day(2), 9)
    book(clinic, PatientFactory(), frontdesk, start=start, kind="infusion")
    with pytest.raises(services.SlotTaken, match="more than 1 chairs"):
        book(clinic, PatientFactory(), frontdesk, start=start, kind="infusion")


def test_a_clinician_monitoring_infusions_cannot_also_do_an_intake(clinic, frontdesk):
    start = at(local_day(2), 9)
    book(clinic, PatientFactory(), frontdesk, start=start, kind="infusion", clinician=clinic.doctor)
    with pytest.raises(services.SlotTaken, match="monitoring infusions"):
        book(clinic, PatientFactory(), frontdesk, start=start + timedelta(minutes=30), clinician=clinic.doctor)
