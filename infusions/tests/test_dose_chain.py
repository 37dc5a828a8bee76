"""One chain of versions: the calculation records what it rests on; changing any of it voids
the calculation and its verification; the start needs the calculation in force, verified,
on today's values (services, and triggers where the database can hold it)."""

from decimal import Decimal

import pgtrigger
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import AuditEvent
from consultations.models import StandingOrder
from consultations.services.orders import order_sign
from infusions import services
from infusions.models import DoseCalculation, InfusionSession, PreCheck
from infusions.tests.factories import PHQ9_CLEAR, S, advance, clean_precheck, nurse, open_session
from prescribers.tests.factories import prescriber

pytestmark = pytest.mark.django_db

TEN, DILUENT = Decimal("10"), Decimal("96")


@pytest.fixture
def people():
    return nurse(username="rn.chain"), nurse(username="rn.chain.verifier")


def _verified(session, rn, verifier, **precheck):
    services.instrument_record(session=session, by=rn, code="phq9", answers=PHQ9_CLEAR)
    data = clean_precheck(**{"weight_change_reason": "Weighed today on the clinic scale", **precheck})
    services.precheck_record(session=session, by=rn, data=data)
    calc = services.dose_calculate(session=session, by=rn, vial_mg_per_ml=TEN, diluent_ml=DILUENT)
    return services.dose_verify(calculation=calc, by=verifier, fingerprint=calc.fingerprint)


def _change_order(session, **change):
    """Signed orders are fixed (a trigger); a writer past it (an administrator's SQL repair)
    is the case the start must still catch."""
    with pgtrigger.ignore("consultations.StandingOrder:standingorder_content_fixed"):
        StandingOrder.objects.filter(plan=session.plan_id, superseded_at__isnull=True).update(**change)


def _start(session, rn):
    return services.session_transition(session=session, to=S.INFUSING, by=rn, container_lot="LOT-1")


def test_the_calculation_records_what_it_rests_on(people):
    rn, verifier = people
    session = advance(open_session(by=rn), S.PRE_CHECK, nurse_user=rn, verifier=verifier)
    calc = _verified(session, rn, verifier)
    assert calc.plan == session.plan
    assert calc.inputs == {
        "plan": str(session.plan.pk),
        "order_version": "1",
        "weight_kg": "80",
        "height_cm": "",
        "sex_at_birth": session.patient.sex_at_birth or "",
        "weight_basis": "actual",
        "dose": "0.5",
        "dose_unit": session.plan.dose_unit,
        "duration_min": "40",
        "max_mg": "50",
        "protocol_max": format(session.plan.protocol.dose_max.normalize(), "f"),
        "vial_mg_per_ml": "10",
        "diluent_ml": "96",
    }
    assert len(calc.inputs_sha256) == 64


def test_the_issues_case_a_weight_corrected_after_verification_voids_the_dose_and_blocks_the_start(people):
    """Weight 100 kg → 50 mg verified; corrected to 55 kg: never started on 0.91 mg/kg."""
    rn, verifier = people
    session = advance(open_session(by=rn), S.PRE_CHECK, nurse_user=rn, verifier=verifier)
    calc = _verified(session, rn, verifier, weight_kg=Decimal("100.0"))
    assert calc.dose_mg == Decimal("50.0")
    services.precheck_record(
        session=session,
        by=rn,
        data=clean_precheck(weight_kg=Decimal("55.0"), weight_change_reason="Misread the scale: weighed again"),
    )
    calc.refresh_from_db()
    assert calc.superseded_at is not None
    assert AuditEvent.objects.filter(action="infusions.dose.voided", object_id=str(calc.pk)).exists()
    session = services.precheck_clear(session=session, by=rn)
    with pytest.raises(ValidationError) as refused:
        _start(session, rn)
    assert "Dose not verified by a second clinician" in refused.value.messages
    assert InfusionSession.objects.get(pk=session.pk).status == S.CLEARED
    # Recalculated on 55 kg and verified again: the start rests on it.
    again = services.dose_calculate(session=session, by=rn, vial_mg_per_ml=TEN, diluent_ml=DILUENT)
    assert again.dose_mg == Decimal("27.5")
    services.dose_verify(calculation=again, by=verifier, fingerprint=again.fingerprint)
    started = _start(session, rn)
    assert started.started_dose == again


@pytest.mark.parametrize(
    ("case", "change", "label"),
    [
        ("order dose changed", {"dose": Decimal("0.4")}, "the order's dose"),
        ("duration changed", {"infusion_minutes": 60}, "duration"),
        ("weight basis changed", {"weight_basis": "ideal"}, "weight basis"),
        ("maximum changed", {"max_dose_mg": Decimal("45")}, "the maximum dose"),
    ],
)
def test_a_changed_order_input_refuses_the_start_naming_it(case, change, label, people):
    rn, verifier = people
    session = advance(open_session(by=rn), S.CLEARED, nurse_user=rn, verifier=verifier)
    _change_order(session, **change)
    with pytest.raises(ValidationError) as refused:
        _start(InfusionSession.objects.get(pk=session.pk), rn)
    assert any(label in m and "recalculate and verify again" in m for m in refused.value.messages), (
        refused.value.messages
    )


def test_a_new_order_version_refuses_the_start_until_the_dose_is_recalculated(people):
    rn, verifier = people
    session = advance(open_session(by=rn), S.CLEARED, nurse_user=rn, verifier=verifier)
    order_sign(
        plan=session.plan, by=prescriber(), reason="Lower cap after review", changes={"max_dose_mg": Decimal("45")}
    )
    with pytest.raises(ValidationError) as refused:
        _start(InfusionSession.objects.get(pk=session.pk), rn)
    assert any("recalculate" in m.lower() for m in refused.value.messages), refused.value.messages
    assert InfusionSession.objects.get(pk=session.pk).status == S.CLEARED


def test_a_verification_of_a_calculation_on_changed_values_is_refused(people):
    rn, verifier = people
    session = advance(open_session(by=rn), S.PRE_CHECK, nurse_user=rn, verifier=verifier)
    services.instrument_record(session=session, by=rn, code="phq9", answers=PHQ9_CLEAR)
    services.precheck_record(session=session, by=rn, data=clean_precheck())
    calc = services.dose_calculate(session=session, by=rn, vial_mg_per_ml=TEN, diluent_ml=DILUENT)
    _change_order(session, dose=Decimal("0.4"))
    with pytest.raises(ValidationError, match="the order's dose"):
        services.dose_verify(calculation=calc, by=verifier, fingerprint=calc.fingerprint)


def test_the_database_voids_the_dose_when_the_weight_changes_behind_the_services(people):
    rn, verifier = people
    session = advance(open_session(by=rn), S.PRE_CHECK, nurse_user=rn, verifier=verifier)
    calc = _verified(session, rn, verifier)
    PreCheck.objects.filter(session=session).update(weight_kg=Decimal("81.0"))
    calc.refresh_from_db()
    assert calc.superseded_at is not None


def test_the_database_refuses_a_start_without_the_verified_dose_in_force(people):
    rn, verifier = people
    session = advance(open_session(by=rn), S.CLEARED, nurse_user=rn, verifier=verifier)
    with pytest.raises(IntegrityError), transaction.atomic():
        InfusionSession.objects.filter(pk=session.pk).update(status=S.INFUSING)
    dose = DoseCalculation.objects.get(session=session)
    InfusionSession.objects.filter(pk=session.pk).update(status=S.INFUSING, started_dose=dose)


@pytest.mark.parametrize(
    ("case", "weight", "message"),
    [
        ("zero", Decimal("0"), "must be greater than 0 kg"),
        ("negative", Decimal("-70"), "must be greater than 0 kg"),
        ("absurd", Decimal("9999"), "outside the plausible range 25–350 kg"),
        ("pounds typed as kg for a 40 kg patient", Decimal("400"), "outside the plausible range"),
    ],
)
def test_an_impossible_weight_is_refused_at_the_field_and_not_stored(case, weight, message, people):
    rn, verifier = people
    session = advance(open_session(by=rn), S.PRE_CHECK, nurse_user=rn, verifier=verifier)
    with pytest.raises(ValidationError) as refused:
        services.precheck_record(session=session, by=rn, data=clean_precheck(weight_kg=weight))
    assert message in refused.value.message_dict["weight_kg"][0]
    assert not PreCheck.objects.filter(session=session).exists()


def test_the_database_refuses_an_impossible_weight(people):
    rn, verifier = people
    session = advance(open_session(by=rn), S.PRE_CHECK, nurse_user=rn, verifier=verifier)
    services.precheck_record(session=session, by=rn, data=clean_precheck())
    with pytest.raises(IntegrityError), transaction.atomic():
        PreCheck.objects.filter(session=session).update(weight_kg=Decimal("0"))


# Every input of the calculation, changed the way the clinic would change it: the pre-check
# (weight, height), the chart (sex at birth, written behind the services: no service voids on
# it, so the start must catch it), a new signed order version (weight basis, mg/kg, duration),
# and a recalculation on another vial or bag (concentration, diluent). Each voids the
# verification in force: the start is refused and the status unchanged, until the dose is
# calculated on today's values and verified again.
def _recorded(height):
    return clean_precheck(height_cm=height, weight_change_reason="Weighed today on the clinic scale")


def _order(**changes):
    return lambda session, rn: order_sign(
        plan=session.plan, by=prescriber(), reason="Changed after review", changes=changes
    )


def _precheck(**changes):
    return lambda session, rn: services.precheck_record(
        session=session, by=rn, data={**_recorded(Decimal("175.0")), **changes}
    )


def _sex(session, rn):
    from patients.models import Patient

    Patient.objects.filter(pk=session.patient_id).update(sex_at_birth=Patient.Sex.MALE)


def _recalculate(vial, diluent):
    return lambda session, rn: services.dose_calculate(session=session, by=rn, vial_mg_per_ml=vial, diluent_ml=diluent)


EVERY_INPUT = [
    # (the input, how it changes, the vial and diluent of the new calculation, how the start
    # names it: None when the change voided the calculation outright)
    ("weight", _precheck(weight_kg=Decimal("72.0")), TEN, DILUENT, None),
    ("height", _precheck(height_cm=Decimal("168.0")), TEN, DILUENT, None),
    ("sex at birth", _sex, TEN, DILUENT, "sex at birth"),
    ("weight basis", _order(weight_basis="ideal"), TEN, DILUENT, "weight basis"),
    (
        "mg/kg",
        _order(dose=Decimal("0.6"), dose_override_reason="Partial response at 0.5 mg/kg"),
        TEN,
        DILUENT,
        "the order's dose",
    ),
    ("duration", _order(infusion_minutes=60), TEN, DILUENT, "duration"),
    ("vial concentration", _recalculate(Decimal("50"), Decimal("99.2")), Decimal("50"), Decimal("99.2"), None),
    ("diluent (bag volume)", _recalculate(TEN, Decimal("146")), TEN, Decimal("146"), None),
]


@pytest.mark.parametrize(("case", "change", "vial", "diluent", "named"), EVERY_INPUT, ids=[c[0] for c in EVERY_INPUT])
def test_changing_any_input_voids_the_verified_dose_until_recalculated_and_verified(
    case, change, vial, diluent, named, people
):
    from patients.models import Patient

    rn, verifier = people
    session = advance(open_session(by=rn), S.PRE_CHECK, nurse_user=rn, verifier=verifier)
    Patient.objects.filter(pk=session.patient_id).update(sex_at_birth=Patient.Sex.FEMALE)
    verified = _verified(session, rn, verifier, height_cm=Decimal("175.0"))
    change(InfusionSession.objects.get(pk=session.pk), rn)
    session = services.precheck_clear(session=InfusionSession.objects.get(pk=session.pk), by=rn)
    verified.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        _start(session, rn)
    if named is None:  # voided outright: a corrected weight or height, a recalculation
        assert verified.superseded_at is not None, case
        assert "Dose not verified by a second clinician" in refused.value.messages, case
    else:  # still in force but resting on other values: the start names what changed
        assert any(named in m and "recalculate and verify again" in m for m in refused.value.messages), (
            case,
            refused.value.messages,
        )
    assert InfusionSession.objects.get(pk=session.pk).status == S.CLEARED, case
    again = services.dose_calculate(session=session, by=rn, vial_mg_per_ml=vial, diluent_ml=diluent)
    with pytest.raises(ValidationError):  # calculated but not yet verified by a second nurse
        _start(InfusionSession.objects.get(pk=session.pk), rn)
    services.dose_verify(calculation=again, by=verifier, fingerprint=again.fingerprint)
    started = _start(InfusionSession.objects.get(pk=session.pk), rn)
    assert started.started_dose == again, case
    assert again.inputs != verified.inputs, case
