"""Inquiry conversion on a hand-computed set, reusing the three intakes of the conversion test
(P1 consultation Tue 3 Feb 2026 with a plan agreed; P2 consultation Wed 4 Feb with a plan agreed;
P3 consultation Thu 5 Feb, unsigned, no plan).

Inquiries, all at noon New York time, range Mon 26 Jan – Sun 15 Feb 2026:
I1 Wed 28 Jan, depression, Midtown, linked to P1 → registered, consultation, plan.
I2 Thu 29 Jan, anxiety, Midtown, linked to P3 → registered, consultation, no plan.
I3 Fri 30 Jan, depression, Midtown, closed (unreachable), no patient.
I4 Fri 30 Jan, PTSD, no preferred location, new.
I5 Tue 10 Feb, depression, Midtown, linked to P2 *after* P2's consultation and plan: registered,
   but neither step counts for it (they came before the inquiry); contacted.
I6 Fri 20 Feb: outside the range.

Totals: 5 inquiries, 3 registered, 2 consultations, 1 plan (20.0 % of inquiries), 2 open, 1 closed.
Per week: 26 Jan → 4 / 2 / 2 / 1; 9 Feb → 1 / 1 / 0 / 0.
Per reason: anxiety 1/1/1/0; depression 3/2/1/1 (33.3 %); PTSD 1/0/0/0.
Per location: Midtown 4, No preference 1.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from inquiries.tests.factories import InquiryFactory
from reports.selectors.inquiries import inquiry_conversion
from reports.tests.conftest import NY, filters
from reports.tests.test_conversion_and_outcomes import intakes  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.django_db
RANGE = {"start": date(2026, 1, 26), "end": date(2026, 2, 15)}


def _noon(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, 0, tzinfo=NY)


@pytest.fixture
def inquiries(intakes):  # noqa: F811 - pytest fixture by name
    site, c1, c2, c3 = intakes
    linked = {"status": "booked"}
    InquiryFactory(
        submitted_at=_noon(1, 28),
        reason="depression",
        preferred_location=site,
        patient=c1.patient,
        linked_at=_noon(1, 29),
        **linked,
    )
    InquiryFactory(
        submitted_at=_noon(1, 29),
        reason="anxiety",
        preferred_location=site,
        patient=c3.patient,
        linked_at=_noon(1, 30),
        **linked,
    )
    InquiryFactory(
        submitted_at=_noon(1, 30),
        reason="depression",
        preferred_location=site,
        status="closed",
        close_reason="unreachable",
    )
    InquiryFactory(submitted_at=_noon(1, 30), reason="ptsd")
    InquiryFactory(
        submitted_at=_noon(2, 10),
        reason="depression",
        preferred_location=site,
        patient=c2.patient,
        linked_at=_noon(2, 10),
        status="contacted",
    )
    InquiryFactory(submitted_at=_noon(2, 20), reason="depression", preferred_location=site)
    return site


def _figures(row: dict) -> tuple:
    return (row["inquiries"], row["registered"], row["consulted"], row["planned"])


def test_the_funnel_counts_each_step_once_per_inquiry(inquiries):
    funnel, *_ = inquiry_conversion(filters(**RANGE))
    assert [(r["step"], r["count"]) for r in funnel.rows] == [
        ("Inquiries", 5),
        ("Registered as patients", 3),
        ("Intake consultation", 2),
        ("Treatment plan agreed", 1),
    ]
    assert funnel.rows[3]["of_inquiries"] == Decimal("20.0")
    assert funnel.rows[3]["of_previous"] == Decimal("50.0")
    assert funnel.note == "2 still open, 1 closed."


def test_per_week_reason_and_location(inquiries):
    _, by_period, by_reason, by_location = inquiry_conversion(filters(**RANGE))
    assert [(r["period"], *_figures(r)) for r in by_period.rows] == [
        ("2026-01-26", 4, 2, 2, 1),
        ("2026-02-09", 1, 1, 0, 0),
    ]
    assert [(r["reason"], *_figures(r), r["to_plan"]) for r in by_reason.rows] == [
        ("Anxiety", 1, 1, 1, 0, Decimal("0.0")),
        ("Depression", 3, 2, 1, 1, Decimal("33.3")),
        ("PTSD", 1, 0, 0, 0, Decimal("0.0")),
    ]
    assert [(r["location"], r["inquiries"]) for r in by_location.rows] == [("Midtown", 4), ("No preference", 1)]


def test_the_reason_and_location_filters(inquiries):
    funnel, *_ = inquiry_conversion(filters(**RANGE, reason="depression"))
    assert [r["count"] for r in funnel.rows] == [3, 2, 1, 1]
    funnel, *_ = inquiry_conversion(filters(**RANGE, location=inquiries))
    assert funnel.rows[0]["count"] == 4


def test_the_figures_cost_the_same_queries_however_many_inquiries(inquiries, django_assert_num_queries):
    with django_assert_num_queries(4):  # the funnel, per period, per reason, per location
        inquiry_conversion(filters(**RANGE))
    InquiryFactory.create_batch(20, submitted_at=_noon(2, 3))
    with django_assert_num_queries(4):
        funnel, *_ = inquiry_conversion(filters(**RANGE))
    assert funnel.rows[0]["count"] == 25


def test_administrators_open_the_report_and_its_csv(client, admin, frontdesk, inquiries):
    url = reverse("reports:inquiries")
    query = {"start": "2026-01-26", "end": "2026-02-15", "reason": "depression"}
    client.force_login(frontdesk)
    assert client.get(url, query).status_code == 403
    client.force_login(admin)
    page = client.get(url, query)
    assert page.status_code == 200
    assert b"Inquiries \xe2\x86\x92 patients \xe2\x86\x92 consultations \xe2\x86\x92 plans" in page.content
    csv = client.get(url, {**query, "format": "csv", "table": "by_reason"})
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    assert csv.content.decode().splitlines()[1].startswith("Depression,3,2,1,1,33.3")
    assert client.get(url, {**query, "reason": "<script>"}).status_code == 400
