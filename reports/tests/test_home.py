"""The administrator's home: this week's figures, sparklines and links into the reports."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.cache import cache

from reports.selectors.home import administrator_figures

pytestmark = pytest.mark.django_db

# Thursday 5 February 2026, 17:00 New York: the fixture's week is "this week".
THURSDAY = datetime(2026, 2, 5, 22, 0, tzinfo=UTC)


def test_figures_for_this_week(week):
    figures = {f["label"]: f for f in administrator_figures(today=date(2026, 2, 5), now=THURSDAY)}
    # Not cancelled, any status, this local week: 1, 2, 5, 6 (8 is entered in error).
    assert figures["Appointments booked this week"]["value"] == 4
    # Due by Thursday 17:00 local: 1, 2, 3 (late cancellation), 5 → 1 no-show of 4.
    assert figures["No-show rate this week"]["value"] == "25.0%"
    assert figures["No-show rate this week"]["detail"] == "1 of 4 due so far"
    assert figures["Chair utilisation this week"]["value"] == "6.3%"
    assert "<svg" in figures["Appointments booked this week"]["sparkline"]
    assert figures["No-show rate this week"]["url"].startswith("/reports/attendance/?start=")


def test_empty_clinic_shows_dashes_not_zero_rates(db):
    figures = {f["label"]: f for f in administrator_figures(today=date(2026, 2, 5), now=THURSDAY)}
    assert figures["No-show rate this week"]["value"] == "—"
    assert figures["Chair utilisation this week"]["value"] == "—"
    assert figures["Appointments booked this week"]["value"] == 0


def test_the_home_page_links_into_the_reports(client_as, admin, week, django_assert_max_num_queries):
    cache.clear()
    client = client_as(admin)
    with time_machine.travel(THURSDAY, tick=False):
        client.get("/")
        with django_assert_max_num_queries(26):
            html = client.get("/").content.decode()
    assert "No-show rate this week" in html
    assert 'href="/reports/attendance/?' in html
    assert 'href="/reports/"' in html
    assert "figures as of 5:00 PM" in html
