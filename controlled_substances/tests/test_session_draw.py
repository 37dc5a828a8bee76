"""The draw is the verified dose: refused unless it matches, by a clinician, once per
session (row lock, one-time form key); the start waits for it; a signed session's drug
record is closed (a trigger too); a draw whose drug is no longer given stays listed until
closed out."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from controlled_substances import rules, selectors, services
from controlled_substances.models import ControlledSubstancePolicy, LedgerEntry
from controlled_substances.tests.factories import PASSWORD, ProductFactory, manager, receive, registration
from infusions import services as infusion_services
from infusions.models import InfusionSession
from infusions.tests.factories import S, advance, nurse, open_session, set_policy

NOW = timezone.now


@pytest.fixture
def ten_mg():
    product = ProductFactory(
        ndc="0143-9508-10", concentration_mg_per_ml=Decimal("10.000"), container_volume_ml=Decimal("20.00")
    )
    return receive(product=product, lot_number="K10A", containers=2)


@pytest.fixture
def fifty_mg():
    return receive(lot_number="K50A")[0]  # 50 mg/mL × 10 mL


@pytest.fixture
def people(db):
    return nurse(username="rn.draws"), nurse(username="rn.verifies", password=PASSWORD)


@pytest.fixture
def cleared(people):
    """Cleared with a verified 40 mg dose: 4.00 mL of 10 mg/mL in 100 mL (80 kg × 0.5 mg/kg)."""
    rn, verifier = people
    return advance(_here(rn), S.CLEARED, nurse_user=rn, verifier=verifier)


def _here(rn):
    """A session at the location whose registration holds the test's vials."""
    return open_session(by=rn, location=registration().location)


def _draw(session, vial, volume, by, **kw):
    return services.session_draw_record(session=session, container=vial, volume_ml=volume, by=by, at=NOW(), **kw)


def _start(session, by):
    return infusion_services.session_transition(session=session, to=S.INFUSING, by=by)


@pytest.mark.django_db
def test_a_draw_from_a_vial_held_at_another_locations_registration_is_refused(people):
    """Stock is held per DEA registration: drawing another site's vial would put the dose in
    that site's dispensing record."""
    rn, verifier = people
    elsewhere = receive(
        product=ProductFactory(ndc="0143-9508-11", concentration_mg_per_ml=Decimal("10.000")),
        lot_number="K10B",
        at=registration(dea_number="FB7654321"),
    )[0]
    session = advance(_here(rn), S.CLEARED, nurse_user=rn, verifier=verifier)
    with pytest.raises(ValidationError) as refused:
        _draw(session, elsewhere, "4.00", rn)
    assert "not where this infusion is given" in refused.value.message_dict["container"][0]
    assert not LedgerEntry.objects.filter(session=session).exists()


# --- The draw matches the verified dose ----------------------------------------------------


@pytest.mark.parametrize(
    ("case", "volume", "error"),
    [
        ("exact dose", "4.00", None),
        ("one graduation under (0.1 mg < 2 % of 40 mg = 0.8 mg)", "3.99", None),
        ("within 2 %", "4.08", None),
        ("just over 2 %", "4.09", "the verified dose is 40 mg = 4.00 mL (allowed difference 0.8 mg)"),
        ("the issue's 10× over-draw", "40.00", "the verified dose is 40 mg"),
        ("half the dose", "2.00", "the verified dose is 40 mg"),
    ],
)
@pytest.mark.django_db
def test_a_draw_must_be_the_verified_dose_within_the_tolerance(case, volume, error, cleared, people, ten_mg):
    rn, _ = people
    if error is None:
        draw = _draw(cleared, ten_mg[0], volume, rn)
        assert draw.dose_calculation == cleared.current_dose
        return
    with pytest.raises(services.LedgerError) as refused:
        _draw(cleared, ten_mg[0], volume, rn)
    assert error in refused.value.message_dict["volume_ml"][0]
    assert not LedgerEntry.objects.filter(session=cleared).exists()  # nothing half-written


@pytest.mark.django_db
def test_a_vial_of_another_concentration_than_the_calculation_is_refused(cleared, people, fifty_mg):
    with pytest.raises(services.LedgerError) as refused:
        _draw(cleared, fifty_mg, "0.80", people[0])  # 40 mg, but of 50 mg/mL
    assert "the verified calculation is for 10 mg/mL" in refused.value.message_dict["container"][0]


@pytest.mark.parametrize(
    ("case", "percent", "dose_mg", "mg_per_ml", "tolerance"),
    [
        ("default 2 % of 40 mg", "2", "40", "10", "0.80"),
        ("the syringe graduation wins on a small dose", "2", "5", "50", "0.50"),
        ("0 % leaves one graduation", "0", "40", "10", "0.10"),
        ("the bound's 5 %", "5", "40", "10", "2.00"),
    ],
)
def test_the_tolerance_is_the_larger_of_one_graduation_and_the_percentage(case, percent, dose_mg, mg_per_ml, tolerance):
    got = rules.draw_tolerance_mg(dose_mg=Decimal(dose_mg), mg_per_ml=Decimal(mg_per_ml), percent=Decimal(percent))
    assert got == Decimal(tolerance)


@pytest.mark.parametrize("percent", ["-0.01", "5.01", "50"])
def test_a_tolerance_outside_its_bounds_is_refused_by_the_rule(percent):
    with pytest.raises(rules.QuantityError, match="0–5 %"):
        rules.draw_tolerance_mg(dose_mg=Decimal(40), mg_per_ml=Decimal(10), percent=Decimal(percent))


@pytest.mark.django_db
def test_the_database_refuses_a_tolerance_outside_its_bounds():
    policy = ControlledSubstancePolicy.current()
    policy.draw_tolerance_percent = Decimal("9")
    with pytest.raises(ValidationError):
        policy.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        ControlledSubstancePolicy.objects.filter(pk=1).update(draw_tolerance_percent=Decimal("9"))


@pytest.mark.parametrize(
    ("case", "setup", "message"),
    [
        ("not verified", "unverified", "verified"),
        ("already infusing", "infusing", "before the infusion starts"),
        ("deferred", "deferred", "before the infusion starts"),
    ],
)
@pytest.mark.django_db
def test_a_draw_is_refused_outside_a_verified_pre_start_session(case, setup, message, people, ten_mg):
    rn, verifier = people
    session = advance(
        open_session(by=rn, location=registration().location), S.PRE_CHECK, nurse_user=rn, verifier=verifier
    )
    if setup == "unverified":
        from infusions.tests.factories import PHQ9_CLEAR, clean_precheck

        infusion_services.instrument_record(session=session, by=rn, code="phq9", answers=PHQ9_CLEAR)
        infusion_services.precheck_record(session=session, by=rn, data=clean_precheck())
        infusion_services.dose_calculate(session=session, by=rn, vial_mg_per_ml=Decimal(10), diluent_ml=Decimal(96))
    else:
        InfusionSession.objects.filter(pk=session.pk).update(
            status=setup, deferral_reason_code="patient_declined" if setup == "deferred" else ""
        )
    with pytest.raises(services.LedgerError, match=message):
        _draw(session, ten_mg[0], "4.00", rn)


@pytest.mark.django_db
def test_an_administrator_cannot_draw_for_a_session(cleared, ten_mg, admin, client_as):
    with pytest.raises(PermissionDenied):
        _draw(cleared, ten_mg[0], "4.00", manager(username="cs.boss"))
    response = client_as(admin).post(
        reverse("controlled_substances:session-draw", args=[cleared.pk]), {"container": ten_mg[0].pk, "volume_ml": "4"}
    )
    assert response.status_code == 403
    assert not LedgerEntry.objects.filter(session=cleared).exists()


@pytest.mark.django_db
def test_a_second_draw_for_the_session_is_refused_until_the_first_is_reversed(cleared, people, ten_mg):
    rn, _ = people
    first = _draw(cleared, ten_mg[0], "4.00", rn)
    with pytest.raises(services.LedgerError, match="already stands"):
        _draw(cleared, ten_mg[1], "4.00", rn)
    services.entry_reverse(
        entry=first, reason="Drawn into the wrong syringe", by=manager(), witness=people[1], at=NOW()
    )
    assert _draw(cleared, ten_mg[1], "4.00", rn).container == ten_mg[1]


# --- The start waits for the matching draw ----------------------------------------------


@pytest.mark.django_db
def test_the_start_is_refused_without_a_draw_and_allowed_with_the_matching_one(cleared, people, ten_mg):
    rn, _ = people
    with pytest.raises(ValidationError) as refused:
        _start(cleared, rn)
    assert "No draw of the verified dose is recorded in the ketamine ledger" in refused.value.messages
    assert InfusionSession.objects.get(pk=cleared.pk).status == S.CLEARED  # unchanged
    _draw(cleared, ten_mg[0], "4.00", rn)
    assert _start(cleared, rn).status == S.INFUSING


@pytest.mark.django_db
def test_the_start_is_refused_when_the_policy_narrowed_below_the_draw(cleared, people, ten_mg):
    """A draw that matched under a wider tolerance no longer does: the start checks again."""
    rn, _ = people
    _draw(cleared, ten_mg[0], "4.08", rn)  # 40.8 mg: within 2 %
    ControlledSubstancePolicy.objects.filter(pk=1).update(draw_tolerance_percent=Decimal("1"))
    with pytest.raises(ValidationError) as refused:
        _start(cleared, rn)
    assert any("drawn amount does not match" in m for m in refused.value.messages)


# --- Concurrency and resubmission ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_draws_for_one_session_leave_exactly_one():
    rn, verifier = nurse(username="rn.race"), nurse(username="rn.race.v", password=PASSWORD)
    session = advance(
        open_session(by=rn, location=registration().location), S.CLEARED, nurse_user=rn, verifier=verifier
    )
    product = ProductFactory(
        ndc="0143-9508-10", concentration_mg_per_ml=Decimal("10.000"), container_volume_ml=Decimal("20.00")
    )
    vials = receive(product=product, lot_number="K10R", containers=4)
    threads_n = 20
    barrier = threading.Barrier(threads_n)
    results: list[object] = []
    lock = threading.Lock()

    def worker(n):
        try:
            barrier.wait()
            outcome: object = _draw(session, vials[n % 4].pk, "4.00", rn)
        except services.LedgerError as exc:
            outcome = exc
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stood = [r for r in results if isinstance(r, LedgerEntry)]
    assert len(results) == threads_n
    assert len(stood) == 1
    assert all("already stands" in str(r) for r in results if not isinstance(r, LedgerEntry))
    assert LedgerEntry.objects.filter(session=session, kind="administration").count() == 1
    assert selectors.reconciliation_mismatches() == []


@pytest.mark.django_db
def test_a_resubmitted_draw_or_waste_form_creates_nothing_twice(cleared, people, ten_mg, client_as):
    rn, verifier = people
    client = client_as(rn)
    form = {"container": ten_mg[0].pk, "volume_ml": "4.00", "request_key": "k-draw-1"}
    for _ in range(3):
        assert client.post(reverse("controlled_substances:session-draw", args=[cleared.pk]), form).status_code == 200
    draw = LedgerEntry.objects.get(session=cleared, kind="administration")
    assert (
        "already stands"
        not in client.post(reverse("controlled_substances:session-draw", args=[cleared.pk]), form).content.decode()
    )
    waste = {
        "draw": draw.pk,
        f"w{draw.pk}-request_key": "k-waste-1",
        f"w{draw.pk}-volume_ml": "0.00",
        f"w{draw.pk}-manner": "Expelled",
    }
    for _ in range(2):
        assert client.post(reverse("controlled_substances:session-waste", args=[cleared.pk]), waste).status_code == 200
    assert LedgerEntry.objects.filter(session=cleared, kind="waste").count() == 1
    ten_mg[0].refresh_from_db()
    assert ten_mg[0].remaining_ml == Decimal("16.00")


# --- A signed session's record is closed ------------------------------------------------------


def _signed_with_draw(people, vials):
    rn, verifier = people
    set_policy()
    session = advance(
        open_session(by=rn, location=registration().location), S.CLEARED, nurse_user=rn, verifier=verifier
    )
    draw = _draw(session, vials[0], "4.00", rn)
    session = advance(session, S.COMPLETED, nurse_user=rn, verifier=verifier)
    # What the pump did not run is still in the 100 mL bag: wasted, witnessed, at the bag's concentration.
    left = Decimal("100.00") - session.delivered_ml
    services.waste_record(of_draw=draw, volume_ml=left, left_in="bag", witness=verifier, by=rn, at=NOW())
    session = advance(session, S.SIGNED, nurse_user=rn, verifier=verifier)
    return session, draw


@pytest.mark.django_db
def test_a_signed_session_takes_no_draw_waste_or_unwitnessed_reversal(people, ten_mg):
    rn, verifier = people
    session, draw = _signed_with_draw(people, ten_mg)
    assert session.status == S.SIGNED
    with pytest.raises(services.LedgerError, match="signed"):
        _draw(session, ten_mg[1], "4.00", rn)
    with pytest.raises(services.LedgerError, match="signed"):
        services.waste_record(of_draw=draw, volume_ml="1.00", witness=verifier, by=rn, at=NOW())
    with pytest.raises(services.LedgerError, match="signed records are not changed"):
        services.entry_reverse(entry=draw, reason="wrong", by=manager(), witness=verifier, at=NOW())
    assert LedgerEntry.objects.filter(session=session).count() == 2
    # The database refuses it too, whatever the caller.
    with pytest.raises(IntegrityError), transaction.atomic():
        services._append(
            container=services._lock(draw.container_id),
            kind="waste",
            quantity_ml=Decimal("1.00"),
            delta_ml=Decimal("0.00"),
            by=rn,
            at=NOW(),
            witness=verifier,
            of_draw=draw,
            patient=draw.patient,
        )


# --- Open draws ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_deferred_sessions_draw_is_listed_open_until_it_is_wasted(cleared, people, ten_mg, client_as, admin):
    rn, verifier = people
    draw = _draw(cleared, ten_mg[0], "4.00", rn)
    assert selectors.open_session_draws(today=timezone.localdate()) == []  # still to be given
    InfusionSession.objects.filter(pk=cleared.pk).update(status="deferred", deferral_reason_code="patient_declined")
    assert selectors.open_session_draws(today=timezone.localdate()) == [draw]
    home = client_as(admin).get(reverse("controlled_substances:index"))
    assert "Drawn ketamine not yet accounted for" in home.content.decode()
    panel = client_as(rn).get(reverse("controlled_substances:session-panel", args=[cleared.pk]))
    assert panel.context["closable"]
    assert panel.context["open_draws"]
    services.waste_record(of_draw=draw, volume_ml="4.00", witness=verifier, by=rn, at=NOW())
    assert selectors.open_session_draws(today=timezone.localdate()) == []


@pytest.mark.django_db
def test_a_draw_from_an_earlier_day_is_open_whatever_the_status(cleared, people, ten_mg):
    draw = _draw(
        cleared,
        ten_mg[0],
        "4.00",
        people[0],
    )
    assert selectors.open_session_draws(today=timezone.localdate() + timedelta(days=1)) == [draw]
