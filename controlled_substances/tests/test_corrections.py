"""Corrections are never one person's act: a reversal or an adjustment needs a second person,
a shortfall found by an adjustment goes through the loss workflow, and what a reversal may
undo depends on the kind of entry."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controlled_substances import services
from controlled_substances.models import ControlledSubstancePolicy, LedgerEntry, LossReport
from controlled_substances.tests.factories import PASSWORD, container, manager, nurse, receive, registration

pytestmark = pytest.mark.django_db
NOW = timezone.now


@pytest.fixture
def draw(patient):
    return services.administration_record(
        container=container(), volume_ml="2.00", patient=patient, by=nurse(), at=NOW()
    )


def test_a_reversal_without_a_second_person_is_refused(draw):
    with pytest.raises(services.LedgerError, match="needs a second person"):
        services.entry_reverse(entry=draw, reason="Wrong vial", by=manager(), witness=None, at=NOW())
    assert not LedgerEntry.objects.filter(kind="reversal").exists()


def test_the_recorder_cannot_be_their_own_second_person(draw):
    boss = manager()
    with pytest.raises(services.LedgerError, match="not the person recording"):
        services.entry_reverse(entry=draw, reason="Wrong vial", by=boss, witness=boss, at=NOW())
    with pytest.raises(services.LedgerError, match="not the person recording"):
        services.adjustment_record(
            container=draw.container, delta_ml="0.10", reason="x", by=boss, witness=boss, at=NOW()
        )


def test_a_second_person_without_ledger_or_clinical_permission_is_refused(draw):
    from accounts.roles import Role
    from accounts.tests.factories import UserFactory

    desk = UserFactory(role=Role.FRONT_DESK)
    with pytest.raises(services.LedgerError, match="not authorised"):
        services.entry_reverse(entry=draw, reason="Wrong vial", by=manager(), witness=desk, at=NOW())


def test_a_reversal_records_its_second_person(draw):
    boss, second = manager(), nurse()
    reversal = services.entry_reverse(entry=draw, reason="Wrong vial", by=boss, witness=second, at=NOW())
    assert (reversal.actor, reversal.witness, reversal.reverses) == (boss, second, draw)


def test_an_adjustment_without_a_second_person_is_refused():
    vial = container()
    with pytest.raises(services.LedgerError, match="needs a second person"):
        services.adjustment_record(
            container=vial, delta_ml="0.10", reason="Overfill", by=manager(), witness=None, at=NOW()
        )


def test_a_significant_adjustment_shortfall_lands_in_the_loss_workflow():
    ControlledSubstancePolicy.objects.update_or_create(id=1, defaults={"significant_discrepancy_mg": Decimal("10")})
    vial, boss, second = container(), manager(), nurse()
    # 0.20 mL at 50 mg/mL = 10 mg: at the threshold, so not a silent adjustment.
    with pytest.raises(services.LedgerError, match=r"10.00 mg is at or above the significant-loss threshold \(10"):
        services.correction_record(container=vial, delta_ml="-0.20", reason="Short", by=boss, witness=second, at=NOW())
    friday = timezone.make_aware(timezone.datetime(2026, 11, 27, 17, 0))
    entry = services.correction_record(
        container=vial, delta_ml="-0.20", reason="Vial short at shelf check", as_loss="loss", by=boss, at=friday
    )
    report = LossReport.objects.get()
    assert (entry.kind, entry.loss_report) == ("loss_theft", report)
    assert (str(report.notice_due_on), str(report.form_106_due_on)) == ("2026-11-30", "2027-01-11")
    vial.refresh_from_db()
    assert vial.remaining_ml == Decimal("9.80")


def test_a_significant_shortfall_both_people_confirm_is_not_a_loss_is_adjusted_and_says_so():
    vial = container()
    entry = services.correction_record(
        container=vial,
        delta_ml="-1.00",
        reason="Receipt keyed as 10 mL, vial label says 9 mL",
        by=manager(),
        witness=nurse(),
        not_a_loss_confirmed=True,
        at=NOW(),
    )
    assert entry.kind == "adjustment"
    assert "confirmed not a loss" in entry.reason


def test_a_minor_shortfall_or_a_surplus_is_an_adjustment():
    vial, second = container(), nurse()
    minor = services.adjustment_record(
        container=vial, delta_ml="-0.05", reason="Droplet", by=manager(), witness=second, at=NOW()
    )
    assert (minor.kind, minor.delta_ml, minor.witness) == ("adjustment", Decimal("-0.05"), second)
    with pytest.raises(services.LedgerError, match="surplus is not a loss"):
        services.correction_record(container=vial, delta_ml="0.05", reason="x", as_loss="loss", by=manager(), at=NOW())


def test_a_witnessed_waste_of_a_draw_is_reversed_only_by_reopening_the_draw(draw):
    rn, witness, boss = draw.actor, nurse(), manager()
    waste = services.waste_record(of_draw=draw, volume_ml="0.50", by=rn, witness=witness, at=NOW())
    with pytest.raises(services.LedgerError, match="waste that closes this draw"):
        services.entry_reverse(entry=draw, reason="x", by=boss, witness=rn, at=NOW())
    reversal = services.entry_reverse(entry=waste, reason="0.05 mL, not 0.50", by=boss, witness=witness, at=NOW())
    assert (reversal.quantity_ml, reversal.delta_ml) == (Decimal("0.50"), Decimal("0.00"))
    assert LedgerEntry.objects.filter(pk=waste.pk, witness=witness).exists()  # the original stays readable
    corrected = services.waste_record(of_draw=draw, volume_ml="0.05", by=rn, witness=witness, at=NOW())
    assert corrected.of_draw == draw


def test_waste_from_a_vial_destruction_and_loss_are_not_reversed():
    boss, w1, w2 = manager(), nurse(), nurse()
    a, b, c = receive(containers=3, by=boss)
    waste = services.waste_record(container=a, volume_ml="1", by=boss, witness=w1, at=NOW())
    destroyed = services.destruction_record(
        container=b, by=boss, witness=w1, second_witness=w2, form_41_ref="F41-9", manner="Rx Destroyer", at=NOW()
    )
    lost = services.loss_record(
        container=c, volume_ml="1", kind="theft", discovered_at=NOW(), description="Vial gone", by=boss
    )
    for entry, why in ((waste, "does not come back"), (destroyed, "Form 41"), (lost, "theft or loss report")):
        with pytest.raises(services.LedgerError, match=why):
            services.entry_reverse(entry=entry, reason="x", by=boss, witness=w2, at=NOW())
    assert not LedgerEntry.objects.filter(kind="reversal").exists()


def _short_count_line(boss):
    """A count line 0.05 mL short of the ledger (2.5 mg: below the default threshold)."""
    vial = container(by=boss)
    lines = [(vial, "9.95", "exact")]
    kwargs = {"type": "periodic", "business_time": "close", "counted_at": NOW(), "by": boss, "lines": lines}
    return services.count_record(registration=registration(), **kwargs).lines.get()


def test_an_adjustment_that_resolved_a_count_is_not_reversed():
    boss, second = manager(), nurse()
    line = services.count_line_resolve(
        line=_short_count_line(boss), explanation="Misread", by=boss, witness=second, at=NOW()
    )
    assert line.resolution.witness == second
    with pytest.raises(services.LedgerError, match="resolved a count"):
        services.entry_reverse(entry=line.resolution, reason="x", by=boss, witness=second, at=NOW())


def test_a_count_discrepancy_adjusted_without_a_second_person_is_refused():
    boss = manager()
    with pytest.raises(services.LedgerError, match="needs a second person"):
        services.count_line_resolve(line=_short_count_line(boss), explanation="Misread", by=boss, at=NOW())


def test_the_reversal_page_asks_for_the_second_persons_password_and_keeps_the_reason(client_as, admin, draw):
    second = nurse(password=PASSWORD)
    url = reverse("controlled_substances:entry-reverse", args=[draw.pk])
    response = client_as(admin).post(url, {"reason": "Wrong patient", "witness": second.pk, "witness_password": "no"})
    assert response.status_code == 200
    form = response.context["form"]
    assert "witness_password" in form.errors
    assert form["reason"].value() == "Wrong patient"
    response = client_as(admin).post(url, {"reason": "Wrong patient"})
    assert "witness" in response.context["form"].errors
    assert not LedgerEntry.objects.filter(kind="reversal").exists()


def test_the_reversal_page_says_why_an_entry_cannot_be_reversed(client_as, admin):
    boss, w1, w2 = manager(), nurse(), nurse()
    destroyed = services.destruction_record(
        container=container(by=boss), by=boss, witness=w1, second_witness=w2, form_41_ref="F41", manner="x", at=NOW()
    )
    page = client_as(admin).get(reverse("controlled_substances:entry-reverse", args=[destroyed.pk]))
    assert "DEA Form 41 signed by two witnesses" in page.content.decode()


def test_an_adjustment_shortfall_through_the_page_opens_the_loss_report(client_as, admin):
    vial = container()
    response = client_as(admin).post(
        reverse("controlled_substances:container-adjust", args=[vial.pk]),
        {"delta_ml": "-2.00", "reason": "Vial found short", "resolution": "theft"},
    )
    report = LossReport.objects.get()
    assert response["Location"] == reverse("controlled_substances:loss-report", args=[report.pk])
    assert report.kind == "theft"
