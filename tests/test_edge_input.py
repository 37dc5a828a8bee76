"""Input refused or cleaned at the edge, in one place (accounts.middleware)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from clinic_settings.pages import PAGES, POLICIES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url_name",
    ["accounts:audit-report", "reports:appointments", "controlled_substances:report-dispensing", "patients:list"],
)
def test_a_nul_byte_in_a_filter_is_stripped_at_the_edge_and_never_a_500(client, admin, url_name):
    client.force_login(admin)
    response = client.get(reverse(url_name), {"user": "a\x00b", "q": "sm\x00ith\x07", "date_from": "2026-01-01"})
    assert response.status_code == 200
    logged = AuditEvent.objects.filter(actor=admin).latest("id")
    assert "\x00" not in str(logged.changes)


def test_a_nul_byte_in_a_form_is_stripped_before_the_form_sees_it(client, frontdesk, patient):
    client.force_login(frontdesk)
    response = client.post(
        reverse("patients:contacts", args=[patient.pk]),
        {"channel": "phone", "direction": "out", "summary": "Left\x00 a message about Tuesday"},
    )
    assert response.status_code == 302
    assert list(patient.contact_log.values_list("summary", flat=True)) == ["Left a message about Tuesday"]


def test_a_nul_byte_in_the_user_agent_is_stripped_before_the_audit_row_and_the_sign_in_record(client, nurse):
    nurse.set_password("a long enough password 1")
    nurse.save(update_fields=["password"])
    agent = {"HTTP_USER_AGENT": "Tablet\x00 browser\x07"}
    response = client.post(reverse("accounts:login"), {"username": nurse.username, "password": "wrong"}, **agent)
    assert response.status_code == 200  # refused at the form, never a 500
    response = client.post(
        reverse("accounts:login"), {"username": nurse.username, "password": "a long enough password 1"}, **agent
    )
    assert response.status_code == 302
    assert client.get(reverse("home"), **agent).status_code == 200
    assert set(AuditEvent.objects.filter(actor=nurse).values_list("user_agent", flat=True)) == {"Tablet browser"}


def test_sign_out_tells_the_browser_to_clear_the_sites_data(client, frontdesk):
    client.force_login(frontdesk)
    response = client.post(reverse("accounts:logout"))
    assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"'


# --- The pages added with the settings area, staff tasks, tomorrow's preparation and the grid moves.
# Each answers refused, missing or hostile input with a page or a refusal (4xx), never a 500.

HOSTILE_VALUES = [
    "",
    "   ",
    '<script>alert("x")</script>',
    "9" * 30,  # beyond any integer column
    "-1",
    "²",  # a digit to str.isdigit(), not to int()
    "1e999",
    "NaN",
    "2026-02-30",
    "25:61",
    "' OR 1=1 --",
    "\u202etxt.exe",
    "x" * 5000,
]


def _fields(response) -> list[str]:
    """Every name the form posts, each part of a split widget (a date and a time) included."""
    form = response.context["form"]
    names = {form[name].html_name for name in form.fields}
    names |= {sub.data["name"] for name in form.fields for sub in form[name].subwidgets}
    return sorted(names)


def _post_each_hostile_value(client, url, fields, extra=None):
    for value in HOSTILE_VALUES:
        response = client.post(url, {**dict.fromkeys(fields, value), **(extra or {})})
        assert response.status_code < 500, (url, value)
        assert b'<script>alert("x")</script>' not in response.content, (url, value)


@pytest.mark.parametrize("slug", sorted(PAGES))
def test_every_settings_page_answers_hostile_input_without_a_500(client, admin, slug):
    client.force_login(admin)
    for value in HOSTILE_VALUES:
        query = {"page": value, "q": value, "location": value}
        listed = client.get(reverse("clinic_settings:list", args=[slug]), query)
        assert listed.status_code < 500, value
    for row_id in ("999999", "9" * 30):
        assert client.get(f"/settings/{slug}/{row_id}/").status_code == 404
        assert client.post(f"/settings/{slug}/{row_id}/retire/").status_code in (404, 405)
    if PAGES[slug].can_add:
        url = reverse("clinic_settings:create", args=[slug])
        for value in HOSTILE_VALUES:
            assert client.get(url, {"location": value}).status_code < 500, value
        _post_each_hostile_value(client, url, _fields(client.get(url)))


@pytest.mark.parametrize("slug", sorted(POLICIES))
def test_every_policy_page_answers_hostile_input_without_a_500(client, admin, slug):
    client.force_login(admin)
    url = reverse("clinic_settings:policy", args=[slug])
    _post_each_hostile_value(client, url, _fields(client.get(url)))


def test_the_task_pages_answer_hostile_input_without_a_500(client, nurse, patient):
    client.force_login(nurse)
    url = reverse("staff_tasks:new")
    fields = _fields(client.get(url))
    _post_each_hostile_value(client, url, fields, {"next": "//evil.example/"})
    _post_each_hostile_value(client, reverse("staff_tasks:patient-new", args=[patient.pk]), fields)
    for value in HOSTILE_VALUES:
        assert client.get(reverse("staff_tasks:list"), {"page": value}).status_code == 200
    for task_id in ("999999", "9" * 30):
        assert client.post(f"/tasks/{task_id}/done/").status_code == 404
        assert client.post(f"/tasks/{task_id}/cancel/", {"reason": "x"}).status_code == 404
        assert client.get(f"/tasks/patient/{task_id}/").status_code == 404


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_preparing_a_day_answers_a_hostile_day_without_a_500(client, nurse, value):
    client.force_login(nurse)
    response = client.get(reverse("reports:prepare"), {"day": value})
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_the_resource_options_and_the_grid_move_answer_hostile_input_without_a_500(client, frontdesk, patient, value):
    from scheduling import services as scheduling_services
    from scheduling.tests.conftest import at, local_day
    from scheduling.tests.factories import ClinicianFactory, LocationFactory, ResourceFactory, appointment_type

    site = LocationFactory(name="Midtown", time_zone="America/New_York")
    chair = ResourceFactory(location=site, kind="chair", name="Chair 1")
    start = at(local_day(2), 10)
    appt = scheduling_services.appointment_book(
        patient=patient,
        location=site,
        start=start,
        by=frontdesk,
        appointment_type=appointment_type("infusion"),
        clinician=ClinicianFactory(credentials="RN", location=site),
        resource=chair,
    )
    client.force_login(frontdesk)
    options = client.get(reverse("scheduling:resource-options"), {"location": value, "empty": value})
    assert options.status_code == 200
    assert b"<script>alert" not in options.content
    url = reverse("scheduling:appointment-move", args=[appt.pk])
    fields = ("resource", "date", "start_time", "fold", "version", "shown")
    for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
        moved = client.post(url, dict.fromkeys(fields, value), **htmx)
        assert moved.status_code < 500
        assert b"<script>alert" not in moved.content
    appt.refresh_from_db()
    assert appt.start == start
    escort = client.post(reverse("scheduling:appointment-escort", args=[appt.pk]), {"version": value, "confirmed": "1"})
    assert escort.status_code < 500
    series = client.get(reverse("scheduling:series-new"), {"count": value})
    assert series.status_code == 200
    assert b"<script>alert" not in series.content


@pytest.mark.parametrize("value", ["²", "9" * 30, '<script>alert("x")</script>'])
def test_the_booking_form_and_the_calendar_answer_an_impossible_id_without_a_500(client, frontdesk, value):
    client.force_login(frontdesk)
    for url, query in (
        (reverse("scheduling:book"), {"resource": value, "location": value}),
        (reverse("scheduling:series-new"), {"resource": value, "location": value}),
        (reverse("scheduling:calendar"), {"focus": value, "location": value}),
    ):
        response = client.get(url, query)
        assert response.status_code < 500, (url, value)
        assert b'<script>alert("x")</script>' not in response.content


# --- The public inquiry form and the desk's inquiry forms.


def test_the_public_inquiry_form_answers_hostile_input_without_a_500(client, settings):
    settings.INQUIRY_POSTS_PER_ADDRESS = 1000
    url = reverse("inquiries:start")
    fields = _fields(client.get(url))
    _post_each_hostile_value(client, url, fields)
    for value in HOSTILE_VALUES:  # one field at a time, the others valid
        for field in fields:
            good = {
                "who": "self",
                "first_name": "Ana",
                "last_name": "Lima",
                "date_of_birth": "01/02/1980",
                "email": "ana@example.org",
                "contact_by": "email",
                "reason": "ptsd",
            }
            response = client.post(url, {**good, field: value})
            assert response.status_code < 500, (field, value)
            assert b'<script>alert("x")</script>' not in response.content


def test_the_inquiry_desk_forms_answer_hostile_input_without_a_500(client, frontdesk):
    from inquiries.tests.factories import InquiryFactory

    inquiry = InquiryFactory()
    client.force_login(frontdesk)
    for name, fields in (
        ("inquiries:contact", ["channel", "outcome", "note"]),
        ("inquiries:status", ["status", "close_reason", "close_note"]),
        ("inquiries:link", ["mrn"]),
        ("inquiries:convert", ["duplicate_reason"]),
    ):
        _post_each_hostile_value(client, reverse(name, args=[inquiry.pk]), fields)
        inquiry.refresh_from_db()
    for value in HOSTILE_VALUES:
        assert client.get(reverse("inquiries:queue"), {"show": value, "page": value}).status_code == 200
    assert client.get("/inquiries/99999999999999999999/").status_code == 404
    assert client.post("/inquiries/99999999999999999999/status/").status_code == 404


def test_the_money_pages_answer_hostile_input_without_a_500(client, admin, patient):
    from billing.tests.factories import invoice, payment

    fee = invoice(patient, purpose="no_show")
    paid = payment(patient, amount="10.00")
    client.force_login(admin)
    new = reverse("billing:payment-new", args=[patient.pk])
    _post_each_hostile_value(client, new, _fields(client.get(new)))
    for name in (
        "billing:invoice-allocate",
        "billing:invoice-credit",
        "billing:invoice-waive",
        "billing:invoice-print",
    ):
        _post_each_hostile_value(client, reverse(name, args=[fee.pk]), ("payment", "amount", "reason", "document"))
    _post_each_hostile_value(
        client, reverse("billing:payment-refund", args=[paid.pk]), ("amount", "reason", "idempotency_key")
    )
    for row_id in ("999999", "9" * 30):
        assert client.get(f"/billing/invoices/{row_id}/").status_code == 404
        assert client.post(f"/billing/payments/{row_id}/refund/").status_code == 404
        assert client.post(f"/billing/payments/{row_id}/check/").status_code == 404
        assert client.post(f"/billing/payments/{row_id}/cancel/").status_code == 404


def test_the_payment_webhook_answers_hostile_bodies_and_signatures_with_400_never_a_500(client, settings):
    settings.PAYMENT_BACKEND = "billing.providers.StripeBackend"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_edge"
    url = reverse("billing:provider-webhook")
    for value in HOSTILE_VALUES:
        for body, content_type in ((value, "application/json"), (value.encode("utf-8", "replace"), "text/plain")):
            answer = client.post(url, body, content_type=content_type, HTTP_STRIPE_SIGNATURE=value)
            assert answer.status_code == 400, value
            assert b'<script>alert("x")</script>' not in answer.content
    assert client.get(url).status_code == 405
