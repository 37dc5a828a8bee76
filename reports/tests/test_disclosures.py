"""Accounting of disclosures: one issued consultation summary disclosed three times in the week
(two downloads for the patient, one e-mail to a referrer) and once in March (outside the range)."""

from __future__ import annotations

import pytest
import time_machine

from documents import services
from documents.models import Disclosure
from documents.tests.factories import issued_summary
from reports.selectors.compliance import disclosures
from reports.tests.conftest import filters, local

pytestmark = pytest.mark.django_db


def test_disclosures_by_purpose_and_channel():
    document = issued_summary()
    for at, purpose, channel in (
        (local(3, 10), Disclosure.Purpose.PATIENT_COPY, Disclosure.Channel.DOWNLOAD),
        (local(4, 10), Disclosure.Purpose.PATIENT_COPY, Disclosure.Channel.DOWNLOAD),
        (local(5, 10), Disclosure.Purpose.REFERRAL, Disclosure.Channel.EMAIL),
        (local(5, 10, month=3), Disclosure.Purpose.REFERRAL, Disclosure.Channel.EMAIL),
    ):
        with time_machine.travel(at, tick=False):
            services.document_disclose(
                document=document, by=document.issued_by, recipient="someone", purpose=purpose, channel=channel
            )
    rows = {r["purpose"]: r for r in disclosures(filters()).rows}
    copy, referral = rows["Copy for the patient"], rows["Referring or treating provider"]
    assert (copy["download"], copy["email"], copy["total"], copy["patients"]) == (2, 0, 2, 1)
    assert (referral["email"], referral["total"]) == (1, 1)


def test_no_disclosures_no_rows(db):
    assert disclosures(filters()).rows == []
