"""The plan page shows every version of the standing order; a prescriber signs a new one
there, a nurse cannot; a refused change comes back at its field with what was typed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from consultations import selectors, services
from consultations.tests.factories import plan_for, signed_consultation

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_plan(clinician):
    plan = plan_for(signed_consultation(by=clinician), by=clinician)
    return services.plan_transition(plan=plan, to_status="active", by=clinician)


def _form(**overrides):
    return {
        "dose": "0.5",
        "infusion_minutes": "40",
        "weight_basis": "actual",
        "max_dose_mg": "50.0",
        "max_rate_mg_per_kg_per_h": "0.75",
        "sessions_planned": "6",
        "min_interval_hours": "",
        "prn_rescue_medications": "",
        "reason": "",
        **overrides,
    }


def test_a_prescriber_signs_a_new_version_from_the_plan_page(client_as, clinician, active_plan):
    url = reverse("consultations:plan-order", args=[active_plan.pk])
    response = client_as(clinician).post(url, _form(max_dose_mg="35", reason="Cap lower after dissociation"))
    assert response.status_code == 302
    order = selectors.current_order(active_plan)
    assert (order.number, order.max_dose_mg, order.infusion_minutes) == (2, Decimal("35.0"), 40)
    page = client_as(clinician).get(reverse("consultations:plan-detail", args=[active_plan.pk]))
    assert b"v2 in force" in page.content
    assert b"Cap lower after dissociation" in page.content


def test_a_change_without_a_reason_comes_back_at_the_reason_field_with_the_input_kept(
    client_as, clinician, active_plan
):
    url = reverse("consultations:plan-order", args=[active_plan.pk])
    response = client_as(clinician).post(url, _form(max_dose_mg="35"))
    assert response.status_code == 200
    form = response.context["order_form"]
    assert "Say why the order changes" in form.errors["reason"][0]
    assert form.data["max_dose_mg"] == "35"
    assert selectors.current_order(active_plan).number == 1


def test_a_nurse_sees_the_order_but_cannot_sign_one(client_as, nurse, active_plan):
    page = client_as(nurse).get(reverse("consultations:plan-detail", args=[active_plan.pk]))
    assert page.status_code == 200
    assert b"v1 in force" in page.content
    assert page.context["order_form"] is None
    url = reverse("consultations:plan-order", args=[active_plan.pk])
    assert client_as(nurse).post(url, _form(max_dose_mg="35", reason="Cap")).status_code == 403


def test_the_plan_page_reads_every_version_in_one_query(
    client_as, clinician, active_plan, django_assert_max_num_queries
):
    client = client_as(clinician)
    url = reverse("consultations:plan-detail", args=[active_plan.pk])
    client.get(url)
    with django_assert_max_num_queries(40) as one:
        client.get(url)
    for minutes in (45, 50, 55):
        services.order_sign(plan=active_plan, by=clinician, reason="Slower", changes={"infusion_minutes": minutes})
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(url)
