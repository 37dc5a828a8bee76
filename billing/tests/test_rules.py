"""Fee and unit tables: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing import rules
from billing.money import Money, pro_rata, to_cents


# CPT: 96365 for more than 15 minutes up to the first hour; one 96366 for each further hour and
# for a final interval of more than 30 minutes; 15 minutes or less is a push (96374).
@pytest.mark.parametrize(
    ("minutes", "push", "first", "additional"),
    [
        (0, 0, 0, 0),
        (10, 1, 0, 0),
        (15, 1, 0, 0),
        (16, 0, 1, 0),
        (31, 0, 1, 0),
        (40, 0, 1, 0),
        (60, 0, 1, 0),
        (61, 0, 1, 0),
        (90, 0, 1, 0),
        (91, 0, 1, 1),
        (120, 0, 1, 1),
        (150, 0, 1, 1),
        (151, 0, 1, 2),
        (211, 0, 1, 3),
    ],
)
def test_infusion_minutes_bill_these_units(minutes, push, first, additional):
    assert rules.infusion_units(minutes) == rules.InfusionUnits(
        push=push, first_hour=first, additional_hours=additional
    )


def test_the_thresholds_are_the_clinics_to_set():
    assert rules.infusion_units(20, push_max_minutes=20).push == 1
    assert rules.infusion_units(80, additional_over_minutes=15).additional_hours == 1


def test_infused_minutes_counts_whole_minutes_from_start_to_stop():
    start = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert rules.infused_minutes(start, start + timedelta(minutes=40, seconds=59)) == 40
    assert rules.infused_minutes(start, None) == 0
    assert rules.infused_minutes(None, start) == 0


def _at(minute: float | None) -> datetime | None:
    return None if minute is None else datetime(2026, 3, 2, 14, 0, tzinfo=UTC) + timedelta(minutes=minute)


# Infusion time is the time the drug ran: start to stop less every pause (minutes after the start).
@pytest.mark.parametrize(
    ("case", "stop", "held", "minutes", "additional"),
    [
        ("no pause", 100, [], 100, 1),
        ("a 15-minute pause takes it under 91", 100, [(30, 45)], 85, 0),
        ("two pauses add up", 100, [(10, 15), (50, 55)], 90, 0),
        ("overlapping holds count once", 100, [(30, 40), (35, 45)], 85, 0),
        ("a pause still open at the stop runs to the stop", 100, [(95, None)], 95, 1),
        ("a pause before the start or after the stop counts only inside", 100, [(-10, 5), (98, 120)], 93, 1),
        ("a long run with a pause keeps its second additional hour", 170, [(60, 70)], 160, 2),
        ("a pause takes a long run down a unit", 160, [(60, 70)], 150, 1),
    ],
)
def test_pauses_are_not_infusion_time(case, stop, held, minutes, additional):
    infused = rules.infused_minutes(_at(0), _at(stop), [(_at(a), _at(b)) for a, b in held])
    assert infused == minutes, case
    assert rules.infusion_units(infused).additional_hours == additional, case


def test_an_infusion_paused_down_to_15_minutes_bills_a_push():
    assert rules.infusion_units(rules.infused_minutes(_at(0), _at(40), [(_at(10), _at(35))])).push == 1


@pytest.mark.parametrize(("hours_before", "late"), [(25, False), (24, False), (23, True), (0.5, True)])
def test_a_cancellation_inside_the_window_is_late(hours_before, late):
    start = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    at = start - timedelta(hours=hours_before)
    assert rules.is_late_cancellation(start=start, cancelled_at=at, window_hours=24) is late
    assert rules.is_late_cancellation(start=start, cancelled_at=at, window_hours=0) is False


@pytest.mark.parametrize(
    ("days", "band"),
    [(0, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"), (90, "61-90"), (91, "90+")],
)
def test_ageing_bands(days, band):
    today = date(2026, 6, 30)
    assert rules.ageing_band(issued=today - timedelta(days=days), today=today) == band


def test_allocation_is_refused_when_negative_or_over():
    ok = {"unallocated": Decimal("50"), "outstanding": Decimal("40")}
    assert rules.allocation_refusal(amount=Decimal("40"), **ok) == ""
    assert "greater than zero" in rules.allocation_refusal(amount=Decimal("-1"), **ok)
    assert "40.00 outstanding" in rules.allocation_refusal(amount=Decimal("40.01"), **ok)
    assert "left to allocate" in rules.allocation_refusal(
        amount=Decimal("45"), unallocated=Decimal("44"), outstanding=Decimal("100")
    )


@pytest.mark.parametrize(
    ("text", "card"), [("4111 1111 1111 1111", True), ("4111-1111-1111-1111", True), ("000123", False), ("", False)]
)
def test_card_numbers_are_recognised(text, card):
    assert rules.looks_like_card_number(text) is card


def test_money_rounds_half_up_to_the_cent_and_never_mixes_currencies():
    assert Money(Decimal("10.005")).amount == Decimal("10.01")
    assert Money(Decimal("10.004")).amount == Decimal("10.00")
    assert str(Money(Decimal("1234.5"))) == "$1,234.50"
    assert str(Money(Decimal("-3"), "EUR")) == "-€3.00"
    assert str(Money(Decimal("3"), "CHF")) == "3.00 CHF"
    with pytest.raises(TypeError):
        Money(Decimal(1)) + Money(Decimal(1), "EUR")
    with pytest.raises(ValueError, match="not an amount"):
        to_cents("NaN")
    with pytest.raises(ValueError, match="currency"):
        Money(Decimal(1), "usd")


def test_a_split_adds_up_to_the_whole():
    parts = Money(Decimal("100.00")).split([1, 1, 1])
    assert [p.amount for p in parts] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert sum((p.amount for p in parts), Decimal(0)) == Decimal("100.00")


def test_pro_rata_never_exceeds_its_share():
    assert pro_rata(Decimal("1000.00"), part=2, whole=6) == Decimal("333.33")
    assert pro_rata(Decimal("1000.00"), part=6, whole=6) == Decimal("1000.00")
