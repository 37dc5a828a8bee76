"""A rate above the standing order's ceiling is a prescriber's decision: a nurse is refused
with the ceiling in mL/h; at the ceiling she may; a prescriber may go above with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.prescribing import PrescriberRequired
from infusions import rules, services
from infusions.tests.factories import advance, open_session
from prescribers.tests.factories import register

S = rules.SessionStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def infusing(policy, nurse_user, verifier):
    return advance(open_session(by=nurse_user), S.INFUSING, nurse_user=nurse_user, verifier=verifier)


def test_the_ceiling_is_the_orders_rate_for_this_bag(infusing):
    dose = infusing.dose_calculations.get(superseded_at__isnull=True)
    # 0.5 mg/kg over 40 min orders 0.75 mg/kg/h; 80 kg at the bag's concentration is the pump's rate.
    ceiling = rules.rate_ceiling_ml_per_h(
        max_rate_mg_per_kg_per_h=Decimal("0.75"), weight_kg=dose.weight_kg, final_mg_per_ml=dose.final_mg_per_ml
    )
    assert ceiling == dose.rate_ml_per_h


def test_a_nurse_cannot_go_above_the_orders_ceiling(infusing, nurse_user):
    dose = infusing.dose_calculations.get(superseded_at__isnull=True)
    services.rate_change_record(session=infusing, by=nurse_user, rate_ml_per_h=dose.rate_ml_per_h, reason="Back up")
    with pytest.raises(PrescriberRequired, match=f"ceiling \\({dose.rate_ml_per_h} mL/h"):
        services.rate_change_record(
            session=infusing, by=nurse_user, rate_ml_per_h=dose.rate_ml_per_h + Decimal("10"), reason="Faster"
        )


def test_a_prescriber_may_go_above_the_ceiling_with_a_reason(infusing, clinician):
    register(clinician.prescriber_profile, infusing.appointment.location)
    dose = infusing.dose_calculations.get(superseded_at__isnull=True)
    row = services.rate_change_record(
        session=infusing,
        by=clinician,
        rate_ml_per_h=dose.rate_ml_per_h + Decimal("10"),
        reason="Catch up after pause",
        order_text="Run at +10 mL/h for the rest of the bag",
    )
    assert row.by == clinician
    assert row.above_calculated
    assert row.ordered_by == clinician


@pytest.mark.parametrize(
    ("rate", "weight", "concentration", "ceiling"),
    [
        (Decimal("0.75"), Decimal("80.0"), Decimal("0.400"), Decimal("150.0")),
        (Decimal("0.75"), Decimal("63.3"), Decimal("0.350"), Decimal("135.6")),  # 135.642… rounded down
        (Decimal("0.5"), Decimal("70.0"), Decimal("1.000"), Decimal("35.0")),
    ],
)
def test_rate_ceiling_table(rate, weight, concentration, ceiling):
    assert (
        rules.rate_ceiling_ml_per_h(max_rate_mg_per_kg_per_h=rate, weight_kg=weight, final_mg_per_ml=concentration)
        == ceiling
    )
