"""Browser: the money of a cash-pay series. The front desk sells a six-infusion package and bills
an injection by hand on the next infusion; the infusion draws a session from the package; the
patient misses a visit and is charged the no-show fee, which an administrator waives with a
reason; the desk takes the payment for the injection and downloads the period's superbill, whose
text reads back with the codes, units and what was paid."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from billing import selectors
from billing.models import CodeSystem, FeeItem, FeeRole, Invoice, InvoiceKind, InvoicePurpose
from billing.tests.factories import billing_settings, fee_schedule, plan
from documents.tests.helpers import flat
from scheduling.models import Appointment, AppointmentStatus
from scheduling.tests.factories import AppointmentFactory, appointment_type

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"


def _user(username, role):
    user = UserFactory(username=username, role=role)
    user.password = make_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def _sign_in(page, base, user):
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


@pytest.fixture
def series():
    from consultations.tests.factories import ensure_protocol_library
    from infusions.tests.factories import infusion_appointment, set_policy

    ensure_protocol_library()
    set_policy()
    infusion = infusion_appointment()
    location = infusion.location
    location.name = "Grace MindCare Midtown"
    location.save(update_fields=["name"])
    billing_settings(location, tax_id="12-3456789", no_show_fee=Decimal("100.00"))
    fee_schedule(location)
    FeeItem.objects.create(
        location=location,
        role=FeeRole.OTHER,
        code_system=CodeSystem.CPT,
        code="96372",
        description="Injection, subcutaneous or intramuscular",
        price=Decimal("45.00"),
        effective_from=timezone.localdate() - timedelta(days=400),
    )
    six = plan(location, sessions=6, price="2400.00")
    # A visit the patient missed, two days before the infusion.
    start = infusion.start - timedelta(days=2)
    missed = AppointmentFactory(
        patient=infusion.patient,
        appointment_type=appointment_type("infusion"),
        location=location,
        start=start,
        end=start + timedelta(minutes=120),
    )
    return {"infusion": infusion, "missed": missed, "plan": six, "location": location, "patient": infusion.patient}


def test_the_money_of_a_package_series_from_sale_to_superbill(live_server, page, series):
    from infusions import services as infusions
    from infusions.tests.factories import S, advance, nurse

    base = live_server.url
    desk = _user("desk.money", Role.FRONT_DESK)
    administrator = _user("admin.money", Role.ADMINISTRATOR)
    patient, infusion, missed = series["patient"], series["infusion"], series["missed"]
    patient_url = f"{base}{reverse('patients:detail', args=[patient.pk])}"

    # 1. The desk sells the six-infusion package from the patient's billing card.
    _sign_in(page, base, desk)
    page.goto(patient_url)
    card = page.locator("#billing")
    card.get_by_role("link", name="Sell a package").click()
    page.get_by_label("Package").select_option(label=f"6 infusions · {series['location']} · 6 sessions · 2,400.00")
    page.get_by_label("Paid by").select_option(label="Card")
    page.get_by_role("button", name="Sell the package").click()
    page.wait_for_url(f"{patient_url}#billing")
    expect(page.locator("#billing-packages")).to_contain_text("0 of 6")

    # 2. On the infusion's page the desk bills an injection by hand, before the visit is invoiced.
    page.goto(f"{base}{reverse('scheduling:appointment-detail', args=[infusion.pk])}")
    page.get_by_role("link", name="Billable items").click()
    page.get_by_label("Item").select_option(label="96372 · Injection, subcutaneous or intramuscular · 45.00")
    page.get_by_label("Quantity").fill("1")
    page.get_by_role("button", name="Add the item").click()
    expect(page.get_by_text("Injection, subcutaneous or intramuscular × 1 added to the visit.")).to_be_visible()

    # 3. The nurse runs the infusion to discharge (the chair's own walk is in test_infusion_day.py):
    #    the visit is completed and invoiced, and the package pays its session.
    rn, checker = nurse(), nurse()
    advance(infusions.session_open(appointment=infusion, by=rn), S.DISCHARGED, nurse_user=rn, verifier=checker)
    visit_invoice = selectors.visit_invoice(infusion.pk)
    assert visit_invoice is not None

    # 4. The desk marks the missed visit a no-show: the location's fee is charged.
    page.goto(f"{base}{reverse('scheduling:appointment-detail', args=[missed.pk])}")
    page.get_by_role("button", name="No-show").click()
    expect(page.get_by_text("No-show").first).to_be_visible()
    fee = Invoice.objects.get(appointment=missed, purpose=InvoicePurpose.NO_SHOW, kind=InvoiceKind.INVOICE)
    page.goto(patient_url)
    expect(page.locator("#billing-packages")).to_contain_text("1 of 6")
    expect(page.locator("#billing-balance")).to_contain_text("$145.00")  # the fee and the injection

    # 5. An administrator waives the fee with a reason.
    _sign_in(page, base, administrator)
    page.goto(patient_url)
    page.locator("#billing").get_by_role("link", name=fee.label).click()
    waive = page.locator("form[action$='/waive/']")
    waive.get_by_label("Reason").fill("Snowstorm closed the roads; the clinic called the visit off late.")
    waive.get_by_role("button", name="Waive").click()
    expect(page.get_by_text("Fee waived.")).to_be_visible()
    assert selectors.outstanding_of(fee) == Decimal("0.00")

    # 6. The desk takes the payment for the injection: nothing is due after it.
    _sign_in(page, base, desk)
    page.goto(patient_url)
    expect(page.locator("#billing-balance")).to_contain_text("$45.00")
    page.locator("#billing").get_by_role("link", name="Take a payment").click()
    page.get_by_label("Location").select_option(label=str(series["location"]))
    page.get_by_label("Paid by").select_option(label="HSA/FSA card")
    page.get_by_label("Amount").fill("45.00")
    page.get_by_role("button", name="Record the payment").click()
    page.wait_for_url(f"{patient_url}#billing")
    expect(page.locator("#billing-balance")).to_contain_text("Nothing due.")

    # 7. The superbill for the period downloads, and its text reads back.
    page.locator("#billing").get_by_role("link", name="Superbill for a period").click()
    local_day = infusion.start.astimezone(series["location"].zone).date()
    page.get_by_label("From (date of service)").fill(f"{local_day - timedelta(days=7):%Y-%m-%d}")
    page.get_by_label("To (date of service)").fill(f"{local_day:%Y-%m-%d}")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the superbill").click()
    assert download.value.suggested_filename.endswith(".pdf")
    with open(download.value.path(), "rb") as pdf:
        text = flat(pdf.read())
    for expected in (
        "Superbill",
        f"Dates of service {local_day - timedelta(days=7):%m/%d/%Y} to {local_day:%m/%d/%Y}",
        f"{local_day:%m/%d/%Y}",
        "CPT 96365",
        "HCPCS J3490",
        "CPT 96372",
        "12-3456789",
        patient.mrn,
        f"Total charges ${visit_invoice.total:,.2f}",
        f"Amount paid ${visit_invoice.total:,.2f}",  # the package's session and the injection
        "Balance due $0.00",
    ):
        assert expected in text, expected
    assert "No-show" not in text
    assert Appointment.objects.get(pk=missed.pk).status == AppointmentStatus.NO_SHOW
