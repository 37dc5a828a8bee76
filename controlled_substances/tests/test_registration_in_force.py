"""A location's own DEA registration (not a prescriber's personal one) must be on file and in
force for ketamine to be received, drawn or transferred there [S108]; each refusal says why
and writes nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from controlled_substances import services
from controlled_substances.models import Container, LedgerEntry, Registration
from controlled_substances.tests.factories import PASSWORD, ProductFactory, manager, receive, registration
from infusions.tests.factories import S, advance, nurse, open_session
from scheduling.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now


def _lapse(reg: Registration) -> None:
    Registration.objects.filter(pk=reg.pk).update(expires_on=timezone.localdate() - timedelta(days=1))
    reg.refresh_from_db()


@pytest.fixture
def cleared_with_vial():
    """A cleared session with a verified 40 mg dose and a 10 mg/mL vial at its location."""
    rn, verifier = nurse(username="rn.draws"), nurse(username="rn.verifies", password=PASSWORD)
    site = registration()
    product = ProductFactory(
        ndc="0143-9508-10", concentration_mg_per_ml=Decimal("10.000"), container_volume_ml=Decimal("20.00")
    )
    vial = receive(product=product, lot_number="K10A", at=site)[0]
    session = advance(open_session(by=rn, location=site.location), S.CLEARED, nurse_user=rn, verifier=verifier)
    return session, vial, rn, site


def _draw(session, vial, by):
    return services.session_draw_record(session=session, container=vial, volume_ml="4.00", by=by, at=NOW())


def test_a_draw_under_an_expired_location_registration_is_refused_and_writes_nothing(cleared_with_vial):
    session, vial, rn, site = cleared_with_vial
    _lapse(site)
    with pytest.raises(services.LedgerError, match=r"expired on .*no ketamine may be received, drawn or transferred"):
        _draw(session, vial, rn)
    assert not LedgerEntry.objects.filter(session=session).exists()


def test_a_draw_where_the_location_has_no_registration_on_file_is_refused(cleared_with_vial):
    session, vial, rn, site = cleared_with_vial
    # The session's chair moves to a site with no registration at all.
    elsewhere = LocationFactory(time_zone="UTC")
    session.appointment.location = elsewhere
    session.appointment.save(update_fields=["location"])
    with pytest.raises(services.LedgerError, match="has no DEA registration on file"):
        _draw(session, vial, rn)
    assert not LedgerEntry.objects.filter(session=session).exists()


def test_a_draw_under_a_registration_in_force_is_recorded(cleared_with_vial):
    session, vial, rn, _site = cleared_with_vial
    assert _draw(session, vial, rn).quantity_mg == Decimal("40.00")


def test_a_receipt_under_an_expired_registration_is_refused():
    site = registration(dea_number="FC1111119")
    _lapse(site)
    with pytest.raises(services.LedgerError, match="expired on"):
        receive(at=site)
    assert not Container.objects.exists()


@pytest.mark.parametrize("lapsed_side", ["source", "destination"])
def test_a_transfer_with_either_registration_expired_is_refused_and_writes_nothing(lapsed_side):
    here, there = registration(), registration(dea_number="FB7654324")
    vial = receive(at=here)[0]
    _lapse(here if lapsed_side == "source" else there)
    with pytest.raises(services.LedgerError, match="expired on"):
        services.transfer_between_registrations(container=vial, to=there, by=manager(), at=NOW())
    assert LedgerEntry.objects.filter(kind="transfer").count() == 0


def test_a_transfer_to_another_registrant_from_an_expired_registration_is_refused():
    here = registration()
    vial = receive(at=here)[0]
    _lapse(here)
    with pytest.raises(services.LedgerError, match="expired on"):
        services.transfer_record(
            container=vial,
            volume_ml="1.00",
            counterparty_name="Other clinic",
            counterparty_dea_number="FB7654324",
            by=manager(),
            at=NOW(),
        )
    assert LedgerEntry.objects.filter(kind="transfer").count() == 0
