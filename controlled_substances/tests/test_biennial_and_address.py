"""The biennial inventory comes due per registration and the administrator's home says so;
the dispensing record carries the patient's address or flags it missing."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from controlled_substances import reports, selectors, services
from controlled_substances.tests.factories import container, manager, nurse, registration
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _inventory(reg, type_, at):
    return services.count_record(
        registration=reg,
        type=type_,
        business_time="opening",
        counted_at=at,
        by=manager(),
        lines=[(c, c.remaining_ml, "exact") for c in selectors.containers_on_hand(registration=reg)],
    )


def test_the_biennial_inventory_is_due_two_years_after_the_previous_per_registration():
    zone = timezone.get_current_timezone()
    start = datetime(2025, 3, 2, 9, 0, tzinfo=zone)
    with time_machine.travel(start, tick=False):
        far = start.date().replace(year=2030)
        here, there = registration(expires_on=far), registration(dea_number="FB7654324", expires_on=far)
        container(at=here)
        _inventory(here, "initial", timezone.now())
        _inventory(here, "periodic", timezone.now() + timedelta(days=100))  # a periodic count does not reset it
        statuses = {s.registration.pk: s for s in selectors.registration_statuses(today=timezone.localdate())}
    assert statuses[here.pk].inventory_due_on == start.date().replace(year=2027)
    assert statuses[there.pk].inventory_due_on is None  # no stock yet, no inventory
    with time_machine.travel(datetime(2027, 1, 15, 9, 0, tzinfo=zone), tick=False):
        statuses = {s.registration.pk: s for s in selectors.registration_statuses(today=timezone.localdate())}
        assert statuses[here.pk].reminders == ["the biennial inventory is due on 2027-03-02"]
        _inventory(here, "biennial", timezone.now())
        statuses = {s.registration.pk: s for s in selectors.registration_statuses(today=timezone.localdate())}
    assert statuses[here.pk].inventory_due_on.isoformat() == "2029-01-15"
    assert statuses[here.pk].reminders == []


def test_the_administrators_home_reminds_of_an_inventory_coming_due(client_as, admin, django_assert_max_num_queries):
    zone = timezone.get_current_timezone()
    with time_machine.travel(datetime(2025, 3, 2, 9, 0, tzinfo=zone), tick=False):
        here = registration(expires_on=datetime(2030, 1, 1).date())
        container(at=here)
        _inventory(here, "initial", timezone.now())
        for n in range(3):  # more registrations do not add queries
            registration(dea_number=f"FB765432{n}", expires_on=datetime(2030, 1, 1).date())
    with time_machine.travel(datetime(2027, 2, 1, 9, 0, tzinfo=zone), tick=False):
        client = client_as(admin)
        client.get(reverse("home"))  # warm the figures cache
        with django_assert_max_num_queries(12):
            page = client.get(reverse("home")).content.decode()
    assert "the biennial inventory is due on 2027-03-02" in page
    assert here.location.name in page


def test_the_dispensing_record_shows_the_address_or_flags_it_missing():
    reg = registration()
    vial = container(at=reg)
    housed = PatientFactory(
        address_line1="12 Elm St", city="Albany", state="NY", postal_code="12207", legal_last_name="Housed"
    )
    partial = PatientFactory(address_line1="3 Oak Ave", city="", state="NY", postal_code="", legal_last_name="Partial")
    unknown = PatientFactory(address_line1="", city="", state="", postal_code="", legal_last_name="Unknown")
    for p in (housed, partial, unknown):
        services.administration_record(container=vial, volume_ml="1", patient=p, by=nurse(), at=timezone.now())
    today = timezone.localdate()
    table = reports.dispensing(registration=reg, start=today, end=today)
    addresses = {row[1].split(",")[0]: row[2] for row in table.rows}  # "Last, First"
    assert addresses["Housed"] == "12 Elm St, Albany, NY, 12207"
    assert addresses["Partial"] == "3 Oak Ave, NY (MISSING: city, ZIP)"
    assert addresses["Unknown"].startswith("MISSING: no address on file")
    assert "2 row(s) lack the patient's full address" in table.note
    assert Decimal(table.rows[0][5]) == Decimal("1.00")
