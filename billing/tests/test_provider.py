"""Card payments through a Stripe-compatible provider, against a stub server on 127.0.0.1 only.

Success, decline, capture, a timeout and a 5xx (pending, never recorded twice, settled by
"Check again", the reconcile task or the webhook), refunds, and webhooks: signed, once per event,
refused and logged without PHI when the signature is bad or replayed."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from billing import selectors, services, settlement, tasks
from billing.models import Payment, PaymentStatus, ProviderEvent
from billing.providers import ManualBackend, StripeBackend, get_provider
from billing.tests.factories import billing_settings, deposit_fee, fee_schedule, invoice, key
from billing.tests.stub_provider import StubStripe, event, sign
from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_secret"
WEBHOOK = "billing:provider-webhook"


@pytest.fixture
def stub(settings):
    with StubStripe() as server:
        settings.PAYMENT_BACKEND = "billing.providers.StripeBackend"
        settings.STRIPE_API_BASE = server.url
        settings.STRIPE_API_KEY = "sk_test_stub"
        settings.STRIPE_WEBHOOK_SECRET = SECRET
        settings.PAYMENT_PROVIDER_TIMEOUT_SECONDS = 0.5
        yield server


def _start(patient, by, *, amount="120.00", method="pm_card_visa", invoice_=None, same_key=None, location=None):
    return settlement.card_payment_start(
        patient=patient,
        location_id=(location or LocationFactory()).pk,
        amount=Decimal(amount),
        idempotency_key=same_key or key(),
        provider_method=method,
        invoice=invoice_,
        by=by,
    )


def _post_event(client, payload: bytes, signature: str | None = None):
    headers = {"HTTP_STRIPE_SIGNATURE": sign(payload, SECRET) if signature is None else signature}
    return client.post(reverse(WEBHOOK), payload, content_type="application/json", **headers)


def test_the_default_backend_takes_no_card_so_the_desk_records_its_terminal(settings):
    assert settings.PAYMENT_BACKEND == "billing.providers.ManualBackend"
    assert isinstance(get_provider(), ManualBackend)
    assert get_provider().takes_cards is False


def test_a_card_read_by_the_provider_completes_and_pays_the_chosen_invoice(stub, patient, frontdesk):
    location = LocationFactory()
    older = invoice(patient, location=location, amount="50.00")
    chosen = invoice(patient, location=location, amount="120.00")
    paid = _start(patient, frontdesk, amount="120.00", invoice_=chosen, location=location)
    assert paid.status == PaymentStatus.COMPLETED
    assert paid.provider_id.startswith("pi_stub")
    assert paid.reference == "Visa ending 4242"  # the brand and last four, never the number
    assert selectors.outstanding_of(chosen) == Decimal("0.00")
    assert selectors.outstanding_of(older) == Decimal("50.00")
    ((verb, path, sent_key),) = stub.requests
    assert (verb, path, sent_key) == ("POST", "/v1/payment_intents", paid.idempotency_key)
    assert stub.intents[paid.provider_id]["amount"] == 12000
    assert stub.intents[paid.provider_id]["metadata"] == {"payment": str(paid.pk)}  # no name, no PHI
    assert AuditEvent.objects.filter(action="billing.payment.completed", object_id=str(paid.pk)).exists()


def test_a_double_submitted_card_payment_charges_once(stub, patient, frontdesk):
    location = LocationFactory()
    same = key()
    first = _start(patient, frontdesk, same_key=same, location=location)
    second = _start(patient, frontdesk, same_key=same, location=location)
    assert first.pk == second.pk
    assert stub.creates == 1
    assert Payment.objects.filter(patient=patient).count() == 1


def test_a_declined_card_fails_the_payment_and_takes_nothing(stub, patient, frontdesk):
    owed = invoice(patient, amount="120.00")
    declined = _start(patient, frontdesk, method="pm_card_chargeDeclined", invoice_=owed)
    assert declined.status == PaymentStatus.FAILED
    assert selectors.outstanding_of(owed) == Decimal("120.00")
    assert selectors.patient_balance(patient.pk).owed == Decimal("120.00")


def test_an_intent_that_waits_for_capture_is_captured_and_completed(stub, patient, frontdesk):
    paid = _start(patient, frontdesk, method="pm_card_capture")
    assert paid.status == PaymentStatus.COMPLETED
    assert [(verb, path.rsplit("/", 1)[-1]) for verb, path, _ in stub.requests] == [
        ("POST", "payment_intents"),
        ("POST", "capture"),
    ]


def test_a_timeout_leaves_the_payment_pending_and_check_again_finds_the_same_charge(stub, patient, frontdesk):
    owed = invoice(patient, amount="120.00")
    stub.slow_for = 1.5  # past the client's 0.5 s: the stub charged, we never heard
    pending = _start(patient, frontdesk, invoice_=owed)
    assert pending.status == PaymentStatus.PENDING
    assert pending.provider_id == ""
    assert selectors.outstanding_of(owed) == Decimal("120.00")  # a pending payment counts for nothing
    stub.slow_for = 0
    settled = settlement.payment_check(payment=pending, by=frontdesk)
    assert settled.status == PaymentStatus.COMPLETED
    assert stub.creates == 1  # the same key asked again: the first charge, not a second
    assert selectors.outstanding_of(owed) == Decimal("0.00")
    assert Payment.objects.filter(patient=patient).count() == 1


def test_a_5xx_leaves_the_payment_pending_and_the_reconcile_task_settles_it(stub, patient, frontdesk, time_machine):
    stub.fail_next = 1
    pending = _start(patient, frontdesk)
    assert pending.status == PaymentStatus.PENDING
    assert stub.creates == 0
    # The task leaves the freshest pendings to the desk and the webhook: ten minutes later.
    time_machine.move_to(timezone.now() + timedelta(minutes=10))
    assert tasks.reconcile_pending() == {"settled": 1, "pending": 0}
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.COMPLETED
    assert stub.creates == 1
    assert tasks.reconcile_pending() == {"settled": 0, "pending": 0}


def test_a_provider_still_down_keeps_the_payment_pending_for_the_next_run(stub, patient, frontdesk, time_machine):
    stub.fail_next = 3
    pending = _start(patient, frontdesk)
    time_machine.move_to(timezone.now() + timedelta(minutes=10))
    assert tasks.reconcile_pending() == {"settled": 0, "pending": 1}
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.PENDING


def test_the_webhook_completes_a_payment_whose_answer_timed_out(stub, client, patient, frontdesk):
    stub.slow_for = 1.5
    pending = _start(patient, frontdesk)
    stub.slow_for = 0
    ((intent_id, intent),) = stub.intents.items()
    payload = event("evt_1", "payment_intent.succeeded", intent)
    answer = _post_event(client, payload)
    assert answer.status_code == 200
    assert answer.json()["outcome"] == ProviderEvent.Outcome.APPLIED
    pending.refresh_from_db()
    assert (pending.status, pending.provider_id) == (PaymentStatus.COMPLETED, intent_id)
    # Delivered again (providers retry): applied once, answered 200 so the provider stops.
    again = _post_event(client, payload)
    assert again.status_code == 200
    assert again.json()["outcome"] == ProviderEvent.Outcome.ALREADY
    assert AuditEvent.objects.filter(action="billing.payment.completed", object_id=str(pending.pk)).count() == 1
    assert ProviderEvent.objects.filter(event_id="evt_1").count() == 1


def test_a_payment_failed_event_fails_the_pending_payment(stub, client, patient, frontdesk):
    pending = _start(patient, frontdesk, method="")  # no card yet: the intent waits for the reader
    assert pending.status == PaymentStatus.PENDING
    intent = {**stub.intents[pending.provider_id], "last_payment_error": {"code": "card_declined"}}
    assert _post_event(client, event("evt_2", "payment_intent.payment_failed", intent)).status_code == 200
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.FAILED


def test_an_event_for_a_payment_that_is_not_ours_is_kept_and_answered(stub, client):
    foreign = {
        "id": "pi_elsewhere",
        "object": "payment_intent",
        "amount": 100,
        "currency": "usd",
        "status": "succeeded",
    }
    answer = _post_event(client, event("evt_3", "payment_intent.succeeded", foreign))
    assert answer.status_code == 200
    assert answer.json()["outcome"] == ProviderEvent.Outcome.UNMATCHED


@pytest.mark.parametrize(
    "signature",
    [
        "",  # none
        "t=1,v1=00",  # wrong and stale
        "v1=deadbeef",  # no time
        "t=notatime,v1=x",
        "<script>alert(1)</script>",
    ],
)
def test_a_webhook_without_a_good_signature_is_refused_and_logged_without_phi(stub, client, patient, caplog, signature):
    payload = event("evt_bad", "payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    payload = payload.replace(b"pi_x", patient.legal_last_name.encode())
    with caplog.at_level(logging.WARNING, logger="billing.views"):
        answer = _post_event(client, payload, signature)
    assert answer.status_code == 400
    assert "Payment webhook refused" in caplog.text
    assert patient.legal_last_name not in caplog.text
    assert signature not in caplog.text or not signature
    assert not ProviderEvent.objects.exists()


def test_a_replayed_webhook_outside_the_tolerance_is_refused(stub, client, patient, frontdesk):
    pending = _start(patient, frontdesk, method="")
    payload = event("evt_old", "payment_intent.succeeded", {**stub.intents[pending.provider_id], "status": "succeeded"})
    old = sign(payload, SECRET, at=int(time.time()) - 3600)
    assert _post_event(client, payload, old).status_code == 400
    assert _post_event(client, payload, sign(payload, "whsec_someone_else")).status_code == 400
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.PENDING


def test_a_webhook_is_refused_while_no_provider_is_configured(client):
    payload = event("evt_4", "payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    assert _post_event(client, payload).status_code == 400


def test_a_card_payment_is_refunded_through_the_provider(
    stub, patient, frontdesk, admin, django_capture_on_commit_callbacks
):
    paid = _start(patient, frontdesk, amount="80.00")
    with django_capture_on_commit_callbacks(execute=True):
        refund = settlement.card_refund(
            payment=paid, amount=Decimal("30.00"), reason="Overcharged", idempotency_key=key(), by=admin
        )
    refund.refresh_from_db()
    assert refund.status == PaymentStatus.COMPLETED
    assert refund.provider_id.startswith("re_stub")
    assert stub.refunds[refund.provider_id]["amount"] == 3000
    assert stub.requests[-1][2] == refund.idempotency_key
    assert selectors.unallocated_of(paid) == Decimal("50.00")


def test_a_refund_the_provider_did_not_answer_stays_pending_and_blocks_another(
    stub, patient, frontdesk, admin, django_capture_on_commit_callbacks
):
    paid = _start(patient, frontdesk, amount="80.00")
    stub.fail_next = 1
    with django_capture_on_commit_callbacks(execute=True):
        refund = settlement.card_refund(
            payment=paid, amount=Decimal("30.00"), reason="Overcharged", idempotency_key=key(), by=admin
        )
    refund.refresh_from_db()
    assert refund.status == PaymentStatus.PENDING
    with pytest.raises(services.BillingError, match="waiting for the payment provider"):
        services.payment_refund(payment=paid, amount=Decimal("10.00"), reason="Again", idempotency_key=key(), by=admin)
    refund_event = (
        event("evt_5", "refund.updated", {**_only_refund(stub), "status": "succeeded"}) if stub.refunds else None
    )
    assert refund_event is None  # the 500 came before the stub refunded anything
    assert settlement.payment_check(payment=refund, by=frontdesk).status == PaymentStatus.COMPLETED
    assert len(stub.refunds) == 1


def _only_refund(stub) -> dict:
    (only,) = stub.refunds.values()
    return only


def test_a_refund_webhook_settles_a_pending_refund(stub, client, patient, frontdesk, admin):
    paid = _start(patient, frontdesk, amount="80.00")
    refund = services.payment_refund(  # its on-commit call never runs here: the webhook settles it
        payment=paid, amount=Decimal("80.00"), reason="Cancelled course", idempotency_key=key(), by=admin
    )
    assert refund.status == PaymentStatus.PENDING
    obj = {"id": "re_hook", "object": "refund", "amount": 8000, "payment_intent": paid.provider_id}
    obj |= {"status": "succeeded", "metadata": {"refund": str(refund.pk)}}
    assert _post_event(client, event("evt_6", "refund.updated", obj)).status_code == 200
    refund.refresh_from_db()
    assert (refund.status, refund.provider_id) == (PaymentStatus.COMPLETED, "re_hook")
    assert selectors.patient_balance(patient.pk).owed == Decimal("0.00")


# --- The desk's pages -----------------------------------------------------------------------


def test_the_desk_sees_a_timed_out_card_payment_pending_and_checks_it_again(stub, client, patient, frontdesk):
    location = LocationFactory()
    invoice(patient, location=location, amount="120.00")
    client.force_login(frontdesk)
    url = reverse("billing:payment-new", args=[patient.pk])
    form = client.get(url)
    assert "through_provider" in form.context["form"].fields
    stub.slow_for = 1.5
    posted = {
        "location": location.pk,
        "method": "card",
        "amount": "120.00",
        "through_provider": "on",
        "provider_method": "pm_card_visa",
        "idempotency_key": key(),
    }
    answer = client.post(url, posted, follow=True)
    assert "is pending" in answer.content.decode()
    pending = Payment.objects.get(patient=patient)
    assert pending.status == PaymentStatus.PENDING
    stub.slow_for = 0
    client.post(url, posted)  # the desk's second click: the same key, still one payment
    assert Payment.objects.filter(patient=patient).count() == 1
    panel = client.get(reverse("billing:patient-panel", args=[patient.pk])).content.decode()
    assert reverse("billing:payment-check", args=[pending.pk]) in panel
    checked = client.post(reverse("billing:payment-check", args=[pending.pk]), follow=True)
    assert "completed" in checked.content.decode()
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.COMPLETED
    assert stub.creates == 1


@pytest.mark.parametrize("typed", ["4242424242424242", "4242 4242 4242 4242", "pm_<script>", "x" * 100])
def test_the_provider_card_field_takes_an_id_never_a_card_number(stub, client, patient, frontdesk, typed):
    client.force_login(frontdesk)
    url = reverse("billing:payment-new", args=[patient.pk])
    posted = {"location": LocationFactory().pk, "method": "card", "amount": "10.00", "through_provider": "on"}
    answer = client.post(url, {**posted, "provider_method": typed, "idempotency_key": key()})
    assert answer.status_code == 200
    assert answer.context["form"].errors["provider_method"]
    assert not Payment.objects.exists()
    assert stub.requests == []


def test_cash_is_recorded_as_ever_and_never_sent_to_the_provider(stub, client, patient, frontdesk):
    client.force_login(frontdesk)
    url = reverse("billing:payment-new", args=[patient.pk])
    posted = {"location": LocationFactory().pk, "method": "cash", "amount": "10.00", "through_provider": "on"}
    client.post(url, {**posted, "provider_method": "", "idempotency_key": key()})
    assert Payment.objects.get(patient=patient).status == PaymentStatus.COMPLETED
    assert stub.requests == []


def test_the_stub_speaks_json_the_library_reads(stub):
    intent = StripeBackend().create_intent(
        amount=Decimal("1.05"), currency="USD", idempotency_key=key(), payment_method="pm_card_mastercard", metadata={}
    )
    assert (intent.amount_cents, intent.currency, intent.card_brand, intent.outcome) == (
        105,
        "USD",
        "mastercard",
        "succeeded",
    )
    assert json.loads(json.dumps(stub.intents[intent.id]))["status"] == "succeeded"


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"id": 1}',
        b'{"id": "evt_x", "type": "x"}',
        b'{"id": "evt_x", "type": "x", "data": 3}',
        b"\xff",
    ],
)
def test_a_signed_body_that_is_not_an_event_is_refused(stub, client, payload):
    assert _post_event(client, payload).status_code == 400
    assert not ProviderEvent.objects.exists()


def test_an_event_of_another_kind_is_kept_as_ignored(stub, client):
    answer = _post_event(client, event("evt_7", "customer.created", {"id": "cus_1", "object": "customer"}))
    assert answer.status_code == 200
    assert ProviderEvent.objects.get(event_id="evt_7").outcome == ProviderEvent.Outcome.IGNORED


def test_the_deploy_checks_want_the_provider_keys_and_https(settings):
    from billing.checks import payment_provider_checks

    assert payment_provider_checks() == []  # the manual backend needs nothing
    settings.PAYMENT_BACKEND = "billing.providers.StripeBackend"
    settings.STRIPE_API_KEY = ""
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    assert {p.id for p in payment_provider_checks()} == {"billing.E001", "billing.W002"}
    settings.STRIPE_API_KEY, settings.STRIPE_WEBHOOK_SECRET = "sk_live_x", "whsec_x"
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    assert payment_provider_checks() == []


def _deposit_booking(patient):
    location = LocationFactory()
    billing_settings(location)
    fee_schedule(location)
    deposit_fee(location)
    return AppointmentFactory(patient=patient, location=location, appointment_type=appointment_type("infusion"))


def test_a_card_deposit_that_completes_after_the_no_show_fee_pays_it(stub, client, patient, frontdesk):
    appt = _deposit_booking(patient)
    client.force_login(frontdesk)
    url = reverse("billing:deposit-take", args=[appt.pk])
    form = client.get(url).context["form"]
    assert "through_provider" in form.fields
    stub.slow_for = 1.5
    data = {"method": "card", "amount": "100.00", "through_provider": "on", "provider_method": "pm_card_visa"}
    answer = client.post(url, {**data, "idempotency_key": form.initial["idempotency_key"]}, follow=True)
    assert "deposit of $100.00 is pending" in answer.content.decode()
    stub.slow_for = 0
    deposit = Payment.objects.get(appointment=appt)
    # The deposit is with the provider: the appointment page no longer asks for another.
    assert url not in client.get(reverse("scheduling:appointment-detail", args=[appt.pk])).content.decode()
    type(appt).objects.filter(pk=appt.pk).update(status="no_show")
    appt.refresh_from_db()
    fee = services.fee_for_outcome(appointment=appt, purpose="no_show")
    assert selectors.outstanding_of(fee) == Decimal("100.00")  # the pending deposit paid nothing yet
    assert settlement.payment_check(payment=deposit, by=frontdesk).status == PaymentStatus.COMPLETED
    assert selectors.outstanding_of(fee) == Decimal("0.00")
    assert selectors.patient_balance(patient.pk).owed == Decimal("0.00")


def test_a_declined_card_deposit_leaves_the_deposit_to_take(stub, client, patient, frontdesk):
    appt = _deposit_booking(patient)
    client.force_login(frontdesk)
    url = reverse("billing:deposit-take", args=[appt.pk])
    data = {"method": "card", "amount": "100.00", "through_provider": "on", "provider_method": "pm_card_declined"}
    answer = client.post(url, {**data, "idempotency_key": key()}, follow=True)
    assert "was not taken" in answer.content.decode()
    assert url in client.get(reverse("scheduling:appointment-detail", args=[appt.pk])).content.decode()


def test_a_webhook_that_settles_a_payment_costs_a_bounded_number_of_queries(
    stub, client, patient, frontdesk, django_assert_max_num_queries
):
    invoice(patient, amount="10.00")
    pending = _start(patient, frontdesk, amount="10.00", method="")
    payload = event("evt_q", "payment_intent.succeeded", {**stub.intents[pending.provider_id], "status": "succeeded"})
    with django_assert_max_num_queries(14):  # verify, match, lock, settle, allocate, audit, keep the event id
        assert _post_event(client, payload).json()["outcome"] == ProviderEvent.Outcome.APPLIED
    with django_assert_max_num_queries(2):  # a redelivery: one look-up of its id
        assert _post_event(client, payload).json()["outcome"] == ProviderEvent.Outcome.ALREADY


def test_the_desk_cancels_a_card_payment_the_reader_never_took(stub, client, patient, frontdesk):
    waiting = _start(patient, frontdesk, method="")  # the intent waits for the reader
    client.force_login(frontdesk)
    panel = client.get(reverse("billing:patient-panel", args=[patient.pk])).content.decode()
    assert reverse("billing:payment-cancel", args=[waiting.pk]) in panel
    answer = client.post(reverse("billing:payment-cancel", args=[waiting.pk]), follow=True)
    assert "was cancelled: nothing was taken" in answer.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == PaymentStatus.FAILED
    assert stub.intents[waiting.provider_id]["status"] == "canceled"
    assert not Payment.objects.filter(status=PaymentStatus.PENDING).exists()  # nothing left to ask about


def test_cancelling_a_payment_the_provider_completed_meanwhile_keeps_it(stub, client, patient, frontdesk):
    stub.slow_for = 1.5
    pending = _start(patient, frontdesk)  # charged at the provider; our answer timed out
    stub.slow_for = 0
    settled = settlement.payment_cancel(payment=pending, by=frontdesk)
    assert settled.status == PaymentStatus.COMPLETED
    assert stub.creates == 1
    assert not any(path.endswith("/cancel") for _, path, _ in stub.requests)
