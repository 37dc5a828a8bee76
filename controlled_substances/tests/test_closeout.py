"""Close-out accounts for every milligram: what the pump delivered (from the start, rate
changes, pauses and the end) + what is physically left and wasted (the syringe at the vial's
concentration, the bag at the bag's) = what was drawn, within the tolerance, or the session
cannot be signed and the discrepancy goes to the ledger's discrepancy list. A draw whose drug
is no longer being given shows on the chair board until it is closed out."""

from __future__ import annotations

import importlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from controlled_substances import reports, rules, selectors, services
from controlled_substances.models import CountLine, DrawCloseOut, InventoryCount, LedgerEntry, LossReport
from controlled_substances.tests.factories import PASSWORD, ProductFactory, manager, receive, registration
from infusions import services as infusion_services
from infusions.models import InfusionSession
from infusions.tests.factories import S, advance, nurse, open_session, set_policy

pytestmark = pytest.mark.django_db

# Three hours ago to the second: the infusion's times are fixed relative to each other, never
# to the wall clock's time of day.
T0 = timezone.now().replace(microsecond=0) - timedelta(hours=3)


def _at(minutes: float):
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def ten_mg():
    product = ProductFactory(
        ndc="0143-9508-10", concentration_mg_per_ml=Decimal("10.000"), container_volume_ml=Decimal("20.00")
    )
    return receive(product=product, lot_number="K10A", containers=2)


@pytest.fixture
def people():
    return nurse(username="rn.gives"), nurse(username="rn.witness", password=PASSWORD)


@pytest.fixture
def drawn(people, ten_mg):
    """Cleared with a verified 40 mg in 100 mL (0.4 mg/mL) at 150 mL/h over 40 min, and its
    4.00 mL of 10 mg/mL (40.00 mg) drawn from a vial held where the infusion is given."""
    rn, verifier = people
    set_policy()
    session = advance(
        open_session(by=rn, location=registration().location), S.CLEARED, nurse_user=rn, verifier=verifier
    )
    draw = services.session_draw_record(session=session, container=ten_mg[0], volume_ml="4.00", by=rn, at=_at(-5))
    return session, draw


def _start(session, rn):
    return infusion_services.session_transition(session=session, to=S.INFUSING, by=rn, at=T0)


def _complete(session, rn, minutes):
    return infusion_services.session_transition(
        session=session, to=S.COMPLETED, by=rn, planned_dose_delivered=True, at=_at(minutes)
    )


def _stop(session, rn, minutes):
    return infusion_services.session_transition(
        session=session, to=S.STOPPED_EARLY, by=rn, reason_code="adverse_event", reason="Nausea", at=_at(minutes)
    )


def _run(session, rn, case):
    """Each case's infusion through the flowsheet and lifecycle services."""
    session = _start(session, rn)
    if case == "full rate":
        return _complete(session, rn, 40)
    if case == "rate change mid-infusion":
        infusion_services.rate_change_record(
            session=session, by=rn, rate_ml_per_h=Decimal("75.0"), reason="BP up", at=_at(20)
        )
        return _stop(session, rn, 40)  # the slower run has not run the bag by then
    if case == "pause and resume":
        infusion_services.session_transition(session=session, to=S.PAUSED, by=rn, reason="Nausea", at=_at(10))
        session = InfusionSession.objects.get(pk=session.pk)
        session = infusion_services.session_transition(session=session, to=S.INFUSING, by=rn, at=_at(20))
        return _stop(session, rn, 40)  # ten minutes paused: the bag is not run by then
    if case == "stopped early":
        return _stop(session, rn, 16)
    raise AssertionError(case)


def _waste(draw, rn, witness, volume, left_in):
    return services.waste_record(
        of_draw=draw, volume_ml=volume, left_in=left_in, witness=witness, by=rn, at=_at(60), manner="Expelled"
    )


def _sign(session, rn, verifier):
    return advance(InfusionSession.objects.get(pk=session.pk), S.SIGNED, nurse_user=rn, verifier=verifier)


@pytest.mark.parametrize(
    ("case", "delivered_mg", "bag_left_ml", "wasted_mg"),
    [
        ("full rate", "40.00", "0", "0.00"),
        ("rate change mid-infusion", "30.00", "25.00", "10.00"),
        ("pause and resume", "30.00", "25.00", "10.00"),
        ("stopped early", "16.00", "60.00", "24.00"),
    ],
)
def test_delivery_and_the_bags_remainder_account_for_the_draw(
    case, delivered_mg, bag_left_ml, wasted_mg, drawn, people, client_as, admin
):
    rn, verifier = people
    session, draw = drawn
    session = _run(session, rn, case)
    assert session.delivered_mg == Decimal(delivered_mg), case
    witness = verifier if Decimal(bag_left_ml) else None
    waste = _waste(draw, rn, witness, bag_left_ml, "bag" if witness else "")
    assert waste.quantity_mg == Decimal(wasted_mg), case
    session = _sign(session, rn, verifier)
    assert session.status == S.SIGNED, case
    # The ledger's dispensing log carries the same delivered mg as the session, to the 0.01 mg.
    reg = draw.container.registration
    today = timezone.localdate(draw.occurred_at)
    row = selectors.dispensing_log(registration=reg, start=today, end=today)[0]
    assert row.delivered_mg == session.delivered_mg
    table = reports.dispensing(registration=reg, start=today, end=today)
    record = dict(zip(table.header, table.rows[0], strict=True))
    assert record["Delivered mg (pump)"] == delivered_mg
    assert record["Drawn mg"] == "40.00"
    assert record["Wasted mg"] == wasted_mg


def test_a_bag_remainder_is_wasted_at_the_bags_concentration_a_syringe_remainder_at_the_vials(drawn, people):
    rn, verifier = people
    session, draw = drawn
    _stop(_start(session, rn), rn, 16)  # 16 mg delivered; 60 mL of 0.4 mg/mL left in the bag
    in_syringe = _waste(draw, rn, verifier, "0.10", "syringe")
    in_bag = _waste(draw, rn, verifier, "57.50", "bag")
    assert (in_syringe.quantity_mg, in_syringe.measured_mg_per_ml) == (Decimal("1.00"), Decimal("10.0000"))
    # 57.5 mL of the bag is 23 mg (at the vial's 10 mg/mL it would have read 575 mg).
    assert (in_bag.quantity_mg, in_bag.measured_ml, in_bag.measured_mg_per_ml) == (
        Decimal("23.00"),
        Decimal("57.50"),
        Decimal("0.4000"),
    )
    assert in_bag.quantity_ml == Decimal("2.30")  # its vial-equivalent
    assert in_bag.left_in == "bag"


def test_a_bag_remainder_read_at_the_vials_concentration_is_refused(drawn, people):
    rn, verifier = people
    session, draw = drawn
    _stop(_start(session, rn), rn, 16)
    with pytest.raises(services.LedgerError) as error:
        _waste(draw, rn, verifier, "60.00", "syringe")  # 600 mg: far more than the 24 mg left
    assert "only 24.00 mg of that draw is left to waste" in str(error.value)
    assert not LedgerEntry.objects.filter(kind="waste", of_draw=draw).exists()


def test_the_bag_cannot_be_wasted_while_it_is_still_running(drawn, people):
    rn, verifier = people
    session, draw = drawn
    _start(session, rn)
    with pytest.raises(services.LedgerError, match="still running"):
        _waste(draw, rn, verifier, "10.00", "bag")


@pytest.mark.parametrize("left_in", ["syringe", "bag"])
def test_an_unwitnessed_non_zero_waste_is_refused(left_in, drawn, people, client_as):
    rn, _ = people
    session, draw = drawn
    _stop(_start(session, rn), rn, 16)
    with pytest.raises(services.LedgerError, match="needs a witness"):
        _waste(draw, rn, None, "1.00", left_in)
    # Through the form too: the error is at the witness field and nothing is written.
    panel = client_as(rn).post(
        reverse("controlled_substances:session-waste", args=[session.pk]),
        {"draw": draw.pk, f"w{draw.pk}-volume_ml": "1.00", f"w{draw.pk}-left_in": left_in},
    )
    assert panel.status_code == 200
    assert "Waste needs a witness." in panel.content.decode()
    assert not LedgerEntry.objects.filter(kind="waste", of_draw=draw).exists()


def test_waste_posted_without_a_draw_of_this_session_is_refused_above_the_forms_and_writes_nothing(
    drawn, people, client_as
):
    """A stale tab, a hand-made post or a draw of another session: the panel says so, never a 500."""
    rn, verifier = people
    session, draw = drawn
    client = client_as(rn)
    fields = {
        f"w{draw.pk}-volume_ml": "1.00",
        f"w{draw.pk}-witness": verifier.pk,
        f"w{draw.pk}-witness_password": PASSWORD,
    }
    for posted in ({}, {"draw": ""}, {"draw": "abc"}, {"draw": "²"}, {"draw": "9" * 30}, {"draw": draw.pk + 1000}):
        panel = client.post(reverse("controlled_substances:session-waste", args=[session.pk]), {**posted, **fields})
        assert panel.status_code == 200, posted
        assert "Choose the draw the waste is from." in panel.content.decode()
    assert not LedgerEntry.objects.filter(kind="waste").exists()


def test_waste_naming_neither_a_draw_nor_a_vial_is_refused_in_words_and_writes_nothing(people):
    rn, verifier = people
    with pytest.raises(services.LedgerError, match="Choose the vial the waste is from."):
        services.waste_record(volume_ml="1.00", by=rn, witness=verifier, at=_at(0))
    assert not LedgerEntry.objects.filter(kind="waste").exists()


def test_a_close_out_line_without_its_draw_is_refused_in_words_before_any_loss_report(drawn, people):
    """The close-out resolution reads the draw for its loss entry; a line that lost it is refused
    before a DEA loss report is opened or the ledger is touched."""
    rn, verifier = people
    session, draw = drawn
    _stop(_start(session, rn), rn, 16)
    _waste(draw, rn, verifier, "10.00", "bag")
    session = advance(InfusionSession.objects.get(pk=session.pk), S.DISCHARGED, nurse_user=rn, verifier=verifier)
    with pytest.raises(ValidationError):
        infusion_services.session_transition(session=session, to=S.SIGNED, by=rn)
    line = CountLine.objects.get(of_draw=draw)
    line.of_draw = None
    entries = LedgerEntry.objects.count()
    with pytest.raises(services.LedgerError, match="This count line is not about a draw."):
        services._closeout_line_resolve(
            line=line,
            explanation="Bag found leaking at the port",
            by=manager(),
            at=_at(90),
            witness=None,
            as_loss="loss",
            not_a_loss_confirmed=False,
        )
    assert LedgerEntry.objects.count() == entries
    assert not LossReport.objects.exists()


def test_a_mismatch_blocks_signing_and_opens_a_discrepancy_on_the_ledger(drawn, people, client_as, admin):
    rn, verifier = people
    session, draw = drawn
    _stop(_start(session, rn), rn, 16)
    _waste(draw, rn, verifier, "10.00", "bag")  # 4 mg: 20 mg of the 24 left in the bag not recorded
    session = advance(InfusionSession.objects.get(pk=session.pk), S.DISCHARGED, nurse_user=rn, verifier=verifier)
    with pytest.raises(ValidationError) as refused:
        infusion_services.session_transition(session=session, to=S.SIGNED, by=rn)
    message = " ".join(refused.value.messages)
    assert "Drawn 40.00 mg ≠ delivered 16.00 mg + wasted 4.00 mg (20.00 mg not accounted for" in message
    assert InfusionSession.objects.get(pk=session.pk).status == S.DISCHARGED
    # Sent to the ledger's discrepancy list (a session close-out line), once however often it is refused.
    with pytest.raises(ValidationError):
        infusion_services.session_sign(session=InfusionSession.objects.get(pk=session.pk), by=rn)
    line = CountLine.objects.get(of_draw=draw)
    assert line.count.type == InventoryCount.Type.CLOSE_OUT
    assert (line.discrepancy_mg, line.significant) == (Decimal("-20.00"), True)  # ≥ 10 mg: clinic policy
    report = reports.discrepancies(registration=draw.container.registration)
    assert report.rows[0][0] == "Session close-out"
    assert report.rows[0][-3] == "NEEDS EXPLANATION"
    # Resolved through the same workflow as a count: a significant shortfall is reported as a loss,
    # which opens the DEA notice (the vial's balance does not move: the drug left it with the draw).
    balance = draw.container.remaining_ml
    services.count_line_resolve(
        line=line, explanation="Bag found leaking at the port", as_loss="loss", by=manager(), at=_at(90)
    )
    loss = LedgerEntry.objects.get(kind="loss_theft", of_draw=draw)
    assert (loss.quantity_mg, loss.delta_ml, loss.loss_report.kind) == (Decimal("20.00"), 0, LossReport.Kind.LOSS)
    draw.container.refresh_from_db()
    assert draw.container.remaining_ml == balance
    assert _sign(session, rn, verifier).status == S.SIGNED


def test_a_minor_mismatch_may_be_explained_with_a_second_person(drawn, people):
    rn, verifier = people
    session, draw = drawn
    _stop(_start(session, rn), rn, 16)
    _waste(draw, rn, verifier, "50.00", "bag")  # 20 mg: 4 mg short, below the 10 mg threshold
    with pytest.raises(ValidationError):
        _sign(session, rn, verifier)
    line = CountLine.objects.get(of_draw=draw)
    assert not line.significant
    with pytest.raises(services.LedgerError, match="second person"):
        services.count_line_resolve(line=line, explanation="Misread the bag", by=manager(), at=_at(90))
    services.count_line_resolve(line=line, explanation="Misread the bag", witness=verifier, by=manager(), at=_at(90))
    assert _sign(session, rn, verifier).status == S.SIGNED


def _drawn_in_pre_check(rn, verifier, vial, location):
    """Checked in, the dose calculated and verified, drawn: still in the pre-check."""
    from infusions.tests.factories import PHQ9_CLEAR, clean_precheck

    session = advance(open_session(by=rn, location=location), S.PRE_CHECK, nurse_user=rn, verifier=verifier)
    infusion_services.instrument_record(session=session, by=rn, code="phq9", answers=PHQ9_CLEAR)
    infusion_services.precheck_record(session=session, by=rn, data=clean_precheck())
    calc = infusion_services.dose_calculate(
        session=session, by=rn, vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("96")
    )
    infusion_services.dose_verify(calculation=calc, by=verifier, fingerprint=calc.fingerprint)
    draw = services.session_draw_record(session=session, container=vial, volume_ml="4.00", by=rn, at=_at(-5))
    return InfusionSession.objects.get(pk=session.pk), draw


def test_a_deferred_after_draw_session_shows_an_open_draw_on_the_chair_board(
    people, ten_mg, client_as, frontdesk, django_assert_max_num_queries
):
    rn, verifier = people
    set_policy()
    location = registration().location
    session, draw = _drawn_in_pre_check(rn, verifier, ten_mg[0], location)
    infusion_services.precheck_defer(session=session, by=rn, reason_code="patient_declined", reason="Changed mind")
    url = reverse("infusions:board", args=[location.pk])
    assert "Open draw" in client_as(rn).get(url).content.decode()
    assert "Open draw" not in client_as(frontdesk).get(url).content.decode()  # nothing clinical for the desk
    # Drawn, then the appointment cancelled: its chair still shows the drug until it is wasted.
    other, _ = _drawn_in_pre_check(rn, verifier, ten_mg[0], location)
    from scheduling.services import appointment_cancel

    appointment_cancel(appointment=other.appointment, by=frontdesk, reason="Patient unwell")
    # Open draws on more chairs cost the board nothing more.
    for _ in range(2):
        more, _ = _drawn_in_pre_check(rn, verifier, ten_mg[1], location)
        infusion_services.precheck_defer(session=more, by=rn, reason_code="other", reason="Pump fault")
    client = client_as(rn)
    with django_assert_max_num_queries(40) as pinned:
        body = client.get(url).content.decode()
    assert body.count("Open draw: waste not recorded") == 4
    # The syringe still holds the 4.00 mL: wasted and witnessed, the badge goes.
    _waste(draw, rn, verifier, "4.00", "syringe")
    with django_assert_max_num_queries(len(pinned.captured_queries)):
        body = client.get(url).content.decode()
    assert body.count("Open draw: waste not recorded") == 3


def test_a_zero_waste_does_not_close_out_a_deferred_sessions_full_syringe(people, ten_mg, client_as):
    rn, verifier = people
    set_policy()
    location = registration().location
    session, draw = _drawn_in_pre_check(rn, verifier, ten_mg[0], location)
    infusion_services.precheck_defer(session=session, by=rn, reason_code="patient_declined", reason="Changed mind")
    _waste(draw, rn, None, "0", "")  # "nothing left", but nothing was given: the 40 mg is unaccounted for
    assert selectors.open_session_draws(today=timezone.localdate()) == [draw]
    url = reverse("infusions:board", args=[location.pk])
    assert "Open draw" in client_as(rn).get(url).content.decode()
    _waste(draw, rn, verifier, "4.00", "syringe")
    assert selectors.open_session_draws(today=timezone.localdate()) == []
    assert "Open draw" not in client_as(rn).get(url).content.decode()


def test_an_early_signing_attempt_files_no_close_out_discrepancy(drawn, people):
    """Signing tried while the patient is still recovering is refused for that reason; the
    bag's remainder, wasted afterwards, closes the draw with nothing left on the discrepancy list."""
    rn, verifier = people
    session, draw = drawn
    _stop(_start(session, rn), rn, 16)
    with pytest.raises(ValidationError):
        infusion_services.session_sign(session=InfusionSession.objects.get(pk=session.pk), by=rn)
    assert not CountLine.objects.filter(of_draw=draw).exists()
    _waste(draw, rn, verifier, "60.00", "bag")  # 24 mg: drawn 40 = delivered 16 + wasted 24
    assert _sign(session, rn, verifier).status == S.SIGNED
    assert not CountLine.objects.filter(of_draw=draw).exists()


def test_an_open_draw_from_an_earlier_day_stays_on_the_chair_board_until_wasted(people, ten_mg, client_as, frontdesk):
    import time_machine

    rn, verifier = people
    set_policy()
    location = registration().location
    session, draw = _drawn_in_pre_check(rn, verifier, ten_mg[0], location)
    infusion_services.precheck_defer(session=session, by=rn, reason_code="patient_declined", reason="Changed mind")
    chair = session.appointment.resource.name
    url = reverse("infusions:board", args=[location.pk])
    # Days later the session's chair is free again, but the drug drawn for it is still unaccounted for.
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        body = client_as(rn).get(url).content.decode()
        assert "Drug drawn on an earlier day is not closed out at " + chair in body
        assert "earlier-open-draws" not in client_as(frontdesk).get(url).content.decode()
        _waste(draw, rn, verifier, "4.00", "syringe")
        assert "earlier-open-draws" not in client_as(rn).get(url).content.decode()


def _closed_out(draw) -> bool:
    return DrawCloseOut.objects.filter(draw=draw).exists()


def test_the_database_marks_a_draw_closed_out_with_its_waste_and_reopens_it_when_the_waste_is_reversed(people, ten_mg):
    rn, verifier = people
    set_policy()
    session, draw = _drawn_in_pre_check(rn, verifier, ten_mg[0], registration().location)
    infusion_services.precheck_defer(session=session, by=rn, reason_code="patient_declined", reason="Changed mind")
    today = timezone.localdate()
    assert not _closed_out(draw)
    # "Nothing left" of a full syringe that was never given closes nothing.
    zero = _waste(draw, rn, None, "0", "")
    assert not _closed_out(draw)
    assert selectors.open_session_draws(today=today) == [draw]
    # Reverse the wrong zero, then waste what the syringe holds: the draw is closed out.
    services.entry_reverse(entry=zero, reason="Syringe was full", by=manager(), witness=verifier, at=_at(61))
    waste = _waste(draw, rn, verifier, "4.00", "syringe")
    assert _closed_out(draw)
    assert selectors.open_session_draws(today=today) == []
    # A reversed waste closes nothing: the draw is open again, on the ledger home and the board.
    services.entry_reverse(entry=waste, reason="Wrong syringe", by=manager(), witness=verifier, at=_at(62))
    assert not _closed_out(draw)
    assert selectors.open_session_draws(today=today) == [draw]


def test_an_explanation_on_the_discrepancy_list_closes_the_draw_out(drawn, people):
    rn, verifier = people
    session, draw = drawn
    _stop(_start(session, rn), rn, 16)
    _waste(draw, rn, verifier, "50.00", "bag")  # 20 mg: 4 mg short
    assert not _closed_out(draw)
    with pytest.raises(ValidationError):
        _sign(session, rn, verifier)
    line = CountLine.objects.get(of_draw=draw)
    assert not _closed_out(draw)
    services.count_line_resolve(line=line, explanation="Misread the bag", witness=verifier, by=manager(), at=_at(90))
    assert _closed_out(draw)


def test_the_closed_out_draws_already_recorded_are_filled_in_by_the_migration(drawn, people):
    rn, verifier = people
    session, draw = drawn
    _complete(_start(session, rn), rn, 40)
    _waste(draw, rn, verifier, "0", "")  # all 40 mg delivered
    assert _closed_out(draw)
    backfill = importlib.import_module("controlled_substances.migrations.0010_draw_closeout").BACKFILL
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM controlled_substances_drawcloseout")
        cursor.execute(backfill)
    assert _closed_out(draw)
    assert selectors.open_session_draws(today=timezone.localdate()) == []


def test_the_databases_graduation_is_the_rules_one():
    """The close-out function in SQL reads one graduation as 0.01 mL at the vial's concentration,
    less 0.01 mg of rounding."""
    assert (Decimal("0.01"), Decimal("0.01")) == (rules.ML_QUANTUM, rules.MG_QUANTUM)


def test_a_cleared_session_abandoned_after_the_draw_keeps_its_syringe_open_until_wasted(people, ten_mg, client_as):
    """Cleared, the dose drawn, then not treated today: the drawn drug stays on the chair board
    until a witnessed waste closes it, as for any deferral."""
    rn, verifier = people
    set_policy()
    location = registration().location
    session = advance(open_session(by=rn, location=location), S.CLEARED, nurse_user=rn, verifier=verifier)
    draw = services.session_draw_record(session=session, container=ten_mg[0], volume_ml="4.00", by=rn, at=_at(-5))
    infusion_services.session_transition(
        session=session, to=S.DEFERRED, by=rn, reason_code="patient_declined", reason="Left after clearance"
    )
    url = reverse("infusions:board", args=[location.pk])
    assert "Open draw: waste not recorded" in client_as(rn).get(url).content.decode()
    _waste(draw, rn, verifier, "4.00", "syringe")
    assert "Open draw: waste not recorded" not in client_as(rn).get(url).content.decode()
