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
