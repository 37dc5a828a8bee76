"""A dose above the protocol's usual range is a prescriber's override (reason, signer,
credential); the clinic's ceilings on rate and duration refuse a plan or an order whatever
the reason, naming the field and the limit (the same rule as the calculation and the
flowsheet)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from accounts.prescribing import PrescriberRequired
from consultations import selectors, services
from consultations.forms import PlanForm
from consultations.tests.factories import depression_protocol, plan_for, signed_consultation

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_plan(clinician):
    plan = plan_for(signed_consultation(by=clinician), by=clinician)
    return services.plan_transition(plan=plan, to_status="active", by=clinician)


def _sign(plan, by, **changes):
    return services.order_sign(plan=plan, by=by, reason="Partial response at 0.5 mg/kg", changes=changes)


def test_a_dose_above_the_usual_range_without_a_reason_is_refused_at_the_dose(active_plan, clinician):
    with pytest.raises(ValidationError) as error:
        _sign(active_plan, clinician, dose=Decimal("0.75"))
    assert "above the protocol's usual range (0.5 mg/kg)" in error.value.message_dict["dose"][0]
    assert selectors.current_order(active_plan).number == 1


def test_a_prescriber_orders_a_dose_above_the_usual_range_with_a_reason_and_their_credential(active_plan, clinician):
    order = _sign(active_plan, clinician, dose=Decimal("0.75"), dose_override_reason="Partial response; tolerated")
    assert order.dose == Decimal("0.75")
    assert order.dose_override_reason == "Partial response; tolerated"
    assert order.signed_by == clinician
    assert order.signed_credential == f"MD, NPI {clinician.prescriber_profile.npi}"
    event = AuditEvent.objects.filter(action="consultations.order.signed").order_by("-id").first()
    assert event.changes["dose_override"] == {
        "reason": "Partial response; tolerated",
        "credential": order.signed_credential,
    }


def test_a_nurse_meeting_the_override_is_told_it_needs_a_prescriber(active_plan, nurse):
    with pytest.raises(PrescriberRequired, match="needs a prescriber"):
        _sign(active_plan, nurse, dose=Decimal("0.75"), dose_override_reason="Partial response")


@pytest.mark.parametrize(
    ("case", "changes", "field", "limit"),
    [
        (
            "override above the rate ceiling: 1.5 mg/kg over 40 min runs at 2.25 mg/kg/h",
            {"dose": Decimal("1.5"), "dose_override_reason": "Partial response"},
            "dose",
            "above the clinic's ceiling 2",
        ),
        ("infusion of one minute", {"infusion_minutes": 1}, "infusion_minutes", "40–240 min"),
        ("infusion of five hours", {"infusion_minutes": 300}, "infusion_minutes", "40–240 min"),
        ("rate ceiling above the clinic's", {"max_rate_mg_per_kg_per_h": Decimal(3)}, "max_rate_mg_per_kg_per_h", "3"),
        (
            "a reason on a dose inside the usual range",
            {"dose_override_reason": "Just in case"},
            "dose_override_reason",
            "no override needed",
        ),
    ],
)
def test_an_order_past_a_ceiling_is_refused_naming_the_field_and_the_limit(
    active_plan, clinician, case, changes, field, limit
):
    with pytest.raises(ValidationError) as error:
        _sign(active_plan, clinician, **changes)
    assert limit in " ".join(error.value.message_dict[field]), case
    assert selectors.current_order(active_plan).number == 1


def test_back_within_the_usual_range_the_override_ends(active_plan, clinician):
    _sign(active_plan, clinician, dose=Decimal("0.75"), dose_override_reason="Partial response")
    kept = services.order_sign(plan=active_plan, by=clinician, reason="Fewer sessions", changes={"sessions_planned": 4})
    assert kept.dose_override_reason == "Partial response"  # the dose is still above the range
    back = services.order_sign(plan=active_plan, by=clinician, reason="Dissociation", changes={"dose": Decimal("0.5")})
    assert back.dose_override_reason == ""


def test_a_plan_above_the_usual_range_carries_its_reason_into_the_first_signed_order(clinician):
    consultation = signed_consultation(by=clinician)
    with pytest.raises(ValidationError) as error:
        plan_for(consultation, by=clinician, dose=Decimal("0.6"))
    assert "usual range" in error.value.message_dict["dose"][0]
    plan = plan_for(consultation, by=clinician, dose=Decimal("0.6"), dose_override_reason="Non-response at 0.5")
    services.plan_transition(plan=plan, to_status="active", by=clinician)
    order = selectors.current_order(plan)
    assert (order.dose, order.dose_override_reason) == (Decimal("0.600"), "Non-response at 0.5")
    assert order.signed_credential.startswith("MD, NPI ")


@pytest.mark.parametrize(
    ("case", "fields", "field", "limit"),
    [
        ("one-minute infusion", {"infusion_minutes": 1}, "infusion_minutes", "40–240 min"),
        (
            "override above the rate ceiling",
            {"dose": Decimal("2"), "dose_override_reason": "Non-response"},
            "dose",
            "above the clinic's ceiling 2",
        ),
    ],
)
def test_a_plan_past_a_ceiling_is_refused_naming_the_field_and_the_limit(clinician, case, fields, field, limit):
    with pytest.raises(ValidationError) as error:
        plan_for(signed_consultation(by=clinician), by=clinician, **fields)
    assert limit in " ".join(error.value.message_dict[field]), case


def test_the_plan_form_shows_the_usual_range_and_the_ceiling_at_their_fields(clinician):
    consultation = signed_consultation(by=clinician)
    data = {
        "indication": "mdd",
        "protocol": depression_protocol().pk,
        "dose": "0.9",
        "infusion_minutes": "1",
        "weight_basis": "actual",
        "max_dose_mg": "50",
        "sessions_planned": "6",
        "sessions_per_week": "2",
    }
    form = PlanForm(data, consultation=consultation)
    assert not form.is_valid()
    assert "usual range" in form.errors["dose"][0]
    assert "40–240 min" in form.errors["infusion_minutes"][0]
    assert form.data["dose"] == "0.9"  # what was typed stays
