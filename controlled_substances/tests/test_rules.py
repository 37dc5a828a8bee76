"""The pure rules: units, rounding, DEA deadlines, significance, sign-check messages."""

from datetime import date
from decimal import Decimal

import pytest

from controlled_substances import rules


@pytest.mark.parametrize(
    ("volume", "mg_per_ml", "mg"),
    [
        ("1.00", "50", "50.00"),
        ("0.01", "100", "1.00"),
        ("2.35", "50", "117.50"),
        ("0.33", "10", "3.30"),
        ("1.005", "50", "50.50"),  # the volume rounds half-up first (1.01 mL), then mg
    ],
)
def test_mg_for_a_volume_rounds_half_up_to_a_hundredth(volume, mg_per_ml, mg):
    assert rules.mg_for_ml(rules.volume_ml(volume), Decimal(mg_per_ml)) == Decimal(mg)


@pytest.mark.parametrize(
    ("dose", "mg_per_ml", "ml"), [("35", "50", "0.70"), ("40.5", "100", "0.41"), ("12.5", "10", "1.25")]
)
def test_the_volume_drawn_for_a_dose_rounds_half_up_to_a_hundredth_ml(dose, mg_per_ml, ml):
    assert rules.ml_for_mg(Decimal(dose), Decimal(mg_per_ml)) == Decimal(ml)


@pytest.mark.parametrize("bad", ["-1", "0", "abc", "NaN", "Infinity", ""])
def test_it_refuses_volumes_that_cannot_be_recorded(bad):
    with pytest.raises(rules.QuantityError):
        rules.volume_ml(bad)


def test_zero_is_allowed_only_where_asked_for():
    assert rules.volume_ml("0", allow_zero=True) == Decimal("0.00")


@pytest.mark.parametrize(
    ("discovered", "due"),
    [
        (date(2026, 11, 23), date(2026, 11, 24)),  # Monday → Tuesday
        (date(2026, 11, 27), date(2026, 11, 30)),  # Friday → Monday
        (date(2026, 11, 28), date(2026, 11, 30)),  # Saturday → Monday
        (date(2026, 11, 29), date(2026, 11, 30)),  # Sunday → Monday
    ],
)
def test_written_notice_is_due_within_one_business_day_of_discovery(discovered, due):
    assert rules.next_business_day(discovered) == due


def test_form_106_is_due_45_days_after_discovery():
    assert rules.form_106_due(date(2026, 1, 1)) == date(2026, 2, 15)


@pytest.mark.parametrize(
    ("discrepancy", "threshold", "significant"),
    [("-10.00", "10", True), ("-9.99", "10", False), ("-50", "10", True), ("25", "10", False), ("0", "10", False)],
)
def test_a_shortfall_at_or_above_the_clinic_threshold_is_significant(discrepancy, threshold, significant):
    assert rules.is_significant(Decimal(discrepancy), Decimal(threshold)) is significant


def test_an_open_draw_is_reported_in_mg():
    problems = rules.unaccounted_problems([(Decimal("12.50"), False), (Decimal("100.00"), True)])
    assert problems == ["12.5 mg drawn for this session is not accounted for (record the waste, 0 mL if none was left)"]


def test_a_session_without_a_draw_cannot_be_signed_and_closed_draws_pass():
    assert rules.unaccounted_problems([]) != []
    assert rules.unaccounted_problems([(Decimal("35"), True)]) == []


def test_fixed_directions():
    assert rules.signed_delta(rules.Kind.RECEIPT, Decimal("10")) == Decimal("10")
    assert rules.signed_delta(rules.Kind.ADMINISTRATION, Decimal("1")) == Decimal("-1")
    assert rules.signed_delta(rules.Kind.WASTE, Decimal("1"), of_draw=True) == 0
    with pytest.raises(ValueError, match="own sign"):
        rules.signed_delta(rules.Kind.ADJUSTMENT, Decimal("1"))


K = rules.Kind


@pytest.mark.parametrize(
    ("kind", "moved", "wastes", "signed", "resolves", "refused_with"),
    [
        (K.ADMINISTRATION, True, 0, False, False, None),
        (K.ADMINISTRATION, True, 1, False, False, "waste that closes this draw"),
        (K.ADMINISTRATION, True, 0, True, False, "signed"),
        (K.WASTE, False, 0, False, False, None),  # the unused part of a draw: reopens the draw
        (K.WASTE, False, 0, True, False, "signed"),
        (K.WASTE, True, 0, False, False, "does not come back into stock"),
        (K.ADJUSTMENT, True, 0, False, False, None),
        (K.ADJUSTMENT, True, 0, False, True, "resolved a count"),
        (K.DESTRUCTION, True, 0, False, False, "Form 41"),
        (K.LOSS_THEFT, True, 0, False, False, "theft or loss report"),
        (K.TRANSFER, True, 0, False, False, "transfer the drug back"),
        (K.RECEIPT, True, 0, False, False, "invoice"),
        (K.COUNT, False, 0, False, False, "what was seen"),
        (K.REVERSAL, True, 0, False, False, "not reversed"),
    ],
)
def test_what_a_reversal_may_undo_per_kind(kind, moved, wastes, signed, resolves, refused_with):
    refusal = rules.reversal_refusal(
        kind=kind, moved_balance=moved, standing_wastes=wastes, session_signed=signed, resolves_count=resolves
    )
    if refused_with is None:
        assert refusal is None
    else:
        assert refused_with in refusal


@pytest.mark.parametrize(
    ("last", "first_activity", "due"),
    [
        (None, None, None),  # nothing received, no inventory: nothing due yet
        (None, date(2026, 3, 2), date(2026, 3, 2)),  # the initial inventory: the first day of activity
        (date(2026, 3, 2), date(2026, 3, 2), date(2028, 3, 2)),  # then two years after the previous
        (date(2024, 2, 29), date(2020, 1, 1), date(2026, 2, 28)),  # leap day: a day early, never late
    ],
)
def test_the_next_inventory_is_due_two_years_after_the_previous(last, first_activity, due):
    assert rules.biennial_inventory_due(last_inventory_on=last, first_activity_on=first_activity) == due


TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(
    ("number", "expires", "due", "taken", "expected"),
    [
        ("FA1234563", date(2028, 1, 1), date(2027, 6, 1), True, []),
        ("FA1234563", date(2028, 1, 1), date(2027, 2, 4), True, ["the biennial inventory is due on 2027-02-04"]),
        ("FA1234563", date(2028, 1, 1), date(2027, 2, 5), True, []),  # 61 days ahead: not yet
        ("FA1234563", date(2028, 1, 1), date(2026, 12, 5), True, ["the biennial inventory was due on 2026-12-05"]),
        ("FA1234563", date(2028, 1, 1), date(2026, 12, 1), False, ["the initial inventory was due on 2026-12-01"]),
        ("FA1234563", date(2027, 1, 31), None, False, ["the DEA registration expires on 2027-01-31: renew it"]),
        ("FA1234563", date(2026, 12, 5), None, False, ["the DEA registration expired on 2026-12-05"]),
        ("", None, None, False, ["enter the DEA registration number and its expiry"]),
    ],
)
def test_what_the_administrator_is_reminded_of_per_registration(number, expires, due, taken, expected):
    reminders = rules.registration_reminders(
        dea_number=number, expires_on=expires, inventory_due_on=due, inventory_taken=taken, today=TODAY
    )
    assert reminders == expected
