"""Each infusion runs under the standing-order version in force when it starts; the dose
rests on that version; a nurse cannot start without a signed, current order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from consultations import selectors as plan_selectors
from consultations import services as consultation_services
from consultations.models import StandingOrder
from infusions import rules, services
from infusions.models import InfusionSession
from infusions.tests.factories import advance, open_session
from scheduling import hooks as scheduling_hooks
from scheduling.tests.factories import AppointmentFactory, ResourceFactory, appointment_type

S = rules.SessionStatus
pytestmark = pytest.mark.django_db


def _next_session(first: InfusionSession, *, by) -> InfusionSession:
    start = timezone.now() - timedelta(minutes=5)
    appointment = AppointmentFactory(
        patient=first.patient,
        appointment_type=appointment_type("infusion"),
        location=first.appointment.location,
        resource=ResourceFactory(location=first.appointment.location, kind="chair"),
        start=start,
        end=start + timedelta(minutes=120),
    )
    return services.session_open(appointment=appointment, by=by)


def test_an_order_change_mid_course_applies_from_the_next_session(morning, policy, nurse_user, verifier, clinician):
    first = advance(open_session(by=nurse_user), S.SIGNED, nurse_user=nurse_user, verifier=verifier)
    v1 = plan_selectors.current_order(first.plan)
    assert first.order == v1
    assert first.dose_calculations.get(superseded_at__isnull=True).dose_mg == Decimal("40.0")

    v2 = consultation_services.order_sign(
        plan=first.plan, by=clinician, reason="Dissociation at 40 mg: cap at 35 mg", changes={"max_dose_mg": 35}
    )
    # The next day: the course rules keep infusions at least the clinic's minimum interval apart.
    morning.shift(timedelta(hours=25))
    second = advance(_next_session(first, by=nurse_user), S.INFUSING, nurse_user=nurse_user, verifier=verifier)
    dose = second.dose_calculations.get(superseded_at__isnull=True)
    assert (dose.order, dose.dose_mg, dose.capped) == (v2, Decimal("35.0"), True)
    assert second.order == v2
    first.refresh_from_db()
    assert first.order == v1  # the first session still reads against the order it ran under
    assert StandingOrder.objects.get(pk=v1.pk).max_dose_mg == Decimal("50.0")


def test_a_dose_calculated_on_a_superseded_order_cannot_start(morning, policy, nurse_user, verifier, clinician):
    session = advance(open_session(by=nurse_user), S.CLEARED, nurse_user=nurse_user, verifier=verifier)
    consultation_services.order_sign(
        plan=session.plan, by=clinician, reason="Longer infusion", changes={"infusion_minutes": 60}
    )
    with pytest.raises(ValidationError, match="calculated on order v1, but v2 is now in force"):
        services.session_transition(session=session, to=S.INFUSING, by=nurse_user, container_lot="LOT-1")


def test_a_nurse_cannot_start_without_a_signed_order(morning, policy, nurse_user, verifier):
    session = advance(open_session(by=nurse_user), S.CLEARED, nurse_user=nurse_user, verifier=verifier)
    # A plan from before orders were signed (the migration leaves none for a draft).
    StandingOrder.objects.filter(plan=session.plan).update(superseded_at=timezone.now())
    with pytest.raises(ValidationError, match="No signed standing order"):
        services.session_transition(session=session, to=S.INFUSING, by=nurse_user, container_lot="LOT-1")
    with pytest.raises(ValidationError, match="no signed standing order"):
        services.dose_calculate(session=session, by=nurse_user, vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("96"))


def test_the_minimum_interval_of_the_order_holds_the_next_start(
    morning, policy, nurse_user, verifier, clinician, monkeypatch
):
    first = advance(open_session(by=nurse_user), S.SIGNED, nurse_user=nurse_user, verifier=verifier)
    consultation_services.order_sign(
        plan=first.plan, by=clinician, reason="Space the sessions", changes={"min_interval_hours": 48}
    )
    morning.shift(timedelta(hours=25))
    # The desk is told at check-in, in the order's words, before anything is drawn ...
    pending = _next_session(first, by=nurse_user)
    with pytest.raises(ValidationError, match=r"at least 48 hours apart \(the standing order\)"):
        advance(pending, S.PRE_CHECK, nurse_user=nurse_user, verifier=verifier)
    # ... and the start holds it again should a session get past the desk (no check-in checks).
    monkeypatch.setattr(scheduling_hooks, "_CHECK_IN_CHECKS", [])
    second = advance(pending, S.CLEARED, nurse_user=nurse_user, verifier=verifier)
    with pytest.raises(ValidationError, match="at least 48 h between sessions"):
        services.session_transition(session=second, to=S.INFUSING, by=nurse_user, container_lot="LOT-2")


def test_without_a_signed_order_the_dose_page_says_so_and_refuses_the_dose_in_words(client_as, prechecked, nurse_user):
    """A plan whose order was withdrawn (or one from before orders were signed): the session page
    and its dose part still render, name no order, and the dose is refused, not a 500."""
    from django.urls import reverse

    from infusions.documents import infusion_record
    from infusions.models import DoseCalculation

    StandingOrder.objects.filter(plan=prechecked.plan).update(superseded_at=timezone.now())
    client = client_as(nurse_user)
    page = client.get(reverse("infusions:session", args=[prechecked.pk]))
    assert page.status_code == 200
    assert "no signed standing order" in page.content.decode()
    refused = client.post(reverse("infusions:dose", args=[prechecked.pk]), {"vial_mg_per_ml": "10", "diluent_ml": "96"})
    assert refused.status_code == 200
    assert "The plan has no signed standing order: a prescriber signs it before the dose." in refused.content.decode()
    assert not DoseCalculation.objects.filter(session=prechecked).exists()
    assert infusion_record(InfusionSession.objects.get(pk=prechecked.pk))["dose"] is None


def test_no_plan_named_finds_nothing_without_a_query(django_assert_num_queries, prechecked):
    from infusions.documents import find_plan

    with django_assert_num_queries(0):
        assert find_plan(prechecked.patient, None) is None
    assert find_plan(prechecked.patient, prechecked.plan_id) == prechecked.plan
