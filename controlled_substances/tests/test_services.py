"""Every movement through the services: balances, witnesses, reversals, losses, counts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from controlled_substances import selectors, services
from controlled_substances.models import ControlledSubstancePolicy, LedgerEntry, LossReport
from controlled_substances.tests.factories import container, manager, nurse, receive, registration

pytestmark = pytest.mark.django_db
NOW = timezone.now


def test_receiving_creates_sealed_containers_each_with_its_receipt():
    by = manager()
    made = receive(containers=3, by=by)
    assert [c.remaining_ml for c in made] == [Decimal("10.00")] * 3
    receipts = LedgerEntry.objects.filter(kind="receipt")
    assert receipts.count() == 3
    assert {e.quantity_mg for e in receipts} == {Decimal("500.00")}
    assert all(e.seq == 1 and e.actor == by for e in receipts)
    assert AuditEvent.objects.filter(action="controlled_substances.entry.receipt", actor=by).count() == 3


def test_receiving_the_same_lot_with_another_expiry_is_refused():
    receive(lot_number="L1")
    with pytest.raises(services.LedgerError, match="different expiry"):
        receive(lot_number="L1", expiry=timezone.localdate() + timedelta(days=10))


def test_a_draw_moves_the_balance_opens_the_vial_and_is_audited_against_the_patient(patient):
    vial, by = container(), nurse()
    entry = services.administration_record(container=vial, volume_ml="0.70", patient=patient, by=by, at=NOW())
    vial.refresh_from_db()
    assert (entry.quantity_ml, entry.quantity_mg, entry.delta_ml) == (
        Decimal("0.70"),
        Decimal("35.00"),
        Decimal("-0.70"),
    )
    assert vial.remaining_ml == entry.balance_after_ml == Decimal("9.30")
    assert vial.opened_at is not None
    assert AuditEvent.objects.get(action="controlled_substances.entry.administration").patient_id == patient.pk


def test_a_draw_larger_than_what_is_left_is_refused(patient):
    vial = container()
    with pytest.raises(services.LedgerError, match="Only 10.00 mL remain"):
        services.administration_record(container=vial, volume_ml="10.01", patient=patient, by=nurse(), at=NOW())


def test_an_expired_vial_cannot_be_drawn_from(patient):
    vial = container(expiry=timezone.localdate() - timedelta(days=1))
    with pytest.raises(services.LedgerError, match="expired"):
        services.administration_record(container=vial, volume_ml="1", patient=patient, by=nurse(), at=NOW())


def test_waste_of_a_draw_keeps_the_vial_balance_and_both_identities(patient):
    vial, by, witness = container(), nurse(), nurse()
    draw = services.administration_record(container=vial, volume_ml="1.00", patient=patient, by=by, at=NOW())
    waste = services.waste_record(of_draw=draw, volume_ml="0.30", by=by, witness=witness, at=NOW())
    vial.refresh_from_db()
    assert vial.remaining_ml == Decimal("9.00")
    assert (waste.actor, waste.witness, waste.delta_ml, waste.quantity_mg) == (by, witness, 0, Decimal("15.00"))
    today = timezone.localdate()
    row = selectors.dispensing_log(registration=vial.registration, start=today, end=today)[0]
    assert (row.given_mg, row.wasted_mg) == (Decimal("35.00"), Decimal("15.00"))
    with pytest.raises(services.LedgerError, match="only 35.00 mg of that draw is left to waste"):
        services.waste_record(of_draw=draw, volume_ml="0.71", by=by, witness=witness, at=NOW())


def test_waste_needs_a_witness_who_is_someone_else():
    vial, by = container(), nurse()
    with pytest.raises(services.LedgerError, match="needs a witness"):
        services.waste_record(container=vial, volume_ml="1", by=by, witness=None, at=NOW())
    with pytest.raises(services.LedgerError, match="different people"):
        services.waste_record(container=vial, volume_ml="1", by=by, witness=by, at=NOW())


def test_a_reversal_restores_the_balance_and_leaves_the_original(patient):
    vial, by = container(), nurse()
    draw = services.administration_record(container=vial, volume_ml="2.00", patient=patient, by=by, at=NOW())
    boss = manager()
    reversal = services.entry_reverse(entry=draw, reason="Charted on the wrong vial", by=boss, witness=by, at=NOW())
    vial.refresh_from_db()
    assert vial.remaining_ml == Decimal("10.00")
    assert reversal.delta_ml == Decimal("2.00")
    assert reversal.reverses == draw
    assert LedgerEntry.objects.filter(pk=draw.pk, quantity_ml=Decimal("2.00")).exists()
    with pytest.raises(services.LedgerError, match="already been reversed"):
        services.entry_reverse(entry=draw, reason="again", by=boss, witness=by, at=NOW())


def test_destruction_needs_two_witnesses_and_form_41():
    vial, by, w1, w2 = container(), manager(), manager(), nurse()
    with pytest.raises(services.LedgerError, match="Form 41"):
        services.destruction_record(
            container=vial, by=by, witness=w1, second_witness=w2, form_41_ref=" ", manner="x", at=NOW()
        )
    with pytest.raises(services.LedgerError, match="different people"):
        services.destruction_record(
            container=vial, by=by, witness=w1, second_witness=w1, form_41_ref="F41", manner="x", at=NOW()
        )
    entry = services.destruction_record(
        container=vial, by=by, witness=w1, second_witness=w2, form_41_ref="F41-2026-3", manner="Rx Destroyer", at=NOW()
    )
    assert entry.quantity_ml == Decimal("10.00")
    assert entry.balance_after_ml == 0


def test_a_loss_opens_a_report_with_its_deea_deadlines():
    vial, by = container(), manager()
    friday = timezone.make_aware(timezone.datetime(2026, 11, 27, 17, 0))
    entry = services.loss_record(
        container=vial, volume_ml="3", kind="theft", discovered_at=friday, description="Vial missing", by=by
    )
    report = LossReport.objects.get()
    assert entry.loss_report == report
    assert str(report.notice_due_on) == "2026-11-30"
    assert str(report.form_106_due_on) == "2027-01-11"
    services.loss_report_update(
        report=report, notice_given_on=friday.date(), form_106_ref="DEA106-XYZ", form_106_filed_on=None, by=by
    )
    assert AuditEvent.objects.filter(action="controlled_substances.loss_report.updated").exists()


def test_a_count_lists_discrepancies_and_an_explanation_reconciles_them(patient):
    by = manager()
    a, b = receive(containers=2, by=by)
    services.administration_record(container=a, volume_ml="1.00", patient=patient, by=nurse(), at=NOW())
    count = services.count_record(
        registration=registration(),
        type="periodic",
        business_time="close",
        counted_at=NOW(),
        by=by,
        lines=[(a, Decimal("8.90"), "estimated"), (b, Decimal("10.00"), "exact")],
    )
    line_a, line_b = count.lines.order_by("container__code")
    assert (line_a.ledger_ml, line_a.discrepancy_ml, line_a.discrepancy_mg) == (
        Decimal("9.00"),
        Decimal("-0.10"),
        Decimal("-5.00"),
    )
    assert not line_a.significant
    assert line_a.needs_explanation
    assert not line_b.needs_explanation
    services.count_line_resolve(
        line=line_a, explanation="Overdraw when priming the line", by=by, witness=nurse(), at=NOW()
    )
    a.refresh_from_db()
    assert a.remaining_ml == Decimal("8.90")
    assert selectors.reconciliation_mismatches() == []
    with pytest.raises(services.LedgerError, match="already been explained"):
        services.count_line_resolve(line=line_a, explanation="again", by=by, at=NOW())


def test_every_container_on_hand_must_be_counted():
    a, b = receive(containers=2)
    with pytest.raises(services.LedgerError, match="missing"):
        services.count_record(
            registration=registration(),
            type="biennial",
            business_time="opening",
            counted_at=NOW(),
            by=manager(),
            lines=[(a, "10", "exact")],
        )


def test_a_significant_shortfall_goes_to_the_loss_workflow_unless_confirmed_otherwise():
    by = manager()
    ControlledSubstancePolicy.objects.update_or_create(id=1, defaults={"significant_discrepancy_mg": Decimal("10")})
    vial = container(by=by)
    count = services.count_record(
        registration=registration(),
        type="periodic",
        business_time="close",
        counted_at=NOW(),
        by=by,
        lines=[(vial, "9.00", "exact")],
    )
    line = count.lines.get()
    assert line.significant
    with pytest.raises(services.LedgerError, match="significant"):
        services.count_line_resolve(line=line, explanation="Don't know", by=by, at=NOW())
    services.count_line_resolve(
        line=line, explanation="Vial found cracked, contents missing", as_loss="loss", by=by, at=NOW()
    )
    line.refresh_from_db()
    assert line.resolution.kind == "loss_theft"
    assert line.resolution.loss_report is not None
    vial.refresh_from_db()
    assert vial.remaining_ml == Decimal("9.00")


def test_the_ledger_always_sums_to_every_balance(patient):
    by = manager()
    vials = receive(containers=2, by=by)
    services.administration_record(container=vials[0], volume_ml="4", patient=patient, by=nurse(), at=NOW())
    services.transfer_record(
        container=vials[1],
        volume_ml="10",
        counterparty_name="Clinic B",
        counterparty_dea_number="fb7654321",
        by=by,
        at=NOW(),
    )
    services.adjustment_record(
        container=vials[0], delta_ml="0.15", reason="Overfill found at count", by=by, witness=nurse(), at=NOW()
    )
    assert selectors.reconciliation_mismatches() == []
