"""At the chair, a dose above the protocol's usual range stands only on a prescriber's override
recorded on the order; without one the nurse is told it needs a prescriber and can request one."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from consultations import selectors as plan_selectors
from consultations import services as consultation_services
from consultations.models import Protocol
from infusions import services
from infusions.selectors import board

pytestmark = pytest.mark.django_db


def _calculate(session, by):
    return services.dose_calculate(session=session, by=by, vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("96"))


def test_an_overridden_order_above_the_usual_range_is_calculated_at_its_dose(prechecked, nurse_user, clinician):
    consultation_services.order_sign(
        plan=prechecked.plan,
        by=clinician,
        reason="Partial response at 0.5 mg/kg",
        changes={
            "dose": Decimal("0.75"),
            "max_dose_mg": Decimal("60"),
            "max_rate_mg_per_kg_per_h": Decimal("1.125"),
            "dose_override_reason": "Partial response; tolerated well",
        },
    )
    calc = _calculate(prechecked, nurse_user)
    assert calc.dose_mg == Decimal("60.0")  # 0.75 mg/kg x 80 kg, above the protocol's 0.5 mg/kg


def test_an_order_above_a_narrowed_range_needs_a_prescriber_and_the_nurse_can_request_one(
    client_as, prechecked, nurse_user, clinician
):
    # The administrator narrowed the protocol after the order was signed at 0.5 mg/kg.
    Protocol.objects.filter(pk=prechecked.plan.protocol_id).update(dose_min=Decimal("0.4"), dose_max=Decimal("0.4"))
    with pytest.raises(ValidationError, match="needs a prescriber"):
        _calculate(prechecked, nurse_user)
    page = client_as(nurse_user).get(reverse("infusions:session", args=[prechecked.pk]))
    assert b'id="dose-needs-prescriber"' in page.content
    assert b"Request a prescriber" in page.content

    services.prescriber_request(session=prechecked, by=nurse_user)
    assert [s.pk for s in board.prescriber_requests()] == [prechecked.pk]

    v2 = consultation_services.order_sign(
        plan=prechecked.plan,
        by=clinician,
        reason="Keep 0.5 mg/kg after the protocol change",
        changes={"dose_override_reason": "Responding at 0.5 mg/kg; keep it"},
    )
    assert plan_selectors.current_order(prechecked.plan) == v2
    assert board.prescriber_requests() == []  # answered by the new version
    assert _calculate(prechecked, nurse_user).dose_mg == Decimal("40.0")


def test_a_request_with_nothing_needing_a_prescriber_is_refused(prechecked, nurse_user):
    with pytest.raises(ValidationError, match="Only a pre-check that needs a prescriber"):
        services.prescriber_request(session=prechecked, by=nurse_user)


def test_a_prescriber_who_cannot_sign_an_order_is_shown_the_request_not_the_order(client_as, prechecked, clinician):
    """A user in the prescriber role with an expired licence meets an order above the range as
    a nurse does: "Needs a prescriber" with the reason, and Request a prescriber; a current
    prescriber is sent to the standing order instead."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.roles import Role
    from accounts.tests.factories import UserFactory
    from prescribers.tests.factories import credentialed

    Protocol.objects.filter(pk=prechecked.plan.protocol_id).update(dose_min=Decimal("0.4"), dose_max=Decimal("0.4"))
    lapsed = UserFactory(username="dr.lapsed", role=Role.PRESCRIBER, credentials="MD")
    credentialed(lapsed, licence_expires=timezone.localdate() - timedelta(days=1))
    url = reverse("infusions:session", args=[prechecked.pk])
    html = client_as(lapsed).get(url).content.decode()
    assert 'id="dose-needs-prescriber"' in html
    assert 'id="order-blocked"' in html
    assert "expired on" in html
    assert "Request a prescriber" in html
    assert "Open the standing order" not in html
    html = client_as(clinician).get(url).content.decode()
    assert "Open the standing order" in html
    assert 'id="order-blocked"' not in html
