"""The daily reconciliation: silent when the ledger adds up, loud (alert, audit, exit 1) when not."""

from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent
from controlled_substances.models import Container
from controlled_substances.tasks import reconcile
from controlled_substances.tests.factories import container, manager

pytestmark = pytest.mark.django_db


def test_a_reconciling_ledger_passes_quietly():
    container()
    call_command("ledger_reconcile")
    assert reconcile() == 0
    assert not mail.outbox
    assert AuditEvent.objects.filter(action="controlled_substances.reconciliation.run", outcome="allowed").exists()


def test_a_balance_changed_behind_the_ledgers_back_is_reported():
    manager(email="boss@grace-mindcare.invalid")
    vial = container()
    Container.objects.filter(pk=vial.pk).update(remaining_ml=Decimal("9.50"))  # e.g. raw SQL by someone
    with pytest.raises(CommandError, match=vial.code):
        call_command("ledger_reconcile")
    assert "does not reconcile" in mail.outbox[0].subject
    assert "9.50" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="controlled_substances.reconciliation.run", outcome="error").exists()
