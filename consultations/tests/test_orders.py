"""The standing order: signed by a prescriber when the plan is activated, changed only as a
new signed version with a reason, each version immutable in the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from accounts.models import AuditEvent
from consultations import selectors, services
from consultations.lifecycle import ordered_rate_mg_per_kg_per_h, start_order_problems
from consultations.models import StandingOrder
from consultations.tests.factories import plan_for, signed_consultation

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_plan(clinician):
    plan = plan_for(signed_consultation(by=clinician), by=clinician)
    return services.plan_transition(plan=plan, to_status="active", by=clinician)


def test_activating_the_plan_signs_version_1_with_the_prescribers_credential(active_plan, clinician):
    order = selectors.current_order(active_plan)
    assert order.number == 1
    assert order.signed_by == clinician
    assert order.signed_credential == f"MD, NPI {clinician.prescriber_profile.npi}"
    assert (order.dose, order.infusion_minutes, order.max_dose_mg) == (Decimal("0.500"), 40, Decimal("50.0"))
    assert order.max_rate_mg_per_kg_per_h == Decimal("0.7500")  # 0.5 mg/kg over 40 min
    assert order.prn_rescue_medications == ""


def test_a_change_is_a_new_version_with_its_reason_and_the_old_one_stays_readable(active_plan, clinician):
    v2 = services.order_sign(
        plan=active_plan,
        by=clinician,
        reason="Dissociation at 40 mg: cap lower",
        changes={"max_dose_mg": Decimal("35"), "prn_rescue_medications": "Ondansetron 4 mg IV once for nausea"},
    )
    versions = selectors.order_versions(active_plan)
    assert [v.number for v in versions] == [2, 1]
    assert versions[1].max_dose_mg == Decimal("50.0")
    assert versions[1].superseded_at == v2.signed_at
    assert selectors.current_order(active_plan) == v2
    event = AuditEvent.objects.filter(action="consultations.order.signed").order_by("-id").first()
    assert event.changes["before"]["max_dose_mg"] == "50.0"
    assert event.changes["after"]["max_dose_mg"] == "35"
    assert event.changes["reason"] == "Dissociation at 40 mg: cap lower"


@pytest.mark.parametrize(
    ("reason", "changes", "field"),
    [
        ("", {"max_dose_mg": Decimal("35")}, "reason"),
        ("No change really", {}, "__all__"),
        ("Up-titrate", {"dose": Decimal("0.9")}, "dose"),  # outside the protocol's range
        ("Shorter gap", {"min_interval_hours": 24 * 91}, "min_interval_hours"),
    ],
)
def test_a_change_that_says_no_reason_changes_nothing_or_leaves_the_range_is_refused_at_its_field(
    active_plan, clinician, reason, changes, field
):
    with pytest.raises(ValidationError) as error:
        services.order_sign(plan=active_plan, by=clinician, reason=reason, changes=changes)
    assert field in error.value.message_dict
    assert selectors.current_order(active_plan).number == 1


def test_a_signed_order_cannot_be_altered_or_deleted_in_the_database(active_plan):
    order = selectors.current_order(active_plan)
    with pytest.raises(DatabaseError), transaction.atomic():
        StandingOrder.objects.filter(pk=order.pk).update(max_dose_mg=Decimal("90"))
    with pytest.raises(DatabaseError), transaction.atomic():
        StandingOrder.objects.filter(pk=order.pk).delete()


def test_a_superseded_order_cannot_be_revived(active_plan, clinician):
    services.order_sign(plan=active_plan, by=clinician, reason="Longer infusion", changes={"infusion_minutes": 60})
    old = StandingOrder.objects.get(plan=active_plan, number=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        StandingOrder.objects.filter(pk=old.pk).update(superseded_at=None)


@pytest.mark.parametrize(
    ("dose", "unit", "minutes", "rate"),
    [
        (Decimal("0.5"), "mg_per_kg", 40, Decimal("0.7500")),
        (Decimal("1"), "mg_per_kg", 60, Decimal("1.0000")),
        (Decimal("0.35"), "mg_per_kg", 45, Decimal("0.4667")),
        (Decimal("0.5"), "mg_per_kg_per_h", 240, Decimal("0.5")),  # a rate order is its own rate
    ],
)
def test_the_first_rate_ceiling_is_the_rate_the_dose_implies(dose, unit, minutes, rate):
    assert ordered_rate_mg_per_kg_per_h(dose=dose, dose_unit=unit, infusion_minutes=minutes) == rate


@pytest.mark.parametrize(
    ("facts", "words"),
    [
        ({"order_number": None}, ["No signed standing order"]),
        ({"dose_order_number": 1}, ["calculated on order v1, but v2 is now in force"]),
        ({"sessions_started": 6}, ["allows 6 sessions and 6 have been given"]),
        ({"hours_since_last_start": Decimal("47.5")}, ["at least 72 h between sessions; the last started 47.5 h ago"]),
        ({}, []),
        ({"min_interval_hours": None, "hours_since_last_start": Decimal("1")}, []),
    ],
)
def test_what_keeps_a_nurse_from_starting_under_the_order(facts, words):
    base = {
        "order_number": 2,
        "dose_order_number": 2,
        "sessions_started": 3,
        "sessions_planned": 6,
        "hours_since_last_start": Decimal("72"),
        "min_interval_hours": 72,
    }
    problems = start_order_problems(**{**base, **facts})
    assert len(problems) == len(words)
    for problem, w in zip(problems, words, strict=True):
        assert w in problem
