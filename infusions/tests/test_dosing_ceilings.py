"""Rate and duration ceilings (ASRA 0.5–2 mg/kg/h [S11], protocol durations, a minimum
infusion volume), each a bounded clinic policy: checked when the dose is calculated and
when the rate changes on the flowsheet; a rate above the calculated one needs a
prescriber's documented order."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.prescribing import PrescriberRequired
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from infusions import rules, services
from infusions.models import InfusionPolicy, RateChange
from infusions.tests.factories import PHQ9_CLEAR, S, advance, clean_precheck, nurse, open_session, set_policy
from prescribers.tests.factories import credentialed, register

PUMP = rules.PumpLimits(Decimal("0.1"), Decimal("999.9"), Decimal("1000"))


def _calc(**overrides):
    values = {
        "weight_kg": Decimal("80"),
        "mg_per_kg": Decimal("0.5"),
        "max_mg": Decimal("100"),
        "protocol_max_mg_per_kg": Decimal("0.75"),
        "vial_mg_per_ml": Decimal("10"),
        "diluent_ml": Decimal("36"),
        "duration_min": 40,
        "pump_limits": PUMP,
        "limits": rules.DEFAULT_DOSING_LIMITS,
        **overrides,
    }
    return rules.calculate_dose(**values)


@pytest.mark.parametrize(
    ("case", "overrides", "field", "message"),
    [
        (
            "the issue's 1-minute infusion",
            {"duration_min": 1},
            "duration_min",
            "outside the clinic's infusion duration",
        ),
        ("longer than the maximum", {"duration_min": 300}, "duration_min", "40–240 min"),
        (
            "50 mg/mL undiluted, 0.8 mL in total",
            {"vial_mg_per_ml": Decimal("50"), "diluent_ml": Decimal("0")},
            "diluent_ml",
            "below the clinic's minimum infusion volume 20 mL",
        ),
        (
            "a rate over the ceiling (0.75 mg/kg over 20 min = 2.25 mg/kg/h)",
            {"mg_per_kg": Decimal("0.75"), "duration_min": 20, "limits": rules.DosingLimits(min_duration_min=10)},
            "mg_per_kg_per_h",
            "above the clinic's ceiling 2 mg/kg/h",
        ),
    ],
)
def test_a_calculation_outside_the_ceilings_is_refused_naming_the_field(case, overrides, field, message):
    with pytest.raises(rules.DoseError) as refused:
        _calc(**overrides)
    assert refused.value.field == field
    assert message in refused.value.message


def test_the_worked_example_stays_within_the_ceilings():
    calc = _calc()
    assert (calc.dose_mg, calc.total_volume_ml, calc.rate_ml_per_h) == (
        Decimal("40.0"),
        Decimal("40.00"),
        Decimal("60.0"),
    )
    assert any(step.startswith("Ceilings:") for step in calc.steps)


@pytest.mark.parametrize(
    ("case", "field", "value"),
    [
        ("rate ceiling above ASRA's 2 mg/kg/h", "max_rate_mg_per_kg_per_h", Decimal("7")),
        ("rate ceiling below 0.5", "max_rate_mg_per_kg_per_h", Decimal("0.4")),
        ("a 1-minute shortest infusion", "min_infusion_minutes", 1),
        ("a 24-hour longest infusion", "max_infusion_minutes", 1440),
        ("a 1 mL smallest volume", "min_total_volume_ml", Decimal("1")),
    ],
)
@pytest.mark.django_db
def test_the_ceilings_are_bounded_by_validators_and_the_database(case, field, value):
    policy = set_policy()
    setattr(policy, field, value)
    with pytest.raises(ValidationError) as refused:
        policy.full_clean()
    assert field in refused.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        InfusionPolicy.objects.filter(pk=1).update(**{field: value})


@pytest.mark.django_db
def test_the_calculation_service_applies_the_clinics_ceilings():
    rn, verifier = nurse(username="rn.ceil"), nurse(username="rn.ceil.v")
    set_policy(min_total_volume_ml=Decimal("150"))
    session = advance(open_session(by=rn), S.PRE_CHECK, nurse_user=rn, verifier=verifier)
    services.instrument_record(session=session, by=rn, code="phq9", answers=PHQ9_CLEAR)
    services.precheck_record(session=session, by=rn, data=clean_precheck())
    with pytest.raises(ValidationError) as refused:
        services.dose_calculate(session=session, by=rn, vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("96"))
    assert "minimum infusion volume 150.0 mL" in refused.value.message_dict["diluent_ml"][0]


# --- The flowsheet's rate change -----------------------------------------------------------


def _prescriber(session):
    """A physician with a current licence and a DEA registration where the infusion is given."""
    user = UserFactory(username="md.orders", role=Role.PRESCRIBER, credentials="MD")
    register(credentialed(user), session.appointment.location)
    return user


@pytest.fixture
def infusing(db):
    rn, verifier = nurse(username="rn.rate"), nurse(username="rn.rate.v")
    set_policy()
    session = advance(open_session(by=rn), S.INFUSING, nurse_user=rn, verifier=verifier)
    return session, rn  # 40 mg in 100 mL over 40 min: 150 mL/h = 0.75 mg/kg/h at 0.4 mg/mL


@pytest.mark.parametrize(
    ("case", "rate", "who", "order", "error_field", "message"),
    [
        ("slower than calculated", "100.0", "nurse", "", None, None),
        ("the calculated rate", "150.0", "nurse", "", None, None),
        ("faster, by a nurse", "200.0", "nurse", "", "__all__", "needs a prescriber"),
        ("faster, prescriber without the order", "200.0", "prescriber", "", "order_text", "Write the order"),
        ("faster, prescriber with the order", "200.0", "prescriber", "Dr Chen: 200 mL/h", None, None),
        (
            "above the mg/kg/h ceiling even on order (450 mL/h = 2.25)",
            "450.0",
            "prescriber",
            "x",
            "rate_ml_per_h",
            "2 mg/kg/h",
        ),
        ("the issue's 999.9 mL/h", "999.9", "prescriber", "x", "rate_ml_per_h", "above the clinic's ceiling"),
    ],
)
def test_a_rate_change_is_bounded_by_the_ceiling_and_the_calculated_rate(
    case, rate, who, order, error_field, message, infusing
):
    session, _ = infusing
    by = nurse(username="rn.no.order") if who == "nurse" else _prescriber(session)
    call = {"session": session, "by": by, "rate_ml_per_h": Decimal(rate), "reason": "per protocol", "order_text": order}
    if error_field is None:
        row = services.rate_change_record(**call)
        assert row.above_calculated == (Decimal(rate) > Decimal("150.0"))
        assert row.ordered_by == (by if row.above_calculated else None)
        return
    if error_field == "__all__":  # not a prescriber: refused as a permission, before any field
        with pytest.raises(PrescriberRequired, match=message):
            services.rate_change_record(**call)
    else:
        with pytest.raises(ValidationError) as refused:
            services.rate_change_record(**call)
        assert message in refused.value.message_dict[error_field][0]
    assert not RateChange.objects.filter(session=session).exists()


@pytest.mark.django_db
def test_the_database_refuses_a_rate_above_the_calculated_one_without_an_order(infusing):
    session, rn = infusing
    with pytest.raises(IntegrityError), transaction.atomic():
        RateChange.objects.create(
            session=session,
            at=session.started_at,
            rate_ml_per_h=Decimal("200"),
            reason="x",
            by=rn,
            above_calculated=True,
        )
