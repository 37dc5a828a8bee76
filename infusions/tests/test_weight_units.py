"""Units cannot be confused: weight is stored in kg, a weight in lb is converted, and a weight
more than the clinic's limit (default 10 %) from the last recorded one or the intake's needs
the nurse's confirmation with a reason, kept in the audit trail."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import AuditEvent
from consultations.forms import IntakeForm
from consultations.tests.factories import ConsultationFactory
from consultations.vitals import kg_from_lb, lb_from_kg
from infusions import forms, rules, services
from infusions.models import PreCheck
from infusions.tests.factories import PHQ9_CLEAR, advance, clean_precheck, open_session, set_policy
from infusions.tests.test_orders import _next_session

pytestmark = pytest.mark.django_db
S = rules.SessionStatus


@pytest.fixture
def at_precheck(policy, nurse_user):
    """At the pre-check for a patient whose intake weight is 80 kg."""
    session = open_session(by=nurse_user)
    services.session_check_in(session=session, by=nurse_user)
    services.instrument_record(session=session, by=nurse_user, code="phq9", answers=PHQ9_CLEAR)
    assert session.plan.consultation.weight_kg == Decimal("80.0")
    return session


def _record(session, by, **fields):
    return services.precheck_record(session=session, by=by, data=clean_precheck(**fields))


def _form_data(**fields):
    data = {k: ("yes" if v is True else "no" if v is False else v) for k, v in clean_precheck().items()}
    for name in ("last_clear_liquid_at", "last_light_meal_at", "last_fatty_meal_at"):
        data[name] = timezone.localtime(data[name]).strftime("%Y-%m-%dT%H:%M")
    return {**data, **fields}


@pytest.mark.parametrize(
    ("lb", "kg"),
    [(Decimal("176"), Decimal("79.8")), (Decimal("220.5"), Decimal("100.0")), (Decimal("55.1"), Decimal("25.0"))],
)
def test_pounds_convert_to_kilograms_to_a_tenth(lb, kg):
    assert kg_from_lb(lb) == kg


def test_the_pound_equivalent_is_shown_to_a_tenth():
    assert lb_from_kg(Decimal("80.0")) == Decimal("176.4")


def test_176_typed_as_kg_for_an_80_kg_patient_asks_for_confirmation(at_precheck, nurse_user):
    with pytest.raises(ValidationError) as refused:
        _record(at_precheck, nurse_user, weight_kg=Decimal("176"))
    message = refused.value.message_dict["weight_kg"][0]
    assert "120 % more than the intake weight (80.0 kg)" in message
    assert "176 lb would be 79.8 kg" in message
    assert "weight_change_reason" in refused.value.message_dict
    assert not PreCheck.objects.filter(session=at_precheck).exists()


def test_a_confirmed_large_change_is_recorded_with_its_reason_in_the_history(at_precheck, nurse_user):
    check = _record(at_precheck, nurse_user, weight_kg=Decimal("95.0"), weight_change_reason="Weighed twice: 95 kg")
    assert check.weight_kg == Decimal("95.0")
    event = AuditEvent.objects.filter(action="infusions.precheck.recorded").order_by("-id").first()
    assert event.changes["weight_confirmed"] == {
        "weight_kg": "95.0",
        "reference_kg": "80.0",
        "reference": "the intake weight",
        "reason": "Weighed twice: 95 kg",
    }


@pytest.mark.parametrize(
    ("case", "weight", "needs"),
    [
        ("10 % up is within the limit", Decimal("88.0"), False),
        ("10 % down is within the limit", Decimal("72.0"), False),
        ("just over 10 % up", Decimal("88.1"), True),
        ("just over 10 % down", Decimal("71.9"), True),
    ],
)
def test_the_limit_is_more_than_ten_percent(at_precheck, nurse_user, case, weight, needs):
    if needs:
        with pytest.raises(ValidationError, match="needs confirming"):
            _record(at_precheck, nurse_user, weight_kg=weight)
    else:
        assert _record(at_precheck, nurse_user, weight_kg=weight).weight_kg == weight, case


def test_the_limit_is_the_clinics_setting(at_precheck, nurse_user):
    set_policy(weight_change_confirm_percent=Decimal("20"))
    assert _record(at_precheck, nurse_user, weight_kg=Decimal("95.0")).weight_kg == Decimal("95.0")


def test_the_reference_is_the_last_recorded_weight_before_the_intake(morning, policy, nurse_user, verifier):
    first = advance(open_session(by=nurse_user), S.CLEARED, nurse_user=nurse_user, verifier=verifier)
    PreCheck.objects.filter(session=first).update(weight_kg=Decimal("100.0"))  # weighed 100 kg last time
    morning.shift(timedelta(hours=25))  # the next day: the course rules keep infusions a minimum interval apart
    second = _next_session(first, by=nurse_user)
    services.session_check_in(session=second, by=nurse_user)
    assert _record(second, nurse_user, weight_kg=Decimal("105.0")).weight_kg == Decimal("105.0")
    with pytest.raises(ValidationError, match=r"less than the weight recorded in this pre-check \(105.0 kg\)"):
        _record(second, nurse_user, weight_kg=Decimal("80.0"))


def test_the_precheck_form_converts_176_lb_to_79_8_kg_and_the_service_takes_it(at_precheck, nurse_user):
    form = forms.PreCheckForm(_form_data(weight_kg="176", weight_unit="lb"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["weight_kg"] == Decimal("79.8")
    check = services.precheck_record(session=at_precheck, by=nurse_user, data=form.cleaned_data)
    assert check.weight_kg == Decimal("79.8")


def test_the_precheck_form_refuses_an_unknown_unit_at_the_field():
    form = forms.PreCheckForm(_form_data(weight_kg="176", weight_unit="stone"))
    assert not form.is_valid()
    assert "weight_unit" in form.errors


def test_the_intake_form_converts_pounds_and_shows_the_pound_equivalent(clinician):
    consultation = ConsultationFactory(clinician=clinician)
    form = IntakeForm({"version": consultation.version, "weight_kg": "176", "weight_unit": "lb"}, instance=consultation)
    form.is_valid()
    assert "weight_kg" not in form.errors
    assert form.cleaned_data["weight_kg"] == Decimal("79.8")
    assert form.valid_changes()["weight_kg"] == Decimal("79.8")
    consultation.weight_kg = Decimal("80.0")
    assert "176.4 lb" in IntakeForm(instance=consultation).fields["weight_kg"].help_text
