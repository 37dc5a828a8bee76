"""Delivery is recorded, not assumed: the milligrams the pump delivered are computed from the
start, the flowsheet's rate changes, the pauses and the end, stored on the session when it
completes or stops, and never more than the bag held (the database refuses it too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from infusions import rules, services
from infusions.models import InfusionSession
from infusions.tests.factories import S, advance, nurse, open_session, set_policy

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
BAG = {"bag_mg": Decimal("40.0"), "bag_volume_ml": Decimal("100.00")}  # 0.4 mg/mL


def _minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


# --- The rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "end_min", "changes", "pauses", "volume", "mg"),
    [
        ("full rate for the planned 40 min runs the whole bag", 40, [], [], "100.00", "40.00"),
        ("running past the planned time cannot give more than the bag", 90, [], [], "100.00", "40.00"),
        ("rate halved at 20 min", 40, [(20, "75")], [], "75.00", "30.00"),
        ("rate raised at 10 min empties the bag early", 40, [(10, "200")], [], "100.00", "40.00"),
        ("paused 10 min and resumed", 40, [], [(10, 20)], "75.00", "30.00"),
        ("paused and never resumed before the stop", 40, [], [(20, None)], "50.00", "20.00"),
        ("rate 0 charted is a pause", 40, [(20, "0"), (30, "150")], [], "75.00", "30.00"),
        ("stopped early at 16 min", 16, [], [], "40.00", "16.00"),
        ("stopped at the start gives nothing", 0, [], [], "0.00", "0.00"),
        ("a rate change after the end never ran", 20, [(30, "300")], [], "50.00", "20.00"),
    ],
)
def test_delivery_from_rate_changes_pauses_and_the_end(case, end_min, changes, pauses, volume, mg):
    delivery = rules.delivered(
        started_at=T0,
        ended_at=_minutes(end_min),
        initial_rate_ml_per_h=Decimal("150.0"),
        rate_changes=[(_minutes(at), Decimal(rate)) for at, rate in changes],
        pauses=[(_minutes(p), None if r is None else _minutes(r)) for p, r in pauses],
        **BAG,
    )
    assert (delivery.volume_ml, delivery.mg) == (Decimal(volume), Decimal(mg)), case
    assert delivery.mg + delivery.left_mg == Decimal("40.00")


@pytest.mark.parametrize(
    ("case", "kwargs", "field"),
    [
        ("end before the start", {"ended_at": _minutes(-1)}, "ended_at"),
        ("naive time", {"started_at": datetime(2026, 3, 2, 14, 0)}, "started_at"),  # noqa: DTZ001
        ("negative rate", {"initial_rate_ml_per_h": Decimal("-1")}, "initial_rate_ml_per_h"),
        ("float rate", {"initial_rate_ml_per_h": 150.0}, "initial_rate_ml_per_h"),
        ("empty bag volume", {"bag_volume_ml": Decimal("0")}, "bag_volume_ml"),
        ("rate change before the start", {"rate_changes": [(_minutes(-5), Decimal("10"))]}, "rate_changes"),
        ("pause ending before it began", {"pauses": [(_minutes(10), _minutes(5))]}, "pauses"),
    ],
)
def test_impossible_delivery_inputs_are_refused_naming_the_input(case, kwargs, field):
    args = {
        "started_at": T0,
        "ended_at": _minutes(40),
        "initial_rate_ml_per_h": Decimal("150.0"),
        "rate_changes": [],
        "pauses": [],
        **BAG,
        **kwargs,
    }
    with pytest.raises(rules.DeliveryError) as error:
        rules.delivered(**args)
    assert error.value.field == field, case


def test_the_bag_remainder_is_converted_at_the_bags_concentration():
    # 30 mL left of 40 mg in 100 mL is 12 mg (at 50 mg/mL, the vial's, it would read 1500 mg).
    assert rules.bag_mg_for_ml(volume_ml=Decimal("30.00"), **BAG) == Decimal("12.00")


# --- Through the services ----------------------------------------------------------------------


@pytest.fixture
def infusing(db):
    """Started at T0 on a verified 40 mg in 100 mL at 150 mL/h (80 kg × 0.5 mg/kg over 40 min)."""
    set_policy()
    rn, checker = nurse(), nurse()
    session = advance(open_session(by=rn), S.CLEARED, nurse_user=rn, verifier=checker)
    session = services.session_transition(session=session, to=S.INFUSING, by=rn, container_lot="LOT-1", at=T0)
    dose = session.started_dose
    assert (dose.dose_mg, dose.total_volume_ml, dose.rate_ml_per_h) == (
        Decimal("40.0"),
        Decimal("100.00"),
        Decimal("150.0"),
    )
    return session, rn


def _end(session, rn, minutes, to=S.COMPLETED):
    extra = {"planned_dose_delivered": True} if to == S.COMPLETED else {"reason_code": "other", "reason": "Asked"}
    return services.session_transition(session=session, to=to, by=rn, at=_minutes(minutes), **extra)


def _pause(session, rn, at, resume):
    services.session_transition(session=session, to=S.PAUSED, by=rn, at=_minutes(at), reason="Nausea")
    session = InfusionSession.objects.get(pk=session.pk)
    return services.session_transition(session=session, to=S.INFUSING, by=rn, at=_minutes(resume))


def test_full_rate_delivery_is_stored_when_the_infusion_completes(infusing):
    session, rn = infusing
    session = _end(session, rn, 40)
    assert (session.delivered_ml, session.delivered_mg) == (Decimal("100.00"), Decimal("40.00"))


def test_a_rate_change_mid_infusion_is_delivered_at_the_new_rate(infusing):
    session, rn = infusing
    services.rate_change_record(session=session, by=rn, rate_ml_per_h=Decimal("75.0"), reason="BP up", at=_minutes(20))
    session = _end(session, rn, 40, to=S.STOPPED_EARLY)  # the slower run has not run the bag
    assert session.delivered_mg == Decimal("30.00")  # 50 mL at 150 + 25 mL at 75, of 0.4 mg/mL


def test_a_pause_and_resume_delivers_nothing_while_paused(infusing):
    session, rn = infusing
    session = _pause(session, rn, 10, 20)
    session = _end(session, rn, 40, to=S.STOPPED_EARLY)  # the slower run has not run the bag
    assert session.delivered_mg == Decimal("30.00")


def test_a_stopped_early_infusion_delivers_up_to_the_stop(infusing):
    session, rn = infusing
    session = _end(session, rn, 16, to=S.STOPPED_EARLY)
    assert (session.delivered_ml, session.delivered_mg) == (Decimal("40.00"), Decimal("16.00"))


def test_a_rate_change_cannot_be_charted_before_the_start_or_in_the_future(infusing):
    session, rn = infusing
    for at in (_minutes(-1), timezone.now() + timedelta(minutes=5)):
        with pytest.raises(ValidationError) as error:
            services.rate_change_record(session=session, by=rn, rate_ml_per_h=Decimal("75.0"), reason="x", at=at)
        assert "at" in error.value.message_dict


def test_the_database_refuses_a_delivery_above_the_bag(infusing):
    session, rn = infusing
    session = _end(session, rn, 40)
    with pytest.raises(IntegrityError), transaction.atomic():
        InfusionSession.objects.filter(pk=session.pk).update(delivered_mg=Decimal("40.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        InfusionSession.objects.filter(pk=session.pk).update(delivered_mg=Decimal("-1"))


def test_the_session_page_shows_the_delivered_mg(infusing, client_as):
    session, rn = infusing
    services.rate_change_record(session=session, by=rn, rate_ml_per_h=Decimal("75.0"), reason="BP up", at=_minutes(20))
    session = _end(session, rn, 40, to=S.STOPPED_EARLY)  # the slower run has not run the bag
    body = client_as(rn).get(reverse("infusions:session", args=[session.pk])).content.decode()
    assert "Delivered <strong>30.00 mg</strong> (75.00 mL" in body


def test_infusion_complete_is_refused_before_the_recorded_delivery_has_run_the_planned_dose(infusing, client_as):
    session, rn = infusing
    with time_machine.travel(_minutes(1), tick=False):
        body = client_as(rn).get(reverse("infusions:session", args=[session.pk])).content.decode()
        assert "Infusion complete</button>" not in body
        assert "Stop early" in body
        assert "about 39 more min" in body
    with pytest.raises(ValidationError) as error:
        _end(session, rn, 1)
    assert "has not run the planned dose (about 39 min left): stop early instead" in str(error.value)
    # A slower rate from minute 20 leaves half the bag at minute 40: still not complete.
    services.rate_change_record(session=session, by=rn, rate_ml_per_h=Decimal("75.0"), reason="BP up", at=_minutes(20))
    with pytest.raises(ValidationError):
        _end(session, rn, 40)
    assert InfusionSession.objects.get(pk=session.pk).status == S.INFUSING
    session = _end(session, rn, 60)
    assert session.delivered_mg == Decimal("40.00")


def test_a_rate_rounded_to_the_pumps_step_completes_in_the_planned_minute():
    from infusions.rules import Delivery, Stretch, planned_dose_delivered

    def left(ml, rate="150.0"):
        stretch = Stretch(T0, T0 + timedelta(minutes=40), Decimal(rate))
        return Delivery(Decimal("99"), Decimal("39"), Decimal(ml), Decimal("0"), (stretch,), False)

    assert planned_dose_delivered(left("0.03")) is True  # the step's rounding, seconds of pump
    assert planned_dose_delivered(left("2.50")) is False  # a minute at 150 mL/h
    assert planned_dose_delivered(left("0.03", rate="0")) is False  # stopped: nothing more runs
